/** DynamoDB's error types, with the namespaces the real service puts in `__type`. */
import { AwsError, CORAL_SERVICE, CORAL_VALIDATE } from '../http/aws-error.js';

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

export const validationError = (message: string): AwsError =>
  new AwsError('ValidationException', message, 400, CORAL_VALIDATE);

/** `One or more parameter values were invalid: ...`, DynamoDB's prefix for semantic input errors. */
export const invalidParameter = (detail: string): AwsError =>
  validationError(`One or more parameter values were invalid: ${detail}`);

/** DynamoDB sends this one's text as `Message` (dynalite's assertSerialization, recorded against DynamoDB). */
export const serializationError = (message?: string): AwsError => {
  const error = new AwsError('SerializationException', message, 400, CORAL_SERVICE);
  error.messageKey = 'Message';
  return error;
};

export const resourceNotFound = (message = 'Requested resource not found'): AwsError =>
  new AwsError('ResourceNotFoundException', message, 400, DYNAMODB);

export const resourceInUse = (message: string): AwsError =>
  new AwsError('ResourceInUseException', message, 400, DYNAMODB);

/**
 * CreateTable (or an import) naming a table that exists. A table whose restore is still CREATING
 * answers "Table is being used: <name>" on the live service (ack-api-quirks, table.md,
 * DDB-TABLE-219, recorded 2026-10-09); any other "Table already exists: <name>".
 */
export const tableExists = (existing: {
  TableName: string;
  RestoreSummary?: { RestoreInProgress: boolean };
}): AwsError =>
  resourceInUse(
    existing.RestoreSummary?.RestoreInProgress
      ? `Table is being used: ${existing.TableName}`
      : `Table already exists: ${existing.TableName}`,
  );

export const limitExceeded = (message: string): AwsError =>
  new AwsError('LimitExceededException', message, 400, DYNAMODB);

export const conditionalCheckFailed = (message = 'The conditional request failed'): AwsError =>
  new AwsError('ConditionalCheckFailedException', message, 400, DYNAMODB);

export const accessDenied = (message: string): AwsError =>
  new AwsError('AccessDeniedException', message, 400, DYNAMODB);

export const internalServerError = (message = 'Internal server error'): AwsError =>
  new AwsError('InternalServerError', message, 500, DYNAMODB);
