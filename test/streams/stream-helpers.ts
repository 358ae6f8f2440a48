/** Clients and a reference consumer for the DynamoDB Streams tests. */
import {
  type _Record,
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
} from '@aws-sdk/client-dynamodb-streams';
import type { TestServer } from '../helpers/server.js';

export const HOUR = 60 * 60 * 1000;

export function streamsClient(server: TestServer): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient(server.clientConfig());
}

/** Every shard of a stream, over all DescribeStream pages. */
export async function allShards(streams: DynamoDBStreamsClient, arn: string, limit?: number): Promise<Shard[]> {
  const shards: Shard[] = [];
  let start: string | undefined;
  do {
    const { StreamDescription } = await streams.send(
      new DescribeStreamCommand({ StreamArn: arn, ...(limit ? { Limit: limit } : {}), ExclusiveStartShardId: start }),
    );
    shards.push(...(StreamDescription?.Shards ?? []));
    start = StreamDescription?.LastEvaluatedShardId;
  } while (start);
  return shards;
}

/** Reads one shard from TRIM_HORIZON until it ends (closed) or returns nothing more (open). */
export async function readShard(
  streams: DynamoDBStreamsClient,
  arn: string,
  shardId: string,
  limit?: number,
): Promise<{ records: _Record[]; ended: boolean }> {
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
  );
  let iterator = ShardIterator;
  const records: _Record[] = [];
  while (iterator) {
    const page = await streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, ...(limit ? { Limit: limit } : {}) }),
    );
    records.push(...(page.Records ?? []));
    if (!page.NextShardIterator) return { records, ended: true };
    if ((page.Records ?? []).length === 0) return { records, ended: false };
    iterator = page.NextShardIterator;
  }
  return { records, ended: true };
}

/** A consumer: shards in an order where every parent comes before its children, each read whole. */
export async function readStream(streams: DynamoDBStreamsClient, arn: string, limit?: number): Promise<_Record[]> {
  const shards = await allShards(streams, arn);
  const ids = new Set(shards.map((s) => s.ShardId));
  const done = new Set<string>();
  const records: _Record[] = [];
  while (done.size < shards.length) {
    const ready = shards.filter(
      (s) =>
        !done.has(s.ShardId as string) && (!s.ParentShardId || !ids.has(s.ParentShardId) || done.has(s.ParentShardId)),
    );
    if (ready.length === 0) throw new Error('shard parents form a cycle');
    for (const shard of ready) {
      records.push(...(await readShard(streams, arn, shard.ShardId as string, limit)).records);
      done.add(shard.ShardId as string);
    }
  }
  return records;
}
