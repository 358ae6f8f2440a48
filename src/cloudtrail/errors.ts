/**
 * CloudTrail's errors, as bare `__type`s (CloudTrail, like KMS, sends no Coral namespace).
 * The exception names are CloudTrail's; the messages are sealdb's wording of the conditions
 * the API reference documents, since AWS's exact texts for them are not published.
 */
import { AwsError } from '../http/aws-error.js';

export const invalidLookupAttributes = (message: string): AwsError =>
  new AwsError('InvalidLookupAttributesException', message, 400);

export const invalidTimeRange = (message: string): AwsError => new AwsError('InvalidTimeRangeException', message, 400);

export const invalidMaxResults = (message: string): AwsError =>
  new AwsError('InvalidMaxResultsException', message, 400);

export const invalidNextToken = (message: string): AwsError => new AwsError('InvalidNextTokenException', message, 400);

export const invalidEventCategory = (message: string): AwsError =>
  new AwsError('InvalidEventCategoryException', message, 400);

/** AWS's generic 500 for a failure that is not the caller's. */
export const internalError = (): AwsError =>
  new AwsError(
    'InternalFailure',
    'The request processing has failed because of an unknown error, exception or failure.',
    500,
  );
