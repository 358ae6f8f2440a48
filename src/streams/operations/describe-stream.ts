import type { Operation } from '../../dynamodb/operation.js';
import { streamStatus } from '../definition.js';
import { validationError } from '../errors.js';
import { checkLimit, MAX_LIST_LIMIT } from '../limits.js';
import { describedStream } from '../lookup.js';
import { type ShardInfo, shardIndexOf, shardsOf } from '../shards.js';

export interface DescribeStreamInput {
  StreamArn: string;
  Limit?: number;
  ExclusiveStartShardId?: string;
  ShardFilter?: { Type?: 'CHILD_SHARDS'; ShardId?: string };
}

const shardShape = (shard: ShardInfo) => ({
  ShardId: shard.shardId,
  SequenceNumberRange: {
    StartingSequenceNumber: shard.startingSequenceNumber,
    ...(shard.endingSequenceNumber ? { EndingSequenceNumber: shard.endingSequenceNumber } : {}),
  },
  ...(shard.parentShardId ? { ParentShardId: shard.parentShardId } : {}),
});

export const describeStream: Operation<DescribeStreamInput> = {
  name: 'DescribeStream',
  execute({ input, ctx, env }) {
    const { parts, definition, stream } = describedStream(env, ctx, input.StreamArn);
    checkLimit(input.Limit, MAX_LIST_LIMIT);
    const now = env.clock.now();
    let shards = shardsOf(parts.arn, stream, now);
    const filter = input.ShardFilter;
    if (filter) {
      if (filter.Type === undefined || filter.ShardId === undefined) {
        throw validationError('ShardFilter requires both Type and ShardId');
      }
      // CHILD_SHARDS: the shards whose parent is the one named (with one shard at a time, its successor).
      shards = shards.filter((shard) => shard.parentShardId === filter.ShardId);
    }
    const start = input.ExclusiveStartShardId;
    if (start !== undefined) {
      // A shard id of no shard of this stream starts past the end, as DynamoDB answers it (no error):
      // ScyllaDB's Alternator tests, test_describe_stream_with_nonexistent_last_shard, against DynamoDB.
      const index = shardIndexOf(parts.arn, stream, start);
      shards = index === undefined ? [] : shards.filter((shard) => shard.index > index);
    }
    const limit = input.Limit ?? MAX_LIST_LIMIT;
    const page = shards.slice(0, limit);
    const last = page.at(-1);
    return {
      StreamDescription: {
        StreamArn: parts.arn,
        StreamLabel: stream.StreamLabel,
        StreamStatus: streamStatus(stream, now),
        StreamViewType: stream.StreamViewType,
        CreationRequestDateTime: stream.CreatedAt / 1000,
        TableName: definition.TableName,
        KeySchema: definition.KeySchema,
        Shards: page.map(shardShape),
        ...(shards.length > limit && last ? { LastEvaluatedShardId: last.shardId } : {}),
      },
    };
  },
};
