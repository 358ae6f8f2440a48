/**
 * Query key conditions in their two spellings — a KeyConditionExpression or the legacy
 * KeyConditions map — brought to one form, a list of per-attribute conditions, and checked
 * with DynamoDB's rules and messages for each spelling. Checks against the table's key
 * schema happen later, in the Query operation, once the table is known.
 */

import type { AwsError } from '../../http/aws-error.js';
import type { AttributeValue } from '../attribute-value.js';
import { invalidParameter, validationError } from '../errors.js';
import { validateAttributeValue } from '../item-validation.js';
import type { Comparator, Condition, Operand } from './ast.js';
import type { ExpressionAttributes } from './attributes.js';
import { checkCondition, resolvePath, resolveValue } from './check.js';
import { checkExpressionText, ExpressionError, expressionError } from './errors.js';
import { Parser } from './parser.js';
import { compareScalars, typeOf } from './values.js';

/** The legacy ComparisonOperator values (the AWS model's enum). */
export type ComparisonOperator =
  | 'EQ'
  | 'NE'
  | 'IN'
  | 'LE'
  | 'LT'
  | 'GE'
  | 'GT'
  | 'BETWEEN'
  | 'NOT_NULL'
  | 'NULL'
  | 'CONTAINS'
  | 'NOT_CONTAINS'
  | 'BEGINS_WITH';

export interface KeyCondition {
  readonly attribute: string;
  readonly operator: ComparisonOperator;
  readonly values: readonly AttributeValue[];
}

/** One entry of the legacy KeyConditions map, as the model check leaves it. */
export interface LegacyCondition {
  readonly ComparisonOperator: ComparisonOperator;
  readonly AttributeValueList?: readonly unknown[];
}

const KIND = 'KeyConditionExpression';

/**
 * Parses and checks a KeyConditionExpression, resolving its placeholders (which marks them
 * used); the caller reports unused placeholders after every expression of the request is read.
 * Returns the conditions in the order they were written.
 */
export function parseKeyConditionExpression(text: string, attributes: ExpressionAttributes): KeyCondition[] {
  checkExpressionText(KIND, text);
  let condition: Condition;
  try {
    const parsed = new Parser(text).parseCondition();
    checkCondition(parsed, attributes);
    condition = parsed.condition;
  } catch (error) {
    if (error instanceof ExpressionError) throw expressionError(KIND, error.detail);
    throw error;
  }
  return new KeyConditionCollector(attributes).collect(condition);
}

/** Why a condition cannot be a key condition; DynamoDB checks these after placeholders are settled. */
class KeyConditionCollector {
  readonly #conditions: KeyCondition[] = [];

  constructor(private readonly attributes: ExpressionAttributes) {}

  collect(condition: Condition): KeyCondition[] {
    this.#visit(condition);
    return this.#conditions;
  }

  #visit(condition: Condition): void {
    switch (condition.kind) {
      case 'or':
      case 'not':
      case 'in':
        throw validationError(`Invalid operator used in KeyConditionExpression: ${condition.kind.toUpperCase()}`);
      case 'and':
        this.#visit(condition.left);
        this.#visit(condition.right);
        return;
      case 'compare':
        if (condition.comparator === '<>') throw validationError('Invalid operator used in KeyConditionExpression: <>');
        this.#add(condition.comparator, [condition.left, condition.right]);
        return;
      case 'between':
        if (condition.subject.kind !== 'path') {
          throw invalidCondition('BETWEEN operator must have the key attribute as its first operand');
        }
        this.#add('BETWEEN', [condition.subject, condition.lower, condition.upper]);
        return;
      case 'function': {
        const { name, args } = condition.call;
        if (name !== 'begins_with') {
          throw validationError(
            name === 'size'
              ? 'KeyConditionExpressions cannot contain nested operations'
              : `Invalid operator used in KeyConditionExpression: ${name}`,
          );
        }
        if (args[0]?.kind !== 'path')
          throw invalidCondition('begins_with operator must have the key attribute as its first operand');
        this.#add('BEGINS_WITH', args);
        return;
      }
    }
  }

  #add(operator: Comparator | 'BETWEEN' | 'BEGINS_WITH', operands: readonly Operand[]): void {
    let attribute: string | undefined;
    let attributeFirst = true;
    const values: AttributeValue[] = [];
    operands.forEach((operand, index) => {
      if (operand.kind === 'call') throw validationError('KeyConditionExpressions cannot contain nested operations');
      if (operand.kind === 'value') {
        values.push(resolveValue(operand, this.attributes));
        return;
      }
      if (attribute !== undefined) throw invalidCondition('Multiple attribute names used in one condition');
      const path = resolvePath(operand, this.attributes);
      if (path.length > 1) throw validationError('KeyConditionExpressions cannot have conditions on nested attributes');
      attribute = String(path[0]);
      attributeFirst = index === 0;
    });
    if (attribute === undefined) throw invalidCondition('No key attribute specified');
    const name = attribute;
    if (this.#conditions.some((c) => c.attribute === name)) {
      throw validationError('KeyConditionExpressions must only contain one condition per key');
    }
    // `:v < sk` is `sk > :v`.
    const comparator = attributeFirst ? operator : mirrored(operator);
    this.#conditions.push({ attribute: name, operator: OPERATORS[comparator], values });
  }
}

