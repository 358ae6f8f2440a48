import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Item = Record<string, AttributeValue>;

describe('transactions', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    for (const TableName of ['Accounts', 'Ledger']) {
      await ddb.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const key = (id: string) => ({ id: { S: id } });
  const read = async (table: string, id: string) =>
    (await ddb.send(new GetItemCommand({ TableName: table, Key: key(id), ConsistentRead: true }))).Item;
  const put = (table: string, item: Item) => ddb.send(new PutItemCommand({ TableName: table, Item: item }));
  const transact = (items: TransactWriteItem[], token?: string) =>
    ddb.send(new TransactWriteItemsCommand({ TransactItems: items, ...(token ? { ClientRequestToken: token } : {}) }));

  const debit = (id: string, amount: string, returnOnFailure?: 'ALL_OLD'): TransactWriteItem => ({
    Update: {
      ...(returnOnFailure ? { ReturnValuesOnConditionCheckFailure: returnOnFailure } : {}),
      TableName: 'Accounts',
      Key: key(id),
      UpdateExpression: 'SET balance = balance - :a',
      ConditionExpression: 'balance >= :a',
      ExpressionAttributeValues: { ':a': { N: amount } },
    },
  });

  it('applies Put, Update, Delete and ConditionCheck across two tables', async () => {
    await put('Accounts', { id: { S: 'alice' }, balance: { N: '100' } });
    await put('Accounts', { id: { S: 'frozen' }, status: { S: 'ok' } });
    await put('Ledger', { id: { S: 'stale' } });
    const out = await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          debit('alice', '30'),
          {
            Put: {
              TableName: 'Ledger',
              Item: { id: { S: 'tx1' }, amount: { N: '30' } },
              ConditionExpression: 'attribute_not_exists(id)',
            },
          },
          { Delete: { TableName: 'Ledger', Key: key('stale') } },
          {
            ConditionCheck: {
              TableName: 'Accounts',
              Key: key('frozen'),
              ConditionExpression: '#s = :ok',
              ExpressionAttributeNames: { '#s': 'status' },
              ExpressionAttributeValues: { ':ok': { S: 'ok' } },
            },
          },
        ],
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    assert.deepEqual(await read('Accounts', 'alice'), { id: { S: 'alice' }, balance: { N: '70' } });
    assert.deepEqual(await read('Ledger', 'tx1'), { id: { S: 'tx1' }, amount: { N: '30' } });
    assert.equal(await read('Ledger', 'stale'), undefined);
    assert.deepEqual(
      out.ConsumedCapacity?.map((c) => [c.TableName, c.CapacityUnits]),
      [
        ['Accounts', 4],
        ['Ledger', 4],
      ],
    );
  });

  it('cancels everything when a condition fails, with reasons in order', async () => {
    await put('Accounts', { id: { S: 'bob' }, balance: { N: '10' } });
    await assert.rejects(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'Ledger', Item: { id: { S: 'tx2' } } } },
            debit('bob', '50', 'ALL_OLD'),
            { Delete: { TableName: 'Ledger', Key: key('tx1') } },
          ],
        }),
      ),
      (error: Error) => {
        assert.ok(error instanceof TransactionCanceledException);
        assert.equal(
          error.message,
          'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]',
        );
        assert.deepEqual(error.CancellationReasons, [
          { Code: 'None' },
          {
            Code: 'ConditionalCheckFailed',
            Message: 'The conditional request failed',
            Item: { id: { S: 'bob' }, balance: { N: '10' } },
          },
          { Code: 'None' },
        ]);
        return true;
      },
    );
    assert.equal(await read('Ledger', 'tx2'), undefined);
    assert.ok(await read('Ledger', 'tx1'));
    assert.deepEqual(await read('Accounts', 'bob'), { id: { S: 'bob' }, balance: { N: '10' } });
  });

  it('cancels with ValidationError when an update does not fit the item', async () => {
    await put('Accounts', { id: { S: 'text' }, balance: { S: 'not a number' } });
    await assert.rejects(
      transact([
        { Put: { TableName: 'Ledger', Item: { id: { S: 'tx3' } } } },
        {
          Update: {
            TableName: 'Accounts',
            Key: key('text'),
            UpdateExpression: 'SET balance = balance + :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          },
        },
      ]),
      (error: Error) => {
        assert.ok(error instanceof TransactionCanceledException);
        assert.deepEqual(error.CancellationReasons, [
          { Code: 'None' },
          { Code: 'ValidationError', Message: 'An operand in the update expression has an incorrect data type' },
        ]);
        return true;
      },
    );
    assert.equal(await read('Ledger', 'tx3'), undefined);
  });

  it('refuses two operations on one item and malformed items', async () => {
    await rejectsWith(
      transact([
        { Put: { TableName: 'Ledger', Item: { id: { S: 'dup' } } } },
        { Delete: { TableName: 'Ledger', Key: key('dup') } },
      ]),
      'ValidationException',
      'Transaction request cannot include multiple operations on one item',
    );
    await rejectsWith(
      transact([
        { Put: { TableName: 'Ledger', Item: { id: { S: 'x' } } }, Delete: { TableName: 'Ledger', Key: key('x') } },
      ]),
      'ValidationException',
      'TransactItems can only contain one of Check, Put, Update or Delete',
    );
    await rejectsWith(
      transact([
        {
          Update: {
            TableName: 'Ledger',
            Key: key('x'),
            UpdateExpression: 'SET id = :v',
            ExpressionAttributeValues: { ':v': { S: 'y' } },
          },
        },
      ]),
      'ValidationException',
      'One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key',
    );
    await rejectsWith(
      transact([{ Put: { TableName: 'Missing', Item: { id: { S: 'x' } } } }]),
      'ResourceNotFoundException',
    );
    const tooMany = Array.from({ length: 101 }, (_, i) => ({
      Put: { TableName: 'Ledger', Item: { id: { S: `m${i}` } } },
    }));
    await rejectsWith(transact(tooMany), 'ValidationException', /Member must have length less than or equal to 100/);
    assert.equal(await read('Ledger', 'dup'), undefined);
    assert.equal(await read('Ledger', 'm0'), undefined);
  });

  it('is idempotent for a ClientRequestToken for ten minutes', async () => {
    await put('Accounts', { id: { S: 'carol' }, balance: { N: '0' } });
    const creditBy = (amount: string): TransactWriteItem[] => [
      {
        Update: {
          TableName: 'Accounts',
          Key: key('carol'),
          UpdateExpression: 'ADD balance :amount',
          ExpressionAttributeValues: { ':amount': { N: amount } },
        },
      },
    ];
    const credit = creditBy('1');
    await transact(credit, 'token-1');
    await transact(credit, 'token-1');
    assert.deepEqual((await read('Accounts', 'carol'))?.balance, { N: '1' });
    await rejectsWith(transact(creditBy('2'), 'token-1'), 'IdempotentParameterMismatchException');
    server.clock.advance(10 * 60 * 1000 + 1);
    await transact(credit, 'token-1');
    assert.deepEqual((await read('Accounts', 'carol'))?.balance, { N: '2' });
  });

  it('reads a consistent set of items with TransactGetItems', async () => {
    await put('Accounts', { id: { S: 'dave' }, balance: { N: '5' }, secret: { S: 's' } });
    const out = await ddb.send(
      new TransactGetItemsCommand({
        TransactItems: [
          { Get: { TableName: 'Accounts', Key: key('dave'), ProjectionExpression: 'balance' } },
          { Get: { TableName: 'Ledger', Key: key('nobody') } },
          { Get: { TableName: 'Ledger', Key: key('tx1') } },
        ],
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    assert.deepEqual(out.Responses, [
      { Item: { balance: { N: '5' } } },
      {},
      { Item: { id: { S: 'tx1' }, amount: { N: '30' } } },
    ]);
    assert.deepEqual(
      out.ConsumedCapacity?.map((c) => [c.TableName, c.CapacityUnits]),
      [
        ['Accounts', 2],
        ['Ledger', 4],
      ],
    );
  });
});
