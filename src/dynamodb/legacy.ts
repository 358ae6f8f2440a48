/**
 * The legacy (pre-expression) parameters: Expected, QueryFilter/ScanFilter with
 * ConditionalOperator, and AttributeUpdates. Conditions become the same resolved trees
 * expressions evaluate to, translated as DynamoDB documents it (e.g. NOT_CONTAINS is
 * `attribute_exists(a) AND NOT contains(a, :v)`).
 */
import type { AttributeValue, Item } from './attribute-value.js';
import { addNumbers } from './decimal.js';
import { invalidParameter, validationError } from './errors.js';
import type { ResolvedCondition, ResolvedOperand } from './expressions/evaluate.js';
import type { ComparisonOperator } from './expressions/key-condition.js';
import { compareScalars, typeOf } from './expressions/values.js';
import { validateAttributeValue } from './item-validation.js';
import { setDifference, setUnion } from './update.js';

export interface LegacyExpected {
  readonly Value?: unknown;
  readonly Exists?: boolean;
  readonly ComparisonOperator?: ComparisonOperator;
  readonly AttributeValueList?: readonly unknown[];
}

export interface LegacyFilterCondition {
  readonly ComparisonOperator: ComparisonOperator;
  readonly AttributeValueList?: readonly unknown[];
}

export type ConditionalOperator = 'AND' | 'OR';

const path = (name: string): ResolvedOperand => ({ kind: 'path', path: [name] });
const value = (v: AttributeValue): ResolvedOperand => ({ kind: 'value', value: v });
const fn = (name: string, args: ResolvedOperand[]): ResolvedCondition => ({ kind: 'function', name, args });

/** Expected (PutItem, UpdateItem, DeleteItem) as one condition; undefined when there is none. */
export function expectedCondition(
  expected: Readonly<Record<string, LegacyExpected>> | undefined,
  operator: ConditionalOperator | undefined,
): ResolvedCondition | undefined {
  if (!expected) return undefined;
  const conditions = Object.entries(expected).map(([name, e]) => expectedEntry(name, e));
  return combine(conditions, operator);
}

function expectedEntry(name: string, e: LegacyExpected): ResolvedCondition {
  const hasValue = e.Value != null;
  const hasList = e.AttributeValueList != null;
  if (e.Exists != null && e.ComparisonOperator != null) {
    throw invalidParameter(`Exists and ComparisonOperator cannot be used together for Attribute: ${name}`);
  }
  if (hasValue && hasList) {
    throw invalidParameter(`Value and AttributeValueList cannot be used together for Attribute: ${name}`);
  }
  if (e.ComparisonOperator == null && hasList) {
    throw invalidParameter(`AttributeValueList can only be used with a ComparisonOperator for Attribute: ${name}`);
  }
  if (e.Exists === false && hasValue) {
    throw invalidParameter(`Value cannot be used when Exists is false for Attribute: ${name}`);
  }
  if (!hasValue && !hasList) {
    const op = e.ComparisonOperator;
    if (op != null && op !== 'NULL' && op !== 'NOT_NULL') {
      throw invalidParameter(
        `Value or AttributeValueList must be used with ComparisonOperator: ${op} for Attribute: ${name}`,
      );
    }
    if (op == null && e.Exists == null) {
      throw invalidParameter(`Value must be provided when Exists is null for Attribute: ${name}`);
    }
    if (op == null && e.Exists === true) {
      throw invalidParameter(`Value must be provided when Exists is true for Attribute: ${name}`);
    }
  }
  if (e.ComparisonOperator == null) {
    if (e.Exists === false) return fn('attribute_not_exists', [path(name)]);
    return { kind: 'compare', comparator: '=', left: path(name), right: value(validateAttributeValue(e.Value)) };
  }
  const values = hasValue ? [e.Value] : (e.AttributeValueList ?? []);
  return comparison(
    name,
    e.ComparisonOperator,
    values.map((v) => validateAttributeValue(v)),
  );
}

/** QueryFilter / ScanFilter as one condition; undefined when there is none. */
export function filterCondition(
  filter: Readonly<Record<string, LegacyFilterCondition>> | undefined,
  operator: ConditionalOperator | undefined,
): ResolvedCondition | undefined {
  if (!filter) return undefined;
  const conditions = Object.entries(filter).map(([name, c]) =>
    comparison(
      name,
      c.ComparisonOperator,
      (c.AttributeValueList ?? []).map((v) => validateAttributeValue(v)),
    ),
  );
  return combine(conditions, operator);
}

/**
 * ConditionalOperator joins two or more legacy conditions; alone, or with one condition, it
 * is refused (DynamoDB's texts, as DynamoDB Local's ErrorFactory and ExtendDB's tests against
 * DynamoDB record them). `conditions` is the request's Expected, QueryFilter or ScanFilter.
 */
export function checkConditionalOperator(
  operator: ConditionalOperator | undefined,
  conditions: Readonly<Record<string, unknown>> | undefined,
): void {
  if (operator == null) return;
  const count = conditions ? Object.keys(conditions).length : 0;
  if (count === 0) throw validationError('ConditionalOperator cannot be used without Filter or Expected');
  if (count === 1) {
    throw validationError('ConditionalOperator can only be used when Filter or Expected has two or more elements');
  }
}

function combine(conditions: ResolvedCondition[], operator: ConditionalOperator | undefined): ResolvedCondition {
  const kind = operator === 'OR' ? 'or' : 'and';
  const [first, ...rest] = conditions;
  if (!first) return { kind: 'constant', value: true };
  return rest.reduce<ResolvedCondition>((left, right) => ({ kind, left, right }), first);
}