const invalidCondition = (detail: string): AwsError =>
  validationError(`Invalid condition in KeyConditionExpression: ${detail}`);

const OPERATORS: Readonly<Record<Comparator | 'BETWEEN' | 'BEGINS_WITH', ComparisonOperator>> = {
  '=': 'EQ',
  '<>': 'NE',
  '<': 'LT',
  '<=': 'LE',
  '>': 'GT',
  '>=': 'GE',
  BETWEEN: 'BETWEEN',
  BEGINS_WITH: 'BEGINS_WITH',
};

function mirrored<T extends string>(operator: T): T {
  const mirror: Readonly<Record<string, string>> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
  return (mirror[operator] ?? operator) as T;
}

/**
 * Reads and checks the legacy KeyConditions map: each condition's values, then its
 * operator rules, one condition after the other (the order DynamoDB reports problems in).
 */
export function legacyKeyConditions(map: Readonly<Record<string, LegacyCondition>>, maxConditions = 2): KeyCondition[] {
  const conditions = Object.entries(map).map(([attribute, condition]) => {
    const values = (condition.AttributeValueList ?? []).map((raw) => validateAttributeValue(raw));
    const keyCondition: KeyCondition = { attribute, operator: condition.ComparisonOperator, values };
    checkOperatorRules(keyCondition);
    return keyCondition;
  });
  checkConditionCount(conditions, maxConditions);
  return conditions;
}

/**
 * The same rules for conditions that came from a KeyConditionExpression. A Query of an index may
 * hold up to 8 conditions (a multi-attribute GSI key has up to 4 partition and 4 sort attributes).
 */
export function checkKeyConditions(conditions: readonly KeyCondition[], maxConditions = 2): void {
  for (const condition of conditions) checkOperatorRules(condition);
  checkConditionCount(conditions, maxConditions);
}

const ARGUMENT_COUNTS: Readonly<Record<ComparisonOperator, (n: number) => boolean>> = {
  EQ: (n) => n === 1,
  NE: (n) => n === 1,
  LE: (n) => n === 1,
  LT: (n) => n === 1,
  GE: (n) => n === 1,
  GT: (n) => n === 1,
  CONTAINS: (n) => n === 1,
  NOT_CONTAINS: (n) => n === 1,
  BEGINS_WITH: (n) => n === 1,
  IN: (n) => n >= 1,
  BETWEEN: (n) => n === 2,
  NULL: (n) => n === 0,
  NOT_NULL: (n) => n === 0,
};

const SCALARS = ['S', 'N', 'B'];
const ALLOWED_TYPES: Readonly<Partial<Record<ComparisonOperator, readonly string[]>>> = {
  EQ: [...SCALARS, 'SS', 'NS', 'BS'],
  NE: [...SCALARS, 'SS', 'NS', 'BS'],
  LE: SCALARS,
  LT: SCALARS,
  GE: SCALARS,
  GT: SCALARS,
  CONTAINS: SCALARS,
  NOT_CONTAINS: SCALARS,
  BEGINS_WITH: ['S', 'B'],
  IN: SCALARS,
  BETWEEN: SCALARS,
};

/** Argument counts, argument types per operator and BETWEEN bounds. */
function checkOperatorRules({ operator, values }: KeyCondition): void {
  if (!ARGUMENT_COUNTS[operator](values.length)) {
    throw invalidParameter(`Invalid number of argument(s) for the ${operator} ComparisonOperator`);
  }
  const first = values[0];
  if (first && values.some((v) => typeOf(v) !== typeOf(first))) {
    throw invalidParameter('AttributeValues inside AttributeValueList must be of same type');
  }
  const allowed = ALLOWED_TYPES[operator];
  const wrong = allowed && values.find((v) => !allowed.includes(typeOf(v)));
  if (wrong)
    throw invalidParameter(`ComparisonOperator ${operator} is not valid for ${typeOf(wrong)} AttributeValue type`);
  const [lower, upper] = values;
  if (operator === 'BETWEEN' && lower && upper && (compareScalars(lower, upper) ?? 0) > 0) {
    throw validationError(
      'The BETWEEN condition was provided a range where the lower bound is greater than the upper bound',
    );
  }
}

function checkConditionCount(conditions: readonly KeyCondition[], max: number): void {
  if (conditions.length < 1 || conditions.length > max)
    throw validationError('Conditions can be of length 1 or 2 only');
}
