/** The same operations through @aws-sdk/lib-dynamodb, as most applications call them. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('the document client', () => {
  let server: TestServer;
  let base: DynamoDBClient;
  let doc: DynamoDBDocumentClient;
  before(async () => {
    server = await startTestServer();
    base = new DynamoDBClient(server.clientConfig());
    doc = DynamoDBDocumentClient.from(base);
    for (const TableName of ['Orders', 'Stock']) {
      await base.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [
            { AttributeName: 'pk', AttributeType: 'S' },
            { AttributeName: 'sk', AttributeType: 'N' },
          ],
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
          SSESpecification: { Enabled: true },
        }),
      );
    }
  });
  after(async () => {
    doc.destroy();
    base.destroy();
    await server.cleanup();
  });

  it('puts, updates, queries and deletes native JavaScript values', async () => {
    await doc.send(
      new PutCommand({
        TableName: 'Orders',
        Item: {
          pk: 'alice',
          sk: 1,
          items: ['book'],
          total: 12.5,
          meta: { gift: true, note: null },
          tags: new Set(['new']),
        },
      }),
    );
    const updated = await doc.send(
      new UpdateCommand({
        TableName: 'Orders',
        Key: { pk: 'alice', sk: 1 },
        UpdateExpression:
          'SET #items = list_append(#items, :more), #total = #total + :price, #meta.gift = :no ADD #tags :t REMOVE #meta.note',
        ConditionExpression: 'attribute_exists(pk) AND #total < :limit',
        ExpressionAttributeNames: { '#items': 'items', '#total': 'total', '#meta': 'meta', '#tags': 'tags' },
        ExpressionAttributeValues: {
          ':more': ['pen'],
          ':price': 2.25,
          ':no': false,
          ':t': new Set(['paid']),
          ':limit': 100,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    assert.deepEqual(updated.Attributes, {
      pk: 'alice',
      sk: 1,
      items: ['book', 'pen'],
      total: 14.75,
      meta: { gift: false },
      tags: new Set(['new', 'paid']),
    });
    for (let sk = 2; sk <= 5; sk++)
      await doc.send(new PutCommand({ TableName: 'Orders', Item: { pk: 'alice', sk, total: sk * 10 } }));
    const page = await doc.send(
      new QueryCommand({
        TableName: 'Orders',
        KeyConditionExpression: 'pk = :p AND sk BETWEEN :a AND :b',
        FilterExpression: '#total >= :min',
        ProjectionExpression: 'sk, #total',
        ExpressionAttributeNames: { '#total': 'total' },
        ExpressionAttributeValues: { ':p': 'alice', ':a': 2, ':b': 5, ':min': 30 },
        ScanIndexForward: false,
      }),
    );
    assert.deepEqual(page.Items, [
      { sk: 5, total: 50 },
      { sk: 4, total: 40 },
      { sk: 3, total: 30 },
    ]);
    assert.equal(page.ScannedCount, 4);
    const removed = await doc.send(
      new DeleteCommand({ TableName: 'Orders', Key: { pk: 'alice', sk: 5 }, ReturnValues: 'ALL_OLD' }),
    );
    assert.equal(removed.Attributes?.total, 50);
    assert.equal(
      (await doc.send(new GetCommand({ TableName: 'Orders', Key: { pk: 'alice', sk: 5 } }))).Item,
      undefined,
    );
  });

  it('writes and reads transactions across two tables', async () => {
    await doc.send(new PutCommand({ TableName: 'Stock', Item: { pk: 'pen', sk: 0, count: 3 } }));
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: 'Stock',
              Key: { pk: 'pen', sk: 0 },
              UpdateExpression: 'SET #c = #c - :one',
              ConditionExpression: '#c >= :one',
              ExpressionAttributeNames: { '#c': 'count' },
              ExpressionAttributeValues: { ':one': 1 },
            },
          },
          {
            Put: {
              TableName: 'Orders',
              Item: { pk: 'bob', sk: 1, items: ['pen'] },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
      }),
    );
    await assert.rejects(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: 'Stock',
                Key: { pk: 'pen', sk: 0 },
                UpdateExpression: 'SET #c = #c - :n',
                ConditionExpression: '#c >= :n',
                ExpressionAttributeNames: { '#c': 'count' },
                ExpressionAttributeValues: { ':n': 10 },
              },
            },
            { Put: { TableName: 'Orders', Item: { pk: 'carol', sk: 1 } } },
          ],
        }),
      ),
      (error: Error & { CancellationReasons?: { Code?: string }[] }) => {
        assert.equal(error.name, 'TransactionCanceledException');
        assert.deepEqual(
          error.CancellationReasons?.map((r) => r.Code),
          ['ConditionalCheckFailed', 'None'],
        );
        return true;
      },
    );
    const read = await doc.send(
      new TransactGetCommand({
        TransactItems: [
          { Get: { TableName: 'Stock', Key: { pk: 'pen', sk: 0 } } },
          { Get: { TableName: 'Orders', Key: { pk: 'bob', sk: 1 } } },
          { Get: { TableName: 'Orders', Key: { pk: 'carol', sk: 1 } } },
        ],
      }),
    );
    assert.equal(read.Responses?.[0]?.Item?.count, 2);
    assert.deepEqual(read.Responses?.[1]?.Item?.items, ['pen']);
    assert.equal(read.Responses?.[2]?.Item, undefined, 'the cancelled transaction wrote nothing');
    const all = await doc.send(new ScanCommand({ TableName: 'Orders', Select: 'COUNT' }));
    assert.equal(all.Count, 5);
  });
});
