import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  type _Record,
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { ManualClock } from '../../src/core/clock.js';
import type { Item } from '../../src/dynamodb/attribute-value.js';
import { DerivingStore } from '../../src/dynamodb/item-changes/deriving-store.js';
import { writingAs } from '../../src/dynamodb/item-changes/write-origin.js';
import { toStored } from '../../src/dynamodb/item-codec.js';
import { keyAttributes } from '../../src/dynamodb/table-schema.js';
import { TableFile } from '../../src/storage/table-file.js';
import type { TableStreams } from '../../src/streams/definition.js';
import { streamDeriver } from '../../src/streams/deriver.js';
import { recordJson } from '../../src/streams/record-codec.js';
import { msAt, sequenceAt, shardRecords } from '../../src/streams/record-store.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { readStream, streamsClient } from './stream-helpers.js';

type View = 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';

const summary = (records: readonly _Record[]) =>
  records.map((r) => [r.eventName, r.dynamodb?.Keys?.pk?.S, r.dynamodb?.NewImage?.v?.N, r.dynamodb?.OldImage?.v?.N]);

/** Which item changes make stream records, and what the records hold. */
describe('stream records', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  const arns = new Map<string, string>();

  async function table(name: string, view: View): Promise<string> {
    const created = await ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: view },
      }),
    );
    const arn = created.TableDescription?.LatestStreamArn as string;
    arns.set(name, arn);
    return arn;
  }

  async function writeLifecycle(name: string): Promise<void> {
    await ddb.send(new PutItemCommand({ TableName: name, Item: { pk: { S: 'a' }, v: { N: '1' } } }));
    await ddb.send(
      new UpdateItemCommand({
        TableName: name,
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': { N: '2' } },
      }),
    );
    await ddb.send(new DeleteItemCommand({ TableName: name, Key: { pk: { S: 'a' } } }));
  }

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    streams = streamsClient(server);
  });
  after(async () => {
    ddb.destroy();
    streams.destroy();
    await server.cleanup();
  });

  it('each view type carries the images it names, with DynamoDB record fields', async () => {
    const expected: Record<View, unknown[]> = {
      KEYS_ONLY: [
        ['INSERT', 'a', undefined, undefined],
        ['MODIFY', 'a', undefined, undefined],
        ['REMOVE', 'a', undefined, undefined],
      ],
      NEW_IMAGE: [
        ['INSERT', 'a', '1', undefined],
        ['MODIFY', 'a', '2', undefined],
        ['REMOVE', 'a', undefined, undefined],
      ],
      OLD_IMAGE: [
        ['INSERT', 'a', undefined, undefined],
        ['MODIFY', 'a', undefined, '1'],
        ['REMOVE', 'a', undefined, '2'],
      ],
      NEW_AND_OLD_IMAGES: [
        ['INSERT', 'a', '1', undefined],
        ['MODIFY', 'a', '2', '1'],
        ['REMOVE', 'a', undefined, '2'],
      ],
    };
    for (const view of Object.keys(expected) as View[]) {
      const name = `lifecycle-${view.toLowerCase()}`;
      const arn = await table(name, view);
      const before = Date.now();
      await writeLifecycle(name);
      const records = await readStream(streams, arn);
      assert.deepEqual(summary(records), expected[view], view);
      const sequences = records.map((r) => r.dynamodb?.SequenceNumber as string);
      assert.deepEqual([...sequences].sort(), sequences, 'sequence numbers increase');
      assert.equal(new Set(sequences).size, 3);
      for (const record of records) {
        assert.match(record.eventID ?? '', /^[0-9a-f]{32}$/);
        assert.equal(record.eventVersion, '1.1');
        assert.equal(record.eventSource, 'aws:dynamodb');
        assert.equal(record.awsRegion, 'us-east-1');
        assert.equal(record.userIdentity, undefined);
        assert.equal(record.dynamodb?.StreamViewType, view);
        assert.match(record.dynamodb?.SequenceNumber ?? '', /^\d{21}$/);
        assert.deepEqual(record.dynamodb?.Keys, { pk: { S: 'a' } });
        const created = record.dynamodb?.ApproximateCreationDateTime?.getTime() ?? 0;
        assert.ok(created >= Math.floor(before / 1000) * 1000 - 1000 && created <= Date.now() + 1000);
      }
      // Keys (pk "a": 3 bytes), plus each image included (pk "a" and v: 6 bytes).
      const images = {
        KEYS_ONLY: [0, 0, 0],
        NEW_IMAGE: [6, 6, 0],
        OLD_IMAGE: [0, 6, 6],
        NEW_AND_OLD_IMAGES: [6, 12, 6],
      };
      assert.deepEqual(
        records.map((r) => r.dynamodb?.SizeBytes),
        images[view].map((n) => 3 + n),
        view,
      );
    }
  });

  it('writes that leave the item as it was make no record; failed conditions make none', async () => {
    const arn = await table('noops', 'NEW_AND_OLD_IMAGES');
    await ddb.send(
      new PutItemCommand({ TableName: 'noops', Item: { pk: { S: 'a' }, v: { N: '1' }, s: { SS: ['x', 'y'] } } }),
    );
    // The same data: attributes in another order, a set in another order, a number spelled otherwise.
    await ddb.send(
      new PutItemCommand({ TableName: 'noops', Item: { s: { SS: ['y', 'x'] }, v: { N: '1.0' }, pk: { S: 'a' } } }),
    );
    await ddb.send(
      new UpdateItemCommand({
        TableName: 'noops',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': { N: '1' } },
      }),
    );
    await ddb.send(new DeleteItemCommand({ TableName: 'noops', Key: { pk: { S: 'never-there' } } }));
    await rejectsWith(
      ddb.send(
        new PutItemCommand({
          TableName: 'noops',
          Item: { pk: { S: 'a' }, v: { N: '9' } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
      'ConditionalCheckFailedException',
    );
    await rejectsWith(
      ddb.send(
        new DeleteItemCommand({
          TableName: 'noops',
          Key: { pk: { S: 'a' } },
          ConditionExpression: 'v = :two',
          ExpressionAttributeValues: { ':two': { N: '2' } },
        }),
      ),
      'ConditionalCheckFailedException',
    );
    await ddb.send(
      new UpdateItemCommand({
        TableName: 'noops',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET v = :v',
        ExpressionAttributeValues: { ':v': { N: '3' } },
      }),
    );
    assert.deepEqual(summary(await readStream(streams, arn)), [
      ['INSERT', 'a', '1', undefined],
      ['MODIFY', 'a', '3', '1'],
    ]);
  });

  it('transactions and batch writes make one record per item change, and a cancelled transaction none', async () => {
    const one = await table('tx-one', 'NEW_AND_OLD_IMAGES');
    const two = await table('tx-two', 'KEYS_ONLY');
    await ddb.send(new PutItemCommand({ TableName: 'tx-one', Item: { pk: { S: 'u' }, v: { N: '1' } } }));
    await ddb.send(new PutItemCommand({ TableName: 'tx-one', Item: { pk: { S: 'd' }, v: { N: '1' } } }));
    await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: 'tx-one', Item: { pk: { S: 'p' }, v: { N: '5' } } } },
          {
            Update: {
              TableName: 'tx-one',
              Key: { pk: { S: 'u' } },
              UpdateExpression: 'SET v = :v',
              ExpressionAttributeValues: { ':v': { N: '2' } },
            },
          },
          { Delete: { TableName: 'tx-one', Key: { pk: { S: 'd' } } } },
          { Put: { TableName: 'tx-two', Item: { pk: { S: 'other' } } } },
          {
            ConditionCheck: {
              TableName: 'tx-two',
              Key: { pk: { S: 'nothing' } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    await rejectsWith(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'tx-one', Item: { pk: { S: 'cancelled' } } } },
            { Put: { TableName: 'tx-two', Item: { pk: { S: 'cancelled' } } } },
            {
              ConditionCheck: {
                TableName: 'tx-one',
                Key: { pk: { S: 'p' } },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      ),
      'TransactionCanceledException',
    );
    await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          'tx-one': [
            { PutRequest: { Item: { pk: { S: 'b1' }, v: { N: '1' } } } },
            { PutRequest: { Item: { pk: { S: 'b2' }, v: { N: '2' } } } },
            { DeleteRequest: { Key: { pk: { S: 'p' } } } },
          ],
          'tx-two': [{ DeleteRequest: { Key: { pk: { S: 'other' } } } }],
        },
      }),
    );
    const first = summary(await readStream(streams, one));
    assert.deepEqual(first.slice(0, 2), [
      ['INSERT', 'u', '1', undefined],
      ['INSERT', 'd', '1', undefined],
    ]);
    // Within one transaction or batch the order between items is not DynamoDB's to promise; each appears once.
    const sort = (rows: unknown[][]) => [...rows].sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    assert.deepEqual(sort(first.slice(2, 5)), [
      ['REMOVE', 'd', undefined, '1'],
      ['INSERT', 'p', '5', undefined],
      ['MODIFY', 'u', '2', '1'],
    ]);
    assert.deepEqual(sort(first.slice(5)), [
      ['INSERT', 'b1', '1', undefined],
      ['INSERT', 'b2', '2', undefined],
      ['REMOVE', 'p', undefined, '5'],
    ]);
    assert.deepEqual(summary(await readStream(streams, two)), [
      ['INSERT', 'other', undefined, undefined],
      ['REMOVE', 'other', undefined, undefined],
    ]);
  });

  it('GetRecords pages by Limit and stops before 1 MB', async () => {
    const arn = await table('pages', 'NEW_IMAGE');
    for (let i = 0; i < 5; i++) {
      await ddb.send(new PutItemCommand({ TableName: 'pages', Item: { pk: { S: `k${i}` }, v: { N: String(i) } } }));
    }
    const shard = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards?.[0];
    let iterator = (
      await streams.send(
        new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard?.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
      )
    ).ShardIterator;
    const sizes: number[] = [];
    for (let page = 0; page < 4; page++) {
      const result = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 2 }));
      sizes.push(result.Records?.length ?? 0);
      assert.ok(result.NextShardIterator, 'an open shard always has a next iterator');
      iterator = result.NextShardIterator;
    }
    assert.deepEqual(sizes, [2, 2, 1, 0]);
    await rejectsWith(
      streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1001 })),
      'ValidationException',
      "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000",
    );

    const bigArn = await table('big', 'NEW_IMAGE');
    const blob = 'x'.repeat(300 * 1024);
    for (let i = 0; i < 4; i++) {
      await ddb.send(new PutItemCommand({ TableName: 'big', Item: { pk: { S: `b${i}` }, blob: { S: blob } } }));
    }
    const bigShard = (await streams.send(new DescribeStreamCommand({ StreamArn: bigArn }))).StreamDescription
      ?.Shards?.[0];
    const start = await streams.send(
      new GetShardIteratorCommand({ StreamArn: bigArn, ShardId: bigShard?.ShardId, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    const firstPage = await streams.send(new GetRecordsCommand({ ShardIterator: start.ShardIterator }));
    assert.equal(firstPage.Records?.length, 3);
    const secondPage = await streams.send(new GetRecordsCommand({ ShardIterator: firstPage.NextShardIterator }));
    assert.deepEqual(
      secondPage.Records?.map((r) => r.dynamodb?.Keys?.pk?.S),
      ['b3'],
    );
  });

  it('counts records written and read in /metrics', async () => {
    const text = await (await fetch(`${server.endpoint}/metrics`)).text();
    const value = (name: string) =>
      Number(
        text
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')[1],
      );
    assert.ok(value('sealdb_stream_records_total') >= 30, text);
    assert.ok(value('sealdb_stream_records_read_total') >= 30);
    assert.equal(value('sealdb_stream_records_trimmed_total'), 0);
  });

  it('a table that never had a stream keeps a plain store (no deriver)', async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'nostream',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const table = (await ddb.send(new DescribeTableCommand({ TableName: 'nostream' }))).Table;
    assert.equal(table?.LatestStreamArn, undefined);
    assert.equal(streamDeriver({}, TableFile.open(':memory:', randomBytes(32)), KEYS, new ManualClock()), undefined);
  });
});

