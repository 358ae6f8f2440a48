/** Every DynamoDB Streams operation. */
import type { Operation } from '../../dynamodb/operation.js';
import { describeStream } from './describe-stream.js';
import { getRecords } from './get-records.js';
import { getShardIterator } from './get-shard-iterator.js';
import { listStreams } from './list-streams.js';

export const operations: readonly Operation<never, unknown>[] = [
  listStreams,
  describeStream,
  getShardIterator,
  getRecords,
] as readonly Operation<never, unknown>[];
