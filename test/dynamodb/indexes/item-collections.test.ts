import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createOrders, createPlain, type Item, n, s } from './fixtures.js';

/** Low enough that a few kilobytes fill a collection (DynamoDB: 10 GB). */
const LIMIT = 4000;
const SMALL = [0, 1];

describe('item collections of tables with LSIs', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true, itemCollectionLimitBytes: LIMIT });
    ddb = new DynamoDBClient(server.clientConfig());
    await createOrders(ddb);
    await createPlain(ddb);
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const get = async (pk: string, sk: string) =>
    (await ddb.send(new GetItemCommand({ TableName: 'Orders', Key: { pk: s(pk), sk: s(sk) } }))).Item;
  const blob = (size: number) => s('x'.repeat(size));

  it('ReturnItemCollectionMetrics SIZE names the collection and estimates its size, only with LSIs', async () => {
    const put = await ddb.send(
      new PutItemCommand({
        TableName: 'Orders',
        Item: { pk: s('m'), sk: s('1'), amount: n(1) },
        ReturnItemCollectionMetrics: 'SIZE',
      }),
    );
    assert.deepEqual(put.ItemCollectionMetrics, { ItemCollectionKey: { pk: s('m') }, SizeEstimateRangeGB: SMALL });
    const update = await ddb.send(
      new UpdateItemCommand({
        TableName: 'Orders',
        Key: { pk: s('m'), sk: s('2') },
        UpdateExpression: 'SET amount = :a',
        ExpressionAttributeValues: { ':a': n(2) },
        ReturnItemCollectionMetrics: 'SIZE',
      }),
    );
    assert.deepEqual(update.ItemCollectionMetrics, { ItemCollectionKey: { pk: s('m') }, SizeEstimateRangeGB: SMALL });
    const deleted = await ddb.send(
      new DeleteItemCommand({
        TableName: 'Orders',
        Key: { pk: s('m'), sk: s('2') },
        ReturnItemCollectionMetrics: 'SIZE',
      }),
    );
    assert.deepEqual(deleted.ItemCollectionMetrics, { ItemCollectionKey: { pk: s('m') }, SizeEstimateRangeGB: SMALL });
    const none = await ddb.send(
      new PutItemCommand({
        TableName: 'Orders',
        Item: { pk: s('m'), sk: s('3') },
        ReturnItemCollectionMetrics: 'NONE',
      }),
    );
    assert.equal(none.ItemCollectionMetrics, undefined);
    const plain = await ddb.send(
      new PutItemCommand({ TableName: 'Plain', Item: { pk: s('m') }, ReturnItemCollectionMetrics: 'SIZE' }),
    );
    assert.equal(plain.ItemCollectionMetrics, undefined);
  });

  it('BatchWriteItem and TransactWriteItems report each collection they wrote, per table', async () => {
    const batch = await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          Orders: [
            { PutRequest: { Item: { pk: s('b1'), sk: s('1') } } },
            { PutRequest: { Item: { pk: s('b1'), sk: s('2') } } },
            { DeleteRequest: { Key: { pk: s('b2'), sk: s('1') } } },
          ],
          Plain: [{ PutRequest: { Item: { pk: s('b') } } }],
        },
        ReturnItemCollectionMetrics: 'SIZE',
      }),
    );
    assert.deepEqual(batch.ItemCollectionMetrics, {
      Orders: [
        { ItemCollectionKey: { pk: s('b1') }, SizeEstimateRangeGB: SMALL },
        { ItemCollectionKey: { pk: s('b2') }, SizeEstimateRangeGB: SMALL },
      ],
    });
    const transaction = await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: 'Orders', Item: { pk: s('t1'), sk: s('1') } } },
          { Put: { TableName: 'Plain', Item: { pk: s('t') } } },
        ],
        ReturnItemCollectionMetrics: 'SIZE',
      }),
    );
    assert.deepEqual(transaction.ItemCollectionMetrics, {
      Orders: [{ ItemCollectionKey: { pk: s('t1') }, SizeEstimateRangeGB: SMALL }],
    });
  });

  it('a write that takes a collection over the limit is refused and writes nothing', async () => {
    await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: s('full'), sk: s('1'), data: blob(2500) } }));
    await rejectsWith(
      ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: s('full'), sk: s('2'), data: blob(2000) } })),
      'ItemCollectionSizeLimitExceededException',
      'Item collection size limit exceeded',
    );
    assert.equal(await get('full', '2'), undefined);
    // LSI entries count too: the KEYS_ONLY entry of a small item tips this one over.
    await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: s('full'), sk: s('3'), data: blob(1460) } }));
    await rejectsWith(
      ddb.send(
        new UpdateItemCommand({
          TableName: 'Orders',
          Key: { pk: s('full'), sk: s('3') },
          UpdateExpression: 'SET amount = :a',
          ExpressionAttributeValues: { ':a': n(1) },
        }),
      ),
      'ItemCollectionSizeLimitExceededException',
      'Item collection size limit exceeded',
    );
    assert.equal((await get('full', '3'))?.amount, undefined);
    await rejectsWith(
      ddb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            Orders: [
              { PutRequest: { Item: { pk: s('other'), sk: s('1') } } },
              { PutRequest: { Item: { pk: s('full'), sk: s('4'), data: blob(500) } } },
            ],
          },
        }),
      ),
      'ItemCollectionSizeLimitExceededException',
      'Item collection size limit exceeded',
    );
    assert.equal(await get('other', '1'), undefined);
    // Another collection has its own room; deleting makes room again.
    await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: s('room'), sk: s('1'), data: blob(2000) } }));
    await ddb.send(new DeleteItemCommand({ TableName: 'Orders', Key: { pk: s('full'), sk: s('1') } }));
    await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: s('full'), sk: s('2'), data: blob(2000) } }));
    assert.ok(await get('full', '2'));
  });

  it('in a transaction the collection limit cancels the transaction with its reason', async () => {
    await assert.rejects(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'Plain', Item: { pk: s('tx') } } },
            { Put: { TableName: 'Orders', Item: { pk: s('tx'), sk: s('1'), data: blob(2500) } } },
            { Put: { TableName: 'Orders', Item: { pk: s('tx'), sk: s('2'), data: blob(2500) } } },
          ],
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof TransactionCanceledException);
        assert.equal(
          error.message,
          'Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, ItemCollectionSizeLimitExceeded]',
        );
        assert.deepEqual(error.CancellationReasons?.[2], {
          Code: 'ItemCollectionSizeLimitExceeded',
          Message: 'Item collection size limit exceeded',
        });
        return true;
      },
    );
    assert.equal(await get('tx', '1'), undefined);
    const plain = await ddb.send(new GetItemCommand({ TableName: 'Plain', Key: { pk: s('tx') } }));
    assert.equal(plain.Item, undefined);
  });
});

