/**
 * DynamoDB expressions. Layers, each usable on its own:
 *
 *   tokenizer.ts      text → tokens (shared by every expression kind)
 *   parser.ts         tokens → syntax trees (ast.ts); syntax errors only
 *   attributes.ts     ExpressionAttributeNames/Values: validation, resolution, unused detection
 *   check.ts          what DynamoDB reports after a successful parse, in its order
 *   key-condition.ts  Query key conditions (expression and legacy forms) → per-key conditions
 *   params.ts         which expression and legacy members may be combined
 *
 * Filter, condition, projection and update expressions (issue #6) add evaluation over the same
 * trees; `Parser.parsePaths` already reads projection lists.
 */
export type * from './ast.js';
export { ExpressionAttributes } from './attributes.js';
export { checkCondition, type ResolvedPath, renderPath, resolvePath, resolveValue } from './check.js';
export {
  checkExpressionText,
  ExpressionError,
  type ExpressionKind,
  expressionError,
  MAX_EXPRESSION_BYTES,
} from './errors.js';
export {
  type ComparisonOperator,
  checkKeyConditions,
  type KeyCondition,
  type LegacyCondition,
  legacyKeyConditions,
  parseKeyConditionExpression,
} from './key-condition.js';
export { checkExpressionParams, type ExpressionParams } from './params.js';
export { Parser } from './parser.js';
export { isReservedWord, RESERVED_WORDS } from './reserved-words.js';
export { isKeyword, type Token, type TokenKind, tokenize } from './tokenizer.js';