const ARGUMENTS: Readonly<Record<ComparisonOperator, number | 'many'>> = {
  EQ: 1,
  NE: 1,
  LE: 1,
  LT: 1,
  GE: 1,
  GT: 1,
  CONTAINS: 1,
  NOT_CONTAINS: 1,
  BEGINS_WITH: 1,
  IN: 'many',
  BETWEEN: 2,
  NULL: 0,
  NOT_NULL: 0,
};

const COMPARATORS = { EQ: '=', NE: '<>', LE: '<=', LT: '<', GE: '>=', GT: '>' } as const;

/** One legacy comparison, with DynamoDB's argument checks. */
function comparison(name: string, op: ComparisonOperator, values: readonly AttributeValue[]): ResolvedCondition {
  const expected = ARGUMENTS[op];
  if (expected === 'many' ? values.length === 0 : values.length !== expected) {
    throw invalidParameter(`Invalid number of argument(s) for the ${op} ComparisonOperator`);
  }
  // Before the per-operator type rules, as in dynalite's validateConditions (recorded from DynamoDB).
  const [head] = values;
  if (head && values.some((v) => typeOf(v) !== typeOf(head))) {
    throw invalidParameter('AttributeValues inside AttributeValueList must be of same type');
  }
  const scalar = (v: AttributeValue, extra: readonly string[] = []) => {
    const type = typeOf(v);
    if (!['S', 'N', 'B', ...extra].includes(type)) {
      throw invalidParameter(`ComparisonOperator ${op} is not valid for ${type} AttributeValue type`);
    }
  };
  const [first, second] = values as [AttributeValue, AttributeValue];
  switch (op) {
    case 'EQ':
    case 'NE':
      return { kind: 'compare', comparator: COMPARATORS[op], left: path(name), right: value(first) };
    case 'LE':
    case 'LT':
    case 'GE':
    case 'GT':
      scalar(first);
      return { kind: 'compare', comparator: COMPARATORS[op], left: path(name), right: value(first) };
    case 'NULL':
      return fn('attribute_not_exists', [path(name)]);
    case 'NOT_NULL':
      return fn('attribute_exists', [path(name)]);
    case 'CONTAINS':
      scalar(first, ['BOOL', 'NULL']);
      return fn('contains', [path(name), value(first)]);
    case 'NOT_CONTAINS':
      scalar(first, ['BOOL', 'NULL']);
      return {
        kind: 'and',
        left: fn('attribute_exists', [path(name)]),
        right: { kind: 'not', operand: fn('contains', [path(name), value(first)]) },
      };
    case 'BEGINS_WITH':
      scalar(first, []);
      if (first.N !== undefined)
        throw invalidParameter(`ComparisonOperator ${op} is not valid for N AttributeValue type`);
      return fn('begins_with', [path(name), value(first)]);
    case 'IN':
      for (const v of values) scalar(v);
      return { kind: 'in', subject: path(name), candidates: values.map(value) };
    case 'BETWEEN':
      scalar(first);
      scalar(second);
      if ((compareScalars(first, second) ?? 0) > 0) {
        throw validationError(
          'The BETWEEN condition was provided a range where the lower bound is greater than the upper bound',
        );
      }
      return { kind: 'between', subject: path(name), lower: value(first), upper: value(second) };
  }
}

// ---------------------------------------------------------------------------------------------
// AttributeUpdates

export interface LegacyAttributeUpdate {
  readonly Value?: unknown;
  readonly Action?: 'PUT' | 'ADD' | 'DELETE';
}

export interface AttributeUpdate {
  readonly name: string;
  readonly action: 'PUT' | 'ADD' | 'DELETE';
  readonly value?: AttributeValue;
}

/** Validates AttributeUpdates (values, then what each action allows), in request order. */
export function attributeUpdates(updates: Readonly<Record<string, LegacyAttributeUpdate>>): AttributeUpdate[] {
  return Object.entries(updates).map(([name, update]) => {
    const action = update.Action ?? 'PUT';
    const v = update.Value == null ? undefined : validateAttributeValue(update.Value);
    if (!v) {
      if (action !== 'DELETE')
        throw invalidParameter('Only DELETE action is allowed when no attribute value is specified');
      return { name, action };
    }
    const type = typeOf(v);
    if (action === 'DELETE' && !['SS', 'NS', 'BS'].includes(type)) {
      throw invalidParameter(`DELETE action with value is not supported for the type ${type}`);
    }
    if (action === 'ADD' && !['N', 'SS', 'NS', 'BS', 'L'].includes(type)) {
      throw invalidParameter(`ADD action is not supported for the type ${type}`);
    }
    return { name, action, value: v };
  });
}

const typeMismatch = () => validationError('Type mismatch for attribute to update');

/** Applies validated AttributeUpdates (ADD appends to lists, as the legacy API did). */
export function applyAttributeUpdates(old: Item | undefined, updates: readonly AttributeUpdate[]): Item {
  const item: Item = { ...(old ?? {}) };
  for (const { name, action, value: v } of updates) {
    const current = Object.hasOwn(item, name) ? item[name] : undefined;
    if (action === 'PUT') item[name] = v as AttributeValue;
    else if (action === 'DELETE') {
      if (!v) delete item[name];
      else if (current) {
        const rest = setDifference(current, v);
        if (!rest) throw typeMismatch();
        if ((rest.SS ?? rest.NS ?? rest.BS ?? []).length === 0) delete item[name];
        else item[name] = rest;
      }
    } else {
      const operand = v as AttributeValue;
      if (!current) item[name] = operand;
      else if (current.N !== undefined && operand.N !== undefined) item[name] = { N: addNumbers(current.N, operand.N) };
      else if (current.L && operand.L) item[name] = { L: [...current.L, ...operand.L] };
      else {
        const union = setUnion(current, operand);
        if (!union) throw typeMismatch();
        item[name] = union;
      }
    }
  }
  return item;
}
