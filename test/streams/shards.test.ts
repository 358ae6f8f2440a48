import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import { ManualClock } from '../../src/core/clock.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allShards, HOUR, readShard, readStream, streamsClient } from './stream-helpers.js';

const MINUTE = 60_000;

async function createStreamTable(ddb: DynamoDBClient, name: string): Promise<string> {
  const created = await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    }),
  );
  return created.TableDescription?.LatestStreamArn as string;
}

const put = (ddb: DynamoDBClient, table: string, pk: string) =>
  ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk } } }));

/** Shard rollover, iterators and trimming, all driven by the server's clock. */
describe('stream shards over time', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let arn: string;
  const iterator = async (shardId: string, type: ShardIteratorType, sequence?: string) =>
    (
      await streams.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: shardId,
          ShardIteratorType: type,
          SequenceNumber: sequence,
        }),
      )
    ).ShardIterator as string;
  const keysOf = async (shardIterator: string) =>
    ((await streams.send(new GetRecordsCommand({ ShardIterator: shardIterator }))).Records ?? []).map(
      (r) => r.dynamodb?.Keys?.pk?.S,
    );

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    streams = streamsClient(server);
    arn = await createStreamTable(ddb, 'rolling');
  });
  after(async () => {
    ddb.destroy();
    streams.destroy();
    await server.cleanup();
  });

  it('rolls over every 4 hours into a child shard; a closed shard ends without a next iterator', async () => {
    await put(ddb, 'rolling', 'a');
    server.clock.advance(4 * HOUR + MINUTE);
    await put(ddb, 'rolling', 'b');
    const shards = await allShards(streams, arn);
    assert.equal(shards.length, 2);
    const [parent, child] = shards;
    assert.equal(child?.ParentShardId, parent?.ShardId);
    assert.equal(parent?.ParentShardId, undefined);
    assert.match(parent?.SequenceNumberRange?.EndingSequenceNumber ?? '', /^\d{21}$/);
    assert.equal(child?.SequenceNumberRange?.EndingSequenceNumber, undefined);
    assert.ok(
      (parent?.SequenceNumberRange?.EndingSequenceNumber as string) <
        (child?.SequenceNumberRange?.StartingSequenceNumber as string),
    );
    for (const shard of shards) assert.match(shard.ShardId ?? '', /^shardId-\d{20}-[0-9a-f]{8}$/);

    // Paging and the child-shard filter.
    const first = await streams.send(new DescribeStreamCommand({ StreamArn: arn, Limit: 1 }));
    assert.deepEqual(
      first.StreamDescription?.Shards?.map((s) => s.ShardId),
      [parent?.ShardId],
    );
    assert.equal(first.StreamDescription?.LastEvaluatedShardId, parent?.ShardId);
    const rest = await streams.send(
      new DescribeStreamCommand({ StreamArn: arn, Limit: 1, ExclusiveStartShardId: parent?.ShardId }),
    );
    assert.deepEqual(
      rest.StreamDescription?.Shards?.map((s) => s.ShardId),
      [child?.ShardId],
    );
    assert.equal(rest.StreamDescription?.LastEvaluatedShardId, undefined);
    const children = await streams.send(
      new DescribeStreamCommand({ StreamArn: arn, ShardFilter: { Type: 'CHILD_SHARDS', ShardId: parent?.ShardId } }),
    );
    assert.deepEqual(
      children.StreamDescription?.Shards?.map((s) => s.ShardId),
      [child?.ShardId],
    );

    const closed = await readShard(streams, arn, parent?.ShardId as string);
    assert.deepEqual(
      closed.records.map((r) => r.dynamodb?.Keys?.pk?.S),
      ['a'],
    );
    assert.equal(closed.ended, true);
    const open = await readShard(streams, arn, child?.ShardId as string);
    assert.deepEqual(
      open.records.map((r) => r.dynamodb?.Keys?.pk?.S),
      ['b'],
    );
    assert.equal(open.ended, false);
  });

  it('positions iterators at TRIM_HORIZON, LATEST, AT_ and AFTER_SEQUENCE_NUMBER', async () => {
    const child = (await allShards(streams, arn)).at(-1)?.ShardId as string;
    const latest = await iterator(child, 'LATEST');
    await put(ddb, 'rolling', 'c');
    assert.deepEqual(await keysOf(latest), ['c']);
    const records = (await readShard(streams, arn, child)).records;
    const [b, c] = records.map((r) => r.dynamodb?.SequenceNumber as string);
    assert.deepEqual(await keysOf(await iterator(child, 'TRIM_HORIZON')), ['b', 'c']);
    assert.deepEqual(await keysOf(await iterator(child, 'AT_SEQUENCE_NUMBER', b)), ['b', 'c']);
    assert.deepEqual(await keysOf(await iterator(child, 'AFTER_SEQUENCE_NUMBER', b)), ['c']);
    assert.deepEqual(await keysOf(await iterator(child, 'AFTER_SEQUENCE_NUMBER', c)), []);
    // The shard's own starting sequence number is a valid position even where no record is.
    const start = (await allShards(streams, arn)).at(-1)?.SequenceNumberRange?.StartingSequenceNumber;
    assert.deepEqual(await keysOf(await iterator(child, 'AT_SEQUENCE_NUMBER', start)), ['b', 'c']);
  });

  it('refuses iterators DynamoDB refuses', async () => {
    const [parent, child] = await allShards(streams, arn);
    const childId = child?.ShardId as string;
    await rejectsWith(
      streams.send(
        new GetShardIteratorCommand({ StreamArn: arn, ShardId: childId, ShardIteratorType: 'AT_SEQUENCE_NUMBER' }),
      ),
      'ValidationException',
      'SequenceNumber is required when ShardIteratorType is AT_SEQUENCE_NUMBER',
    );
    await rejectsWith(
      streams.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: childId,
          ShardIteratorType: 'LATEST',
          SequenceNumber: child?.SequenceNumberRange?.StartingSequenceNumber,
        }),
      ),
      'ValidationException',
      'SequenceNumber must not be specified when ShardIteratorType is LATEST',
    );
    await rejectsWith(
      streams.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: childId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: parent?.SequenceNumberRange?.StartingSequenceNumber,
        }),
      ),
      'ValidationException',
      `Invalid SequenceNumber ${parent?.SequenceNumberRange?.StartingSequenceNumber} for ShardId ${childId}`,
    );
    await rejectsWith(
      streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: 'bulle', ShardIteratorType: 'LATEST' })),
      'ValidationException',
      "1 validation error detected: Value 'bulle' at 'shardId' failed to satisfy constraint: Member must have length greater than or equal to 28",
    );
    const missing = 'shardId-00000000000000000001-deadbeef';
    await rejectsWith(
      streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: missing, ShardIteratorType: 'LATEST' })),
      'ResourceNotFoundException',
      `Requested resource not found: Shard does not exist: ${missing}`,
    );
    await rejectsWith(
      streams.send(
        new GetShardIteratorCommand({ StreamArn: `${arn}0`, ShardId: childId, ShardIteratorType: 'LATEST' }),
      ),
      'ValidationException',
      'Invalid StreamArn',
    );
    await rejectsWith(
      streams.send(new GetRecordsCommand({ ShardIterator: 'sdfsdfsgagaddafgagasgasgasdfasdfasdfasdfasdgasdasdgasdg' })),
      'ValidationException',
      'Invalid ShardIterator',
    );
    // An iterator is good for 15 minutes.
    const fresh = await iterator(childId, 'TRIM_HORIZON');
    server.clock.advance(15 * MINUTE + 1);
    await rejectsWith(
      streams.send(new GetRecordsCommand({ ShardIterator: fresh })),
      'ExpiredIteratorException',
      'The provided iterator exceeds the maximum age allowed.',
    );
  });

  it('trims records after 24 hours, refusing positions before the trim horizon, and drops old shards', async () => {
    const [parent, child] = await allShards(streams, arn);
    const parentId = parent?.ShardId as string;
    const a = (await readShard(streams, arn, parentId)).records[0]?.dynamodb?.SequenceNumber as string;
    const b = (await readShard(streams, arn, child?.ShardId as string)).records[0]?.dynamodb?.SequenceNumber as string;
    // Move to 5 minutes before "a" expires; an iterator at "a" taken now meets the trim 10 minutes later.
    const aTime = Number(a.slice(0, 13));
    server.clock.advance(aTime + 24 * HOUR - 5 * MINUTE - server.clock.now());
    const atA = await iterator(parentId, 'AT_SEQUENCE_NUMBER', a);
    server.clock.advance(10 * MINUTE);
    await rejectsWith(
      streams.send(new GetRecordsCommand({ ShardIterator: atA })),
      'TrimmedDataAccessException',
      'The data you are trying to access has been trimmed.',
    );
    await rejectsWith(
      streams.send(
        new GetShardIteratorCommand({
          StreamArn: arn,
          ShardId: parentId,
          ShardIteratorType: 'AT_SEQUENCE_NUMBER',
          SequenceNumber: a,
        }),
      ),
      'TrimmedDataAccessException',
      'The data you are trying to access has been trimmed.',
    );
    // TRIM_HORIZON starts after what is gone: the closed parent has nothing left and ends.
    const parentNow = await readShard(streams, arn, parentId);
    assert.deepEqual(parentNow.records, []);
    assert.equal(parentNow.ended, true);
    assert.deepEqual(
      (await readStream(streams, arn)).map((r) => r.dynamodb?.Keys?.pk?.S),
      ['b', 'c'],
    );

    // The background trim removes the expired record from the table file.
    const trimmedBefore = await trimmedCount(server);
    await server.sweep();
    assert.equal((await trimmedCount(server)) - trimmedBefore, 1);
    await server.sweep();
    assert.equal((await trimmedCount(server)) - trimmedBefore, 1);

    // Once everything the parent could hold is past retention, the parent is gone.
    const parentEnd = Number(parent?.SequenceNumberRange?.EndingSequenceNumber?.slice(0, 13)) + 1;
    assert.ok(Number(b.slice(0, 13)) >= parentEnd);
    server.clock.advance(parentEnd + 24 * HOUR - server.clock.now());
    const shardsNow = await allShards(streams, arn);
    assert.ok(!shardsNow.some((s) => s.ShardId === parentId));
    await rejectsWith(
      streams.send(
        new GetShardIteratorCommand({ StreamArn: arn, ShardId: parentId, ShardIteratorType: 'TRIM_HORIZON' }),
      ),
      'ResourceNotFoundException',
      `Requested resource not found: Shard does not exist: ${parentId}`,
    );
    // Shards keep rolling over: about a day of them at most (every 4 hours, 24 hours kept).
    server.clock.advance(3 * 24 * HOUR);
    const many = await allShards(streams, arn);
    assert.ok(many.length >= 6 && many.length <= 8, String(many.length));
    for (const [i, shard] of many.entries()) if (i > 0) assert.equal(shard.ParentShardId, many[i - 1]?.ShardId);
  });
});

