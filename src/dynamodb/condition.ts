/**
 * Conditions of a request: ConditionExpression / FilterExpression text, or the legacy
 * Expected map, brought to one resolved tree; and the failure DynamoDB reports.
 */
import type { AwsError } from '../http/aws-error.js';
import type { Item } from './attribute-value.js';
import { conditionalCheckFailed } from './errors.js';
import type { ExpressionAttributes } from './expressions/attributes.js';
import { checkCondition } from './expressions/check.js';
import { checkExpressionText, ExpressionError, expressionError } from './expressions/errors.js';
import { type ResolvedCondition, resolveCondition } from './expressions/evaluate.js';
import { Parser } from './expressions/parser.js';
import { type ConditionalOperator, expectedCondition, type LegacyExpected } from './legacy.js';

/** Parses, checks and resolves a ConditionExpression or FilterExpression. */
export function parseConditionExpression(
  kind: 'ConditionExpression' | 'FilterExpression',
  text: string,
  attributes: ExpressionAttributes,
): ResolvedCondition {
  checkExpressionText(kind, text);
  try {
    const parsed = new Parser(text).parseCondition();
    checkCondition(parsed, attributes);
    return resolveCondition(parsed.condition, attributes);
  } catch (error) {
    if (error instanceof ExpressionError) throw expressionError(kind, error.detail);
    throw error;
  }
}

export interface WriteConditionInput {
  readonly ConditionExpression?: string;
  readonly Expected?: Readonly<Record<string, LegacyExpected>>;
  readonly ConditionalOperator?: ConditionalOperator;
}

/** The condition of a write, from whichever spelling the request used. */
export function writeCondition(
  input: WriteConditionInput,
  attributes: ExpressionAttributes,
): ResolvedCondition | undefined {
  if (input.ConditionExpression !== undefined) {
    return parseConditionExpression('ConditionExpression', input.ConditionExpression, attributes);
  }
  return expectedCondition(input.Expected, input.ConditionalOperator);
}

/** ConditionalCheckFailedException, carrying the item when the request asked for it. */
export function conditionFailed(old: Item | undefined, returnOnFailure: string | undefined): AwsError {
  const error = conditionalCheckFailed();
  if (returnOnFailure === 'ALL_OLD' && old) error.details = { Item: old };
  return error;
}
