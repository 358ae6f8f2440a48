/**
 * Key policies: parsing (MalformedPolicyDocumentException) and evaluation.
 *
 * sealdb has no IAM policies, so a statement naming an account (its root ARN or bare id) admits
 * every principal of that account, as an AWS key policy that delegates to IAM does when IAM
 * allows everything. Explicit Deny wins over any Allow.
 */
import type { Principal } from '../http/service.js';
import { malformedPolicy } from './errors.js';

export type Decision = 'Allow' | 'ExplicitDeny' | 'ImplicitDeny';

/** Condition key (lower-cased) → the request's values; absent keys are absent from the map. */
export type ConditionContext = ReadonlyMap<string, readonly string[]>;

export interface PolicyRequest {
  readonly principal: Principal;
  /** e.g. `kms:Encrypt`. */
  readonly action: string;
  readonly resource: string;
  readonly context: ConditionContext;
}

interface PrincipalSpec {
  readonly anyone: boolean;
  readonly aws: readonly string[];
  readonly service: readonly string[];
}

interface Condition {
  readonly operator: string;
  readonly qualifier?: 'ForAnyValue' | 'ForAllValues';
  readonly ifExists: boolean;
  readonly key: string;
  readonly values: readonly string[];
}

interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly principal: PrincipalSpec;
  readonly actions?: readonly RegExp[];
  readonly notActions?: readonly RegExp[];
  readonly resources?: readonly RegExp[];
  readonly notResources?: readonly RegExp[];
  readonly conditions: readonly Condition[];
}

export interface PolicyDocument {
  readonly statements: readonly Statement[];
}

const STRING_OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'ArnEquals',
  'ArnNotEquals',
  'ArnLike',
  'ArnNotLike',
]);
const NUMERIC_OPERATORS = new Set([
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
]);
const NEGATED = new Set([
  'StringNotEquals',
  'StringNotEqualsIgnoreCase',
  'StringNotLike',
  'ArnNotEquals',
  'ArnNotLike',
  'NumericNotEquals',
]);

const ACCOUNT_ID = /^\d{12}$/;
const ACCOUNT_ROOT = /^arn:aws:iam::(\d{12}):root$/;
const IAM_ARN = /^arn:aws:(iam|sts)::\d{12}:.+$/;
const SERVICE_NAME = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringList(value: unknown, what: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw malformedPolicy(`Policy contains a statement with an empty ${what}.`);
  return list.map((v) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw malformedPolicy(`Policy contains a statement with an invalid ${what}.`);
  });
}

/** IAM wildcards: `*` any run, `?` one character. */
function globToRegExp(pattern: string, caseInsensitive: boolean): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's');
}

function parsePrincipal(raw: unknown): PrincipalSpec {
  const invalid = () => malformedPolicy('Policy contains a statement with one or more invalid principals.');
  if (raw === '*') return { anyone: true, aws: [], service: [] };
  if (!isRecord(raw)) throw invalid();
  let aws: string[] = [];
  let service: string[] = [];
  for (const [type, value] of Object.entries(raw)) {
    if (type === 'AWS') {
      aws = stringList(value, 'principal');
      for (const p of aws) if (p !== '*' && !ACCOUNT_ID.test(p) && !IAM_ARN.test(p)) throw invalid();
    } else if (type === 'Service') {
      service = stringList(value, 'principal');
      for (const s of service) if (!SERVICE_NAME.test(s)) throw invalid();
    } else {
      throw invalid();
    }
  }
  return { anyone: aws.includes('*'), aws, service };
}

function parseConditions(raw: unknown): Condition[] {
  if (raw === undefined) return [];
  const invalid = () => malformedPolicy('Policy contains a statement with one or more invalid conditions.');
  if (!isRecord(raw)) throw invalid();
  const conditions: Condition[] = [];
  for (const [rawOperator, block] of Object.entries(raw)) {
    let operator = rawOperator;
    let qualifier: Condition['qualifier'];
    const q = /^(ForAnyValue|ForAllValues):(.+)$/.exec(operator);
    if (q) {
      qualifier = q[1] as Condition['qualifier'];
      operator = q[2] as string;
    }
    const ifExists = operator.endsWith('IfExists');
    if (ifExists) operator = operator.slice(0, -'IfExists'.length);
    const known =
      STRING_OPERATORS.has(operator) || NUMERIC_OPERATORS.has(operator) || operator === 'Bool' || operator === 'Null';
    // An operator sealdb cannot evaluate is refused rather than ignored: ignoring it could widen an Allow.
    if (!known || !isRecord(block)) throw invalid();
    for (const [key, values] of Object.entries(block)) {
      conditions.push({
        operator,
        qualifier,
        ifExists,
        key: key.toLowerCase(),
        values: stringList(values, 'condition'),
      });
    }
  }
  return conditions;
}