async function trimmedCount(server: TestServer): Promise<number> {
  const text = await (await fetch(`${server.endpoint}/metrics`)).text();
  return Number(
    text
      .split('\n')
      .find((l) => l.startsWith('sealdb_stream_records_trimmed_total '))
      ?.split(' ')[1],
  );
}

describe('stream sequence numbers across restarts', () => {
  it('keep increasing after a restart, even with the clock set back', async () => {
    const clock = new ManualClock();
    const first = await startTestServer({ clock });
    const ddb = new DynamoDBClient(first.clientConfig());
    const arn = await createStreamTable(ddb, 'restarted');
    for (const pk of ['x1', 'x2']) await put(ddb, 'restarted', pk);
    ddb.destroy();
    await first.close();
    clock.advance(-10 * MINUTE);
    const second = await startTestServer({ clock, scratch: first.scratch });
    try {
      const again = new DynamoDBClient(second.clientConfig());
      const streams = streamsClient(second);
      await put(again, 'restarted', 'y1');
      const records = await readStream(streams, arn);
      assert.deepEqual(
        records.map((r) => r.dynamodb?.Keys?.pk?.S),
        ['x1', 'x2', 'y1'],
      );
      const sequences = records.map((r) => r.dynamodb?.SequenceNumber as string);
      assert.ok((sequences[1] as string) < (sequences[2] as string), sequences.join(' '));
      again.destroy();
      streams.destroy();
    } finally {
      await second.cleanup();
    }
  });
});
