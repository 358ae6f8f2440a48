import type { Operation } from '../../dynamodb/operation.js';
import { PartlySerialized } from '../../http/service.js';
import { ITERATOR_TTL_MS } from '../definition.js';
import { expiredIterator, trimmedData } from '../errors.js';
import { decodeIterator, encodeIterator } from '../iterator.js';
import { checkLimit, MAX_RECORDS_BYTES, MAX_RECORDS_LIMIT } from '../limits.js';
import { openStream } from '../lookup.js';
import { streamCounts } from '../metrics.js';
import { recordJson } from '../record-codec.js';
import { msAt, sequenceAt, shardRecords } from '../record-store.js';
import { formatSequence, nextSequence, parseSequence, shardAt, trimHorizon } from '../shards.js';

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']');
const EMPTY = Buffer.alloc(0);

export interface GetRecordsInput {
  ShardIterator: string;
  Limit?: number;
}

export const getRecords: Operation<GetRecordsInput> = {
  name: 'GetRecords',
  async execute({ input, ctx, env }) {
    checkLimit(input.Limit, MAX_RECORDS_LIMIT);
    const position = decodeIterator(input.ShardIterator);
    const now = env.clock.now();
    if (now - position.issuedAt > ITERATOR_TTL_MS) throw expiredIterator();
    const { parts, stream, table } = await openStream(env, ctx, position.streamArn);
    const shard = shardAt(parts.arn, stream, position.shard, now);
    // A shard that is gone held only records past retention.
    if (!shard) throw trimmedData();
    const horizon = trimHorizon(now);
    let from = position.from;
    if (from === 'horizon') {
      from = formatSequence(Math.max(shard.startMs, horizon), 0);
    } else if ((parseSequence(from)?.ms ?? 0) < horizon) {
      // The records this iterator would read next have been trimmed since it was handed out.
      throw trimmedData();
    }
    const limit = input.Limit ?? MAX_RECORDS_LIMIT;
    const bodies: Buffer[] = [];
    let bytes = 0;
    let last: string | undefined;
    let more = false;
    let lastPosition: number | undefined;
    for (const record of shardRecords(table.store, stream, shard.index, from)) {
      const body = recordJson(record.body, {
        region: parts.region,
        viewType: stream.StreamViewType,
        sequence: sequenceAt(stream, record.position),
        ms: msAt(stream, record.position),
      });
      const size = body.length;
      if (bodies.length >= limit || (bodies.length > 0 && bytes + size > MAX_RECORDS_BYTES)) {
        more = true;
        break;
      }
      bodies.push(body);
      bytes += size;
      lastPosition = record.position;
    }
    if (lastPosition !== undefined) last = sequenceAt(stream, lastPosition);
    streamCounts.read += bodies.length;
    const next = last === undefined ? from : nextSequence(last);
    // A closed shard read to its end has no next iterator: the consumer moves on to its children.
    const ended = shard.closed && !more;
    // One decode of the whole array, not one string per record.
    const chunks: Buffer[] = [OPEN];
    for (let i = 0; i < bodies.length; i++) chunks.push(i === 0 ? EMPTY : COMMA, bodies[i] as Buffer);
    chunks.push(CLOSE);
    const records = Buffer.concat(chunks).toString('utf8');
    return new PartlySerialized(
      { Records: records },
      ended
        ? {}
        : {
            NextShardIterator: encodeIterator({ streamArn: parts.arn, shard: shard.index, from: next, issuedAt: now }),
          },
    );
  },
};