function parseStatement(raw: unknown): Statement {
  if (!isRecord(raw)) throw malformedPolicy('Policy contains an invalid statement.');
  if (raw.Effect !== 'Allow' && raw.Effect !== 'Deny') {
    throw malformedPolicy('Policy contains a statement with an invalid Effect.');
  }
  if (raw.NotPrincipal !== undefined || raw.Principal === undefined) {
    throw malformedPolicy('Policy contains a statement with one or more invalid principals.');
  }
  if ((raw.Action === undefined) === (raw.NotAction === undefined)) {
    throw malformedPolicy('Policy contains a statement with no or more than one of Action and NotAction.');
  }
  const actions = (v: unknown) => stringList(v, 'action').map((a) => globToRegExp(a, true));
  const resources = (v: unknown) => stringList(v, 'resource').map((r) => globToRegExp(r, false));
  return {
    effect: raw.Effect,
    principal: parsePrincipal(raw.Principal),
    ...(raw.Action !== undefined ? { actions: actions(raw.Action) } : {}),
    ...(raw.NotAction !== undefined ? { notActions: actions(raw.NotAction) } : {}),
    ...(raw.Resource !== undefined ? { resources: resources(raw.Resource) } : {}),
    ...(raw.NotResource !== undefined ? { notResources: resources(raw.NotResource) } : {}),
    conditions: parseConditions(raw.Condition),
  };
}

export function parsePolicy(text: string): PolicyDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw malformedPolicy('The policy document is not valid JSON.');
  }
  if (!isRecord(doc) || doc.Statement === undefined)
    throw malformedPolicy('Policy is missing required element Statement.');
  const raw = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return { statements: raw.map(parseStatement) };
}

/** Regional service principals (`dynamodb.us-east-1.amazonaws.com`) also answer to their global name. */
export function serviceNames(principal: Principal): Set<string> {
  const names = new Set<string>();
  for (const n of [principal.arn, principal.principalId]) {
    names.add(n);
    const m = /^([^.]+)\.[a-z]{2}(?:-[a-z]+)+-\d+\.(amazonaws\.com)$/.exec(n);
    if (m) names.add(`${m[1]}.${m[2]}`);
  }
  return names;
}

/** Whether a principal is named by an AWS principal string of a policy, grant or Principal element. */
export function awsPrincipalMatches(spec: string, principal: Principal): boolean {
  if (spec === '*') return true;
  if (principal.type === 'AWSService') return serviceNames(principal).has(spec);
  const root = ACCOUNT_ROOT.exec(spec);
  if (root) return principal.accountId === root[1];
  if (ACCOUNT_ID.test(spec)) return principal.accountId === spec;
  return principal.arn === spec;
}

function principalMatches(spec: PrincipalSpec, principal: Principal): boolean {
  if (spec.anyone) return true;
  if (spec.aws.some((a) => awsPrincipalMatches(a, principal))) return true;
  if (principal.type !== 'AWSService') return false;
  const names = serviceNames(principal);
  return spec.service.some((s) => names.has(s));
}

function compare(operator: string, requestValue: string, policyValue: string): boolean {
  switch (operator) {
    case 'StringEquals':
    case 'StringNotEquals':
    case 'ArnEquals':
    case 'ArnNotEquals':
      return requestValue === policyValue;
    case 'StringEqualsIgnoreCase':
    case 'StringNotEqualsIgnoreCase':
      return requestValue.toLowerCase() === policyValue.toLowerCase();
    case 'StringLike':
    case 'StringNotLike':
    case 'ArnLike':
    case 'ArnNotLike':
      return globToRegExp(policyValue, false).test(requestValue);
    case 'Bool':
      return requestValue.toLowerCase() === policyValue.toLowerCase();
    default: {
      const a = Number(requestValue);
      const b = Number(policyValue);
      if (Number.isNaN(a) || Number.isNaN(b)) return false;
      switch (operator) {
        case 'NumericEquals':
        case 'NumericNotEquals':
          return a === b;
        case 'NumericLessThan':
          return a < b;
        case 'NumericLessThanEquals':
          return a <= b;
        case 'NumericGreaterThan':
          return a > b;
        case 'NumericGreaterThanEquals':
          return a >= b;
        default:
          return false;
      }
    }
  }
}

/** One request value against the condition: positive operators match any policy value, negated ones none. */
function valueSatisfies(condition: Condition, value: string): boolean {
  const base = condition.operator;
  const hit = condition.values.some((p) => compare(base, value, p));
  return NEGATED.has(base) ? !hit : hit;
}

function conditionHolds(condition: Condition, context: ConditionContext): boolean {
  const values = context.get(condition.key);
  const present = values !== undefined && values.length > 0;
  if (condition.operator === 'Null') {
    return condition.values.some((v) => (v.toLowerCase() === 'true' ? !present : present));
  }
  if (condition.qualifier === 'ForAllValues') {
    return !present || values.every((v) => valueSatisfies(condition, v));
  }
  if (!present) return condition.ifExists || NEGATED.has(condition.operator);
  if (condition.qualifier === 'ForAnyValue') return values.some((v) => valueSatisfies(condition, v));
  return NEGATED.has(condition.operator)
    ? values.every((v) => valueSatisfies(condition, v))
    : values.some((v) => valueSatisfies(condition, v));
}

function statementApplies(s: Statement, request: PolicyRequest): boolean {
  if (!principalMatches(s.principal, request.principal)) return false;
  if (s.actions && !s.actions.some((a) => a.test(request.action))) return false;
  if (s.notActions?.some((a) => a.test(request.action))) return false;
  if (s.resources && !s.resources.some((r) => r.test(request.resource))) return false;
  if (s.notResources?.some((r) => r.test(request.resource))) return false;
  return s.conditions.every((c) => conditionHolds(c, request.context));
}

export function evaluatePolicy(policy: PolicyDocument, request: PolicyRequest): Decision {
  let allowed = false;
  for (const s of policy.statements) {
    if (!statementApplies(s, request)) continue;
    if (s.effect === 'Deny') return 'ExplicitDeny';
    allowed = true;
  }
  return allowed ? 'Allow' : 'ImplicitDeny';
}
