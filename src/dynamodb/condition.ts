/**
 * Conditions of a request: ConditionExpression / FilterExpression text, or the legacy
 * Expected map, brought to one resolved tree; and the failure DynamoDB reports.
 */
import type { AwsError } from '../http/aws-error.js';
import type { StoredItem, TableStore } from '../storage/table-file.js';
import type { Item } from './attribute-value.js';
import { conditionalCheckFailed } from './errors.js';
import { ExpressionAttributes } from './expressions/attributes.js';
import { checkCondition } from './expressions/check.js';
import { checkExpressionText, ExpressionError, expressionError } from './expressions/errors.js';
import { evaluateCondition, type ResolvedCondition, resolveCondition } from './expressions/evaluate.js';
import { checkExpressionParams } from './expressions/params.js';
import { Parser } from './expressions/parser.js';
import { fromStored, type StoredKey } from './item-codec.js';
import {
  type ConditionalOperator,
  checkConditionalOperator,
  expectedCondition,
  type LegacyExpected,
} from './legacy.js';
import { checkPutDeleteReturnValues } from './return-values.js';

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

/** Which condition spellings PutItem and DeleteItem accept (they may not be mixed). */
export const PUT_EXPRESSION_PARAMS = {
  expressions: ['ConditionExpression'],
  legacy: ['Expected', 'ConditionalOperator'],
} as const;

export interface SingleWriteInput extends WriteConditionInput {
  readonly ReturnValues?: string;
  readonly ReturnValuesOnConditionCheckFailure?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
}

/** PutItem's and DeleteItem's condition, checked with its placeholders before the table is opened. */
export function singleWriteCondition(input: SingleWriteInput): ResolvedCondition | undefined {
  checkExpressionParams(input, PUT_EXPRESSION_PARAMS);
  checkConditionalOperator(input.ConditionalOperator, input.Expected);
  checkPutDeleteReturnValues(input.ReturnValues);
  const attributes = ExpressionAttributes.of(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
  const condition = writeCondition(input, attributes);
  attributes.assertAllUsed();
  return condition;
}

/**
 * Reads the stored item, checks the condition against it and, when it holds, writes: all in
 * one storage transaction. Returns the stored item that was there before.
 */
export function writeIfCondition(
  store: TableStore,
  key: StoredKey,
  condition: ResolvedCondition | undefined,
  returnOnFailure: string | undefined,
  write: () => void,
): StoredItem | undefined {
  return store.transaction(() => {
    const existing = store.get(key.hash, key.pk, key.sk);
    // Parsed only for a condition: a 400 KB item of tiny attributes takes ~10 ms to parse.
    if (condition) {
      const old = existing && fromStored(existing);
      if (!evaluateCondition(condition, old)) throw conditionFailed(old, returnOnFailure);
    }
    write();
    return existing;
  });
}