describe('index key checks come where DynamoDB reports them', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  const BAD_STATUS =
    'One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: N IndexName: byStatus';

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await createOrders(ddb);
    await createOrders(ddb, 'Other');
    await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: s('a'), sk: s('1'), status: s('ok') } }));
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const count = async (table: string, pk: string, sk: string) =>
    (await ddb.send(new GetItemCommand({ TableName: table, Key: { pk: s(pk), sk: s(sk) } }))).Item ? 1 : 0;

  it('PutItem refuses a bad index key before it evaluates its condition', async () => {
    await rejectsWith(
      ddb.send(
        new PutItemCommand({
          TableName: 'Orders',
          Item: { pk: s('a'), sk: s('1'), status: n(1) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
      'ValidationException',
      BAD_STATUS,
    );
  });

  it('BatchWriteItem refuses the whole request, in any table, before it writes', async () => {
    const bad: Item = { pk: s('b'), sk: s('2'), status: n(1) };
    await rejectsWith(
      ddb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            Other: [{ PutRequest: { Item: { pk: s('b'), sk: s('1') } } }],
            Orders: [{ PutRequest: { Item: bad } }],
          },
        }),
      ),
      'ValidationException',
      BAD_STATUS,
    );
    assert.equal(await count('Other', 'b', '1'), 0);
  });

  it('TransactWriteItems: a put or a typed update is refused outright, a copied value cancels', async () => {
    await rejectsWith(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'Other', Item: { pk: s('t'), sk: s('1') } } },
            {
              Put: {
                TableName: 'Orders',
                Item: { pk: s('a'), sk: s('1'), status: n(1) },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      ),
      'ValidationException',
      BAD_STATUS,
    );
    assert.equal(await count('Other', 't', '1'), 0);
    // A value the request types is checked with the request (dynalite validateUpdates, before the read).
    await rejectsWith(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'Other', Item: { pk: s('t'), sk: s('3') } } },
            {
              Update: {
                TableName: 'Orders',
                Key: { pk: s('a'), sk: s('1') },
                UpdateExpression: 'SET #s = :v',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':v': n(1) },
              },
            },
          ],
        }),
      ),
      'ValidationException',
      BAD_STATUS,
    );
    assert.equal(await count('Other', 't', '3'), 0);
    // Only the item shows the type of a value copied from it: that cancels the transaction.
    await assert.rejects(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'Other', Item: { pk: s('t'), sk: s('2') } } },
            {
              Update: {
                TableName: 'Orders',
                Key: { pk: s('a'), sk: s('1') },
                UpdateExpression: 'SET #s = if_not_exists(#n, :v)',
                ExpressionAttributeNames: { '#s': 'status', '#n': 'nothing' },
                ExpressionAttributeValues: { ':v': n(1) },
              },
            },
          ],
        }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof TransactionCanceledException);
        assert.deepEqual(error.CancellationReasons, [
          { Code: 'None' },
          {
            Code: 'ValidationError',
            Message: 'The update expression attempted to update the secondary index key to unsupported type',
          },
        ]);
        return true;
      },
    );
    assert.equal(await count('Other', 't', '2'), 0);
  });
});
