/**
 * Every DynamoDB operation accepts a table name or a table ARN (the model types
 * it as TableArn, 1..1024 chars); a plain name must still satisfy the TableName
 * rules, reported in Coral's words.
 */
import type { CallContext } from '../http/service.js';
import { validationMessage } from '../validation/checker.js';
import { resourceNotFound, validationError } from './errors.js';

const NAME_PATTERN = /^[a-zA-Z0-9_.-]+$/;
const ARN_PATTERN = /^arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table\/(.+)$/;

/** Coral's constraint failures for a table name, in the order DynamoDB lists them. */
export function tableNameViolations(name: string, member = 'tableName'): string[] {
  const errors: string[] = [];
  const value = `Value '${name}' at '${member}' failed to satisfy constraint: Member must`;
  if (!NAME_PATTERN.test(name)) errors.push(`${value} satisfy regular expression pattern: [a-zA-Z0-9_.-]+`);
  if (name.length < 3) errors.push(`${value} have length greater than or equal to 3`);
  if (name.length > 255) errors.push(`${value} have length less than or equal to 255`);
  return errors;
}

export function coralValidation(errors: readonly string[]): Error {
  return validationError(validationMessage(errors));
}

/** Resolves a TableName member (name or ARN) to the table's name in the caller's account. */
export function resolveTableName(value: string, ctx: CallContext, member = 'tableName'): string {
  const arn = ARN_PATTERN.exec(value);
  if (arn) {
    const [, region, account, name] = arn as unknown as [string, string, string, string];
    // Another account's or region's table is invisible: answer as if it did not exist.
    if (account !== ctx.principal.accountId || region !== ctx.region) {
      throw resourceNotFound(`Requested resource not found: Table: ${name} not found`);
    }
    value = name;
  } else if (value.startsWith('arn:')) {
    throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${value}`);
  }
  const errors = tableNameViolations(value, member);
  if (errors.length > 0) throw coralValidation(errors);
  return value;
}
