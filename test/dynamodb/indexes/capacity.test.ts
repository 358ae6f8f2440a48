import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createOrders, createPlain, type Item, n, s } from './fixtures.js';

const w = (units: number) => ({ CapacityUnits: units, WriteCapacityUnits: units });

/** An order in every index of Orders: the LSI (amount), byStatus, statusOnly and byRegion. */
const order = (extra: Item = {}): Item => ({
  pk: s('a'),
  sk: s('1'),
  status: s('open'),
  amount: n(5),
  region: s('eu'),
  city: s('paris'),
  day: n(1),
  label: s('x'),
  ...extra,
});

describe('ReturnConsumedCapacity of writes to tables with indexes', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await createOrders(ddb);
    await createPlain(ddb);
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const put = (Item: Item) =>
    ddb.send(new PutItemCommand({ TableName: 'Orders', Item, ReturnConsumedCapacity: 'INDEXES' }));

  it('a new item costs one write in each index it enters; an identical overwrite costs the indexes nothing', async () => {
    const first = await put(order());
    assert.deepEqual(first.ConsumedCapacity, {
      TableName: 'Orders',
      ...w(5),
      Table: w(1),
      LocalSecondaryIndexes: { byTotal: w(1) },
      GlobalSecondaryIndexes: { byStatus: w(1), statusOnly: w(1), byRegion: w(1) },
    });
    const again = await put(order());
    assert.deepEqual(again.ConsumedCapacity, { TableName: 'Orders', ...w(1), Table: w(1) });
  });

  it('a change outside an index projection costs that index nothing; a key change costs a delete and a put', async () => {
    const outside = await ddb.send(
      new UpdateItemCommand({
        TableName: 'Orders',
        Key: { pk: s('a'), sk: s('1') },
        UpdateExpression: 'SET secret = :x',
        ExpressionAttributeValues: { ':x': s('hidden') },
        ReturnConsumedCapacity: 'INDEXES',
      }),
    );
    // Only byRegion projects ALL.
    assert.deepEqual(outside.ConsumedCapacity, {
      TableName: 'Orders',
      ...w(2),
      Table: w(1),
      GlobalSecondaryIndexes: { byRegion: w(1) },
    });
    const moved = await ddb.send(
      new UpdateItemCommand({
        TableName: 'Orders',
        Key: { pk: s('a'), sk: s('1') },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': s('closed') },
        ReturnConsumedCapacity: 'INDEXES',
      }),
    );
    assert.deepEqual(moved.ConsumedCapacity, {
      TableName: 'Orders',
      ...w(6),
      Table: w(1),
      GlobalSecondaryIndexes: { byStatus: w(2), statusOnly: w(2), byRegion: w(1) },
    });
    const total = await ddb.send(
      new UpdateItemCommand({
        TableName: 'Orders',
        Key: { pk: s('a'), sk: s('1') },
        UpdateExpression: 'REMOVE #s',
        ExpressionAttributeNames: { '#s': 'status' },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    // Leaving two indexes (1 each) and rewriting byRegion (1), beside the table's 1.
    assert.deepEqual(total.ConsumedCapacity, { TableName: 'Orders', ...w(4) });
  });

  it('index units follow the projected entry size, the larger image for a rewrite', async () => {
    const big = await put(order({ sk: s('big'), note: s('n'.repeat(3000)) }));
    // byStatus projects note (3 KB); statusOnly and the LSI hold keys only; byRegion all (3 KB).
    assert.deepEqual(big.ConsumedCapacity, {
      TableName: 'Orders',
      ...w(3 + 1 + 3 + 1 + 3),
      Table: w(3),
      LocalSecondaryIndexes: { byTotal: w(1) },
      GlobalSecondaryIndexes: { byStatus: w(3), statusOnly: w(1), byRegion: w(3) },
    });
    const shrunk = await put(order({ sk: s('big'), note: s('n') }));
    assert.deepEqual(shrunk.ConsumedCapacity, {
      TableName: 'Orders',
      ...w(9),
      Table: w(3),
      GlobalSecondaryIndexes: { byStatus: w(3), byRegion: w(3) },
    });
    const deleted = await ddb.send(
      new DeleteItemCommand({
        TableName: 'Orders',
        Key: { pk: s('a'), sk: s('big') },
        ReturnConsumedCapacity: 'INDEXES',
      }),
    );
    assert.deepEqual(deleted.ConsumedCapacity, {
      TableName: 'Orders',
      ...w(5),
      Table: w(1),
      LocalSecondaryIndexes: { byTotal: w(1) },
      GlobalSecondaryIndexes: { byStatus: w(1), statusOnly: w(1), byRegion: w(1) },
    });
    const missing = await ddb.send(
      new DeleteItemCommand({
        TableName: 'Orders',
        Key: { pk: s('a'), sk: s('none') },
        ReturnConsumedCapacity: 'INDEXES',
      }),
    );
    assert.deepEqual(missing.ConsumedCapacity, { TableName: 'Orders', ...w(1), Table: w(1) });
  });

  it('BatchWriteItem sums per table; TransactWriteItems doubles the table and index units', async () => {
    const batch = await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          Orders: [
            { PutRequest: { Item: order({ sk: s('b1') }) } },
            { PutRequest: { Item: { pk: s('a'), sk: s('b2'), amount: n(1) } } },
          ],
          Plain: [{ PutRequest: { Item: { pk: s('p') } } }],
        },
        ReturnConsumedCapacity: 'INDEXES',
      }),
    );
    assert.deepEqual(batch.ConsumedCapacity, [
      {
        TableName: 'Orders',
        ...w(7),
        Table: w(2),
        LocalSecondaryIndexes: { byTotal: w(2) },
        GlobalSecondaryIndexes: { byStatus: w(1), statusOnly: w(1), byRegion: w(1) },
      },
      { TableName: 'Plain', ...w(1), Table: w(1) },
    ]);
    const transaction = await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: 'Orders', Item: order({ sk: s('t1') }) } },
          { Delete: { TableName: 'Orders', Key: { pk: s('a'), sk: s('b2') } } },
          { Put: { TableName: 'Plain', Item: { pk: s('q') } } },
        ],
        ReturnConsumedCapacity: 'INDEXES',
      }),
    );
    assert.deepEqual(transaction.ConsumedCapacity, [
      {
        TableName: 'Orders',
        ...w(14),
        Table: w(4),
        LocalSecondaryIndexes: { byTotal: w(4) },
        GlobalSecondaryIndexes: { byStatus: w(2), statusOnly: w(2), byRegion: w(2) },
      },
      { TableName: 'Plain', ...w(2), Table: w(2) },
    ]);
    const total = await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [{ Put: { TableName: 'Orders', Item: order({ sk: s('t2') }) } }],
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    assert.deepEqual(total.ConsumedCapacity, [{ TableName: 'Orders', ...w(10) }]);
  });

  it('a table without indexes reports only its own units', async () => {
    const plain = await ddb.send(
      new PutItemCommand({ TableName: 'Plain', Item: { pk: s('z') }, ReturnConsumedCapacity: 'INDEXES' }),
    );
    assert.deepEqual(plain.ConsumedCapacity, { TableName: 'Plain', ...w(1), Table: w(1) });
  });
});