const KEYS = keyAttributes([{ AttributeName: 'pk', KeyType: 'HASH' }], [{ AttributeName: 'pk', AttributeType: 'S' }]);

describe('stream records of DynamoDB’s own deletes', () => {
  it('a delete made as TTL carries the service identity; a client’s does not', () => {
    const clock = new ManualClock();
    const file = TableFile.open(':memory:', randomBytes(32));
    const table: TableStreams = {
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      Streams: [{ StreamLabel: 'label', StreamViewType: 'NEW_AND_OLD_IMAGES', Space: 7, CreatedAt: clock.now() }],
    };
    const stream = (table.Streams ?? [])[0];
    const deriver = streamDeriver(table, file, KEYS, clock);
    assert.ok(deriver && stream);
    const store = new DerivingStore(file, [deriver]);
    const item = (pk: string): Item => ({ pk: { S: pk }, ttl: { N: '1' } });
    const expiring = toStored(item('expires'), KEYS);
    const removed = toStored(item('removed'), KEYS);
    store.put(expiring);
    store.put(removed);
    writingAs({ kind: 'ttl' }, () => store.delete(expiring.hash, expiring.pk, expiring.sk));
    store.delete(removed.hash, removed.pk, removed.sk);
    // The region, like the rest of the envelope, is put around the stored record when it is read.
    const context = (position: number) => ({
      region: 'eu-west-1',
      viewType: stream.StreamViewType,
      sequence: sequenceAt(stream, position),
      ms: msAt(stream, position),
    });
    const records = [...shardRecords(file, stream, 0, undefined)].map(
      (entry) =>
        JSON.parse(recordJson(entry.body, context(entry.position)).toString('utf8')) as {
          eventName: string;
          userIdentity?: unknown;
          awsRegion: string;
        },
    );
    assert.deepEqual(
      records.map((r) => [r.eventName, r.userIdentity, r.awsRegion]),
      [
        ['INSERT', undefined, 'eu-west-1'],
        ['INSERT', undefined, 'eu-west-1'],
        ['REMOVE', { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' }, 'eu-west-1'],
        ['REMOVE', undefined, 'eu-west-1'],
      ],
    );
    file.close();
  });
});
