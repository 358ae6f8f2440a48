/**
 * Upper bounds the published model leaves out: ListStreams and DescribeStream return at most 100
 * (their API reference: "The upper limit is 100"), GetRecords at most 1000 records ("The upper
 * limit is 1000") and 1 MB. A larger Limit is refused in Coral's words, as DynamoDB refuses one
 * (ScyllaDB's Alternator tests, test_streams.py test_list_streams_too_high_limit, run against
 * DynamoDB: ValidationException for 101).
 */
import { coralValidation } from '../dynamodb/table-name.js';

export const MAX_LIST_LIMIT = 100;
export const MAX_RECORDS_LIMIT = 1000;
export const MAX_RECORDS_BYTES = 1024 * 1024;

export function checkLimit(limit: number | undefined, max: number): void {
  if (limit !== undefined && limit > max) {
    throw coralValidation([
      `Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to ${max}`,
    ]);
  }
}
