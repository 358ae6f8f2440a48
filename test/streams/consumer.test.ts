import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allShards, HOUR, readStream, streamsClient } from './stream-helpers.js';

type Item = Record<string, AttributeValue>;

/** A small deterministic PRNG (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const keyOf = (item: Item) => `${item.pk?.S}|${item.sk?.N}`;
/** Attribute order does not matter; JSON with sorted names compares items as data. */
const canonical = (item: Item | undefined) =>
  item === undefined
    ? undefined
    : JSON.stringify(Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))));

/** A consumer that reads the stream shard by shard rebuilds the table exactly. */
describe('stream consumer', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;

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

  it('rebuilds the final state of the table from the records, parents before children', async () => {
    const created = await ddb.send(
      new CreateTableCommand({
        TableName: 'ledger',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    const arn = created.TableDescription?.LatestStreamArn as string;
    const next = random(14);
    const pick = (n: number) => Math.floor(next() * n);
    const key = () => ({ pk: { S: `p${pick(4)}` }, sk: { N: String(pick(6)) } });
    let writes = 0;
    // About 20 hours of traffic: several shard rollovers, nothing yet past the 24-hour retention.
    for (let round = 0; round < 12; round++) {
      for (let step = 0; step < 12; step++) {
        const choice = pick(7);
        try {
          if (choice === 0) {
            await ddb.send(
              new PutItemCommand({ TableName: 'ledger', Item: { ...key(), v: { N: String(pick(100)) } } }),
            );
          } else if (choice === 1) {
            await ddb.send(
              new UpdateItemCommand({
                TableName: 'ledger',
                Key: key(),
                UpdateExpression: 'ADD n :one SET tag = :tag',
                ExpressionAttributeValues: { ':one': { N: '1' }, ':tag': { S: `t${pick(3)}` } },
              }),
            );
          } else if (choice === 2) {
            await ddb.send(new DeleteItemCommand({ TableName: 'ledger', Key: key() }));
          } else if (choice === 3) {
            // Conditional: fails about half the time (and then writes nothing).
            await ddb.send(
              new PutItemCommand({
                TableName: 'ledger',
                Item: { ...key(), v: { N: '-1' } },
                ConditionExpression: 'attribute_not_exists(pk)',
              }),
            );
          } else if (choice === 4) {
            const keys = new Map<string, Item>();
            for (let i = 0; i < 3; i++) {
              const k = key();
              keys.set(keyOf(k), k);
            }
            await ddb.send(
              new BatchWriteItemCommand({
                RequestItems: {
                  ledger: [...keys.values()].map((k, i) =>
                    i === 0
                      ? { DeleteRequest: { Key: k } }
                      : { PutRequest: { Item: { ...k, b: { S: `batch${round}` } } } },
                  ),
                },
              }),
            );
          } else {
            const keys = new Map<string, Item>();
            for (let i = 0; i < 3; i++) {
              const k = key();
              keys.set(keyOf(k), k);
            }
            const [first, ...rest] = [...keys.values()];
            await ddb.send(
              new TransactWriteItemsCommand({
                TransactItems: [
                  {
                    Update: {
                      TableName: 'ledger',
                      Key: first as Item,
                      UpdateExpression: 'SET t = :t',
                      ConditionExpression: choice === 6 ? 'attribute_exists(pk)' : undefined,
                      ExpressionAttributeValues: { ':t': { N: String(round) } },
                    },
                  },
                  ...rest.map((k) => ({ Put: { TableName: 'ledger', Item: { ...k, tx: { N: String(step) } } } })),
                ],
              }),
            );
          }
          writes++;
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException || error instanceof TransactionCanceledException))
            throw error;
        }
      }
      server.clock.advance(Math.floor(next() * 3 * HOUR));
    }
    assert.ok(writes > 100);
    const shards = await allShards(streams, arn);
    assert.ok(shards.length >= 4, `${shards.length} shards`);

    const records = await readStream(streams, arn, 7);
    const rebuilt = new Map<string, Item>();
    for (const record of records) {
      const keys = record.dynamodb?.Keys as Item;
      const id = keyOf(keys);
      // Per item, records come in commit order: each one's old image is what the one before left.
      assert.equal(
        canonical(record.dynamodb?.OldImage as Item | undefined),
        canonical(rebuilt.get(id)),
        `${record.eventName} ${id}`,
      );
      assert.equal(
        record.eventName,
        !record.dynamodb?.OldImage ? 'INSERT' : !record.dynamodb?.NewImage ? 'REMOVE' : 'MODIFY',
      );
      if (record.eventName === 'REMOVE') rebuilt.delete(id);
      else rebuilt.set(id, record.dynamodb?.NewImage as Item);
    }
    const scanned = (await ddb.send(new ScanCommand({ TableName: 'ledger' }))).Items ?? [];
    assert.ok(scanned.length > 0);
    assert.deepEqual(
      new Map([...rebuilt].map(([k, v]) => [k, canonical(v)])),
      new Map(scanned.map((item) => [keyOf(item as Item), canonical(item as Item)])),
    );
    const sequences = records.map((r) => r.dynamodb?.SequenceNumber as string);
    assert.equal(new Set(sequences).size, sequences.length, 'sequence numbers are unique');
  });
});
