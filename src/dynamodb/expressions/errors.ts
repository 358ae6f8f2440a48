/**
 * Problems found inside one expression. DynamoDB names the expression in front of the detail
 * (`Invalid KeyConditionExpression: Syntax error; ...`), which only the caller knows, so the
 * parser and checks throw this and `expressionError` adds the name.
 */
import { Buffer } from 'node:buffer';
import type { AwsError } from '../../http/aws-error.js';
import { validationError } from '../errors.js';

export class ExpressionError extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'ExpressionError';
  }
}

/** The member names DynamoDB uses in `Invalid <kind>: ...`. */
export type ExpressionKind =
  | 'KeyConditionExpression'
  | 'ConditionExpression'
  | 'FilterExpression'
  | 'ProjectionExpression'
  | 'UpdateExpression';

export const expressionError = (kind: ExpressionKind, detail: string): AwsError =>
  validationError(`Invalid ${kind}: ${detail}`);

/** DynamoDB's limit on the length of any one expression, in UTF-8 bytes. */
export const MAX_EXPRESSION_BYTES = 4096;

/** The checks DynamoDB makes on an expression's text before parsing it. */
export function checkExpressionText(kind: ExpressionKind, text: string): void {
  if (text === '') throw expressionError(kind, 'The expression can not be empty;');
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_EXPRESSION_BYTES) {
    throw expressionError(kind, `Expression size has exceeded the maximum allowed size; expression size: ${size}`);
  }
}
