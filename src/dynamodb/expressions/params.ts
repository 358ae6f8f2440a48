/**
 * Which expression-related members may appear together. DynamoDB refuses to mix expression
 * members with their legacy counterparts, and placeholders without an expression to use them.
 */
import { validationError } from '../errors.js';

export interface ExpressionParams {
  /** Expression members of the operation, in DynamoDB's order (e.g. ProjectionExpression, FilterExpression, ...). */
  readonly expressions: readonly string[];
  /** Legacy members that conflict with them (e.g. AttributesToGet, QueryFilter, ...). */
  readonly legacy: readonly string[];
}

export function checkExpressionParams(input: object, { expressions, legacy }: ExpressionParams): void {
  const has = (member: string) => (input as Record<string, unknown>)[member] != null;
  const used = expressions.filter(has);
  if (used.length > 0) {
    // Query's legacy KeyConditions may accompany the other expressions as long as
    // KeyConditionExpression itself is absent.
    const conflicting = legacy.filter(
      (member) => has(member) && !(member === 'KeyConditions' && !has('KeyConditionExpression')),
    );
    if (conflicting.length > 0) {
      throw validationError(
        'Can not use both expression and non-expression parameters in the same request: ' +
          `Non-expression parameters: {${conflicting.join(', ')}} Expression parameters: {${used.join(', ')}}`,
      );
    }
  }
  if (has('ExpressionAttributeNames') && used.length === 0) {
    throw validationError('ExpressionAttributeNames can only be specified when using expressions');
  }
  // ProjectionExpression takes names only, so it does not justify values.
  const valueExpressions = expressions.filter((member) => member !== 'ProjectionExpression');
  if (valueExpressions.length > 0 && has('ExpressionAttributeValues') && !valueExpressions.some(has)) {
    throw validationError(
      `ExpressionAttributeValues can only be specified when using expressions: ${valueExpressions.join(' and ')} ` +
        `${valueExpressions.length > 1 ? 'are' : 'is'} null`,
    );
  }
}
