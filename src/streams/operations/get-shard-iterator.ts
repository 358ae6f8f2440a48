import type { Operation } from '../../dynamodb/operation.js';
import { shardNotFound, trimmedData, validationError } from '../errors.js';
import { encodeIterator } from '../iterator.js';
import { openStream } from '../lookup.js';
import { lastRecordOf } from '../record-store.js';
import { nextSequence, parseSequence, shardAt, shardIndexOf, trimHorizon } from '../shards.js';

export interface GetShardIteratorInput {
  StreamArn: string;
  ShardId: string;
  ShardIteratorType: 'TRIM_HORIZON' | 'LATEST' | 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER';
  SequenceNumber?: string;
}

export const getShardIterator: Operation<GetShardIteratorInput> = {
  name: 'GetShardIterator',
  async execute({ input, ctx, env }) {
    const type = input.ShardIteratorType;
    const bySequence = type === 'AT_SEQUENCE_NUMBER' || type === 'AFTER_SEQUENCE_NUMBER';
    // The pairing of type and sequence number is the request's own mistake, refused before anything is looked up.
    if (bySequence && input.SequenceNumber === undefined) {
      throw validationError(`SequenceNumber is required when ShardIteratorType is ${type}`);
    }
    if (!bySequence && input.SequenceNumber !== undefined) {
      throw validationError(`SequenceNumber must not be specified when ShardIteratorType is ${type}`);
    }
    const { parts, stream, table } = await openStream(env, ctx, input.StreamArn);
    const now = env.clock.now();
    const index = shardIndexOf(parts.arn, stream, input.ShardId);
    const shard = index === undefined ? undefined : shardAt(parts.arn, stream, index, now);
    if (!shard) throw shardNotFound(input.ShardId);
    let from: string | 'horizon';
    if (type === 'TRIM_HORIZON') {
      from = 'horizon';
    } else if (type === 'LATEST') {
      // Just after the newest record: whatever is written from now on, nothing before.
      const last = lastRecordOf(table.store, stream, shard.index);
      from = last === undefined ? shard.startingSequenceNumber : nextSequence(last);
    } else {
      const sequence = input.SequenceNumber as string;
      const position = parseSequence(sequence);
      if (!position || position.ms < shard.startMs || position.ms >= shard.endMs) {
        throw validationError(`Invalid SequenceNumber ${sequence} for ShardId ${shard.shardId}`);
      }
      // Before the trim horizon: those records are gone (API reference, TrimmedDataAccessException).
      if (position.ms < trimHorizon(now)) throw trimmedData();
      from = type === 'AT_SEQUENCE_NUMBER' ? sequence : nextSequence(sequence);
    }
    return {
      ShardIterator: encodeIterator({ streamArn: parts.arn, shard: shard.index, from, issuedAt: now }),
    };
  },
};
