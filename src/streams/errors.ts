/**
 * DynamoDB Streams' errors: the same Coral namespaces as DynamoDB's. Messages from the DynamoDB
 * Streams API reference (GetRecords, "Errors": ExpiredIteratorException "The provided iterator
 * exceeds the maximum age allowed.", TrimmedDataAccessException "The data you are trying to access
 * has been trimmed."); the missing stream's from emulators that copy AWS (LocalStack's
 * dynamodbstreams provider: "Requested resource not found: Stream: <arn> not found"); a malformed
 * stream ARN is a ValidationException naming "Invalid StreamArn" (aws-sdk-js v2 integration tests
 * against AWS, dynamodbstreams "handles errors").
 */
import { AwsError } from '../http/aws-error.js';

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

export { validationError } from '../dynamodb/errors.js';

export const streamNotFound = (arn: string): AwsError =>
  new AwsError('ResourceNotFoundException', `Requested resource not found: Stream: ${arn} not found`, 400, DYNAMODB);

export const shardNotFound = (shardId: string): AwsError =>
  new AwsError(
    'ResourceNotFoundException',
    `Requested resource not found: Shard does not exist: ${shardId}`,
    400,
    DYNAMODB,
  );

export const tableNotFound = (name: string): AwsError =>
  new AwsError('ResourceNotFoundException', `Requested resource not found: Table: ${name} not found`, 400, DYNAMODB);

export const expiredIterator = (): AwsError =>
  new AwsError('ExpiredIteratorException', 'The provided iterator exceeds the maximum age allowed.', 400, DYNAMODB);

export const trimmedData = (): AwsError =>
  new AwsError('TrimmedDataAccessException', 'The data you are trying to access has been trimmed.', 400, DYNAMODB);

export const internalServerError = (): AwsError =>
  new AwsError(
    'InternalServerError',
    'The server encountered an internal error trying to fulfill the request.',
    500,
    DYNAMODB,
  );
