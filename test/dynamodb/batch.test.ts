import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  BatchGetItemCommand,
  type BatchGetItemCommandInput,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Item = Record<string, AttributeValue>;

async function rejects(promise: Promise<unknown>, name: string, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.equal(error.name, name, `expected ${name}, got ${error.name}: ${error.message}`);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

const put = (Item: Item): WriteRequest => ({ PutRequest: { Item } });
const del = (Key: Item): WriteRequest => ({ DeleteRequest: { Key } });
const user = (id: string, extra: Item = {}): Item => ({ id: { S: id }, ...extra });
const event = (stream: string, seq: string, extra: Item = {}): Item => ({
  stream: { S: stream },
  seq: { N: seq },
  ...extra,
});
const sortedIds = (items: Item[] | undefined): string[] => (items ?? []).map((i) => i.id?.S ?? '?').sort();

describe('BatchWriteItem and BatchGetItem', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  const write = (input: BatchWriteItemCommandInput) => ddb.send(new BatchWriteItemCommand(input));
  const read = (input: BatchGetItemCommandInput) => ddb.send(new BatchGetItemCommand(input));
  const scanIds = async (table: string) =>
    sortedIds((await ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items);
  const scanCount = async (table: string) =>
    (await ddb.send(new ScanCommand({ TableName: table, Select: 'COUNT' }))).Count;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    for (const TableName of ['Users', 'Scratch', 'Big']) {
      await ddb.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Events',
        AttributeDefinitions: [
          { AttributeName: 'stream', AttributeType: 'S' },
          { AttributeName: 'seq', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'stream', KeyType: 'HASH' },
          { AttributeName: 'seq', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  describe('BatchWriteItem', () => {
    it('puts 25 items across two tables and reports nothing unprocessed', async () => {
      const users = Array.from({ length: 15 }, (_, i) =>
        put(user(`u${String(i).padStart(2, '0')}`, { n: { N: String(i) } })),
      );
      const events = Array.from({ length: 10 }, (_, i) => put(event('s1', String(i - 5))));
      const result = await write({ RequestItems: { Users: users, Events: events }, ReturnConsumedCapacity: 'TOTAL' });
      assert.deepEqual(result.UnprocessedItems, {});
      assert.equal(result.ItemCollectionMetrics, undefined);
      assert.deepEqual(
        [...(result.ConsumedCapacity ?? [])].sort((a, b) => String(a.TableName).localeCompare(String(b.TableName))),
        [
          { TableName: 'Events', CapacityUnits: 10, WriteCapacityUnits: 10 },
          { TableName: 'Users', CapacityUnits: 15, WriteCapacityUnits: 15 },
        ],
      );
      assert.equal(await scanCount('Users'), 15);
      assert.equal(await scanCount('Events'), 10);
      const one = await ddb.send(
        new GetItemCommand({ TableName: 'Events', Key: { stream: { S: 's1' }, seq: { N: '-5' } } }),
      );
      assert.deepEqual(one.Item, event('s1', '-5'));
    });

    it('mixes puts and deletes, replacing existing items', async () => {
      await write({ RequestItems: { Scratch: [put(user('a', { v: { S: 'old' } })), put(user('b')), put(user('c'))] } });
      const result = await write({
        RequestItems: {
          Scratch: [del(user('b')), put(user('a', { v: { S: 'new' } })), del(user('never-existed')), put(user('d'))],
        },
      });
      assert.deepEqual(result.UnprocessedItems, {});
      assert.deepEqual(await scanIds('Scratch'), ['a', 'c', 'd']);
      const a = await ddb.send(new GetItemCommand({ TableName: 'Scratch', Key: user('a') }));
      assert.deepEqual(a.Item, user('a', { v: { S: 'new' } }));
    });

    it('accepts the same key in different tables and table ARNs as names', async () => {
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Scratch' }));
      assert.ok(Table?.TableArn);
      await write({
        RequestItems: { [Table.TableArn]: [put(user('same')), put(user('arn'))], Users: [put(user('same'))] },
      });
      assert.ok((await scanIds('Scratch')).includes('same'));
      assert.ok((await scanIds('Scratch')).includes('arn'));
      assert.ok((await scanIds('Users')).includes('same'));
    });

    it('refuses more than 25 requests in all, across tables', async () => {
      const requests = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => put(user(`${prefix}${i}`)));
      await rejects(
        write({ RequestItems: { Scratch: requests('x', 13), Users: requests('y', 13) } }),
        'ValidationException',
        'Too many items requested for the BatchWriteItem call',
      );
      await rejects(
        write({ RequestItems: { Scratch: requests('x', 26) } }),
        'ValidationException',
        /length less than or equal to 25/,
      );
      assert.ok(!(await scanIds('Scratch')).includes('x0'));
    });

    it('refuses duplicate keys, in puts and deletes alike, and writes nothing', async () => {
      const before = await scanIds('Scratch');
      for (const requests of [
        [put(user('dup')), put(user('dup', { v: { S: 'again' } }))],
        [put(user('dup')), del(user('dup'))],
        [del(user('a')), del(user('a'))],
      ]) {
        await rejects(
          write({ RequestItems: { Users: [put(user('untouched'))], Scratch: requests } }),
          'ValidationException',
          'Provided list of item keys contains duplicates',
        );
      }
      // Numbers are compared by value, not by spelling.
      await rejects(
        write({ RequestItems: { Events: [put(event('s9', '1')), put(event('s9', '1.00'))] } }),
        'ValidationException',
        'Provided list of item keys contains duplicates',
      );
      assert.deepEqual(await scanIds('Scratch'), before);
      assert.ok(!(await scanIds('Users')).includes('untouched'));
    });

    it('refuses a request with neither or both of PutRequest and DeleteRequest', async () => {
      const message =
        'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes';
      await rejects(write({ RequestItems: { Scratch: [put(user('ok')), {}] } }), 'ValidationException', message);
      await rejects(
        write({ RequestItems: { Scratch: [{ PutRequest: { Item: user('p') }, DeleteRequest: { Key: user('q') } }] } }),
        'ValidationException',
        message,
      );
      assert.ok(!(await scanIds('Scratch')).includes('ok'));
    });

    it('refuses items and keys that do not fit the table, and writes nothing', async () => {
      const mismatch = 'The provided key element does not match the schema';
      await rejects(
        write({ RequestItems: { Scratch: [put(user('fine')), put({ other: { S: 'x' } })] } }),
        'ValidationException',
        mismatch,
      );
      await rejects(write({ RequestItems: { Scratch: [put({ id: { N: '1' } })] } }), 'ValidationException', mismatch);
      await rejects(
        write({ RequestItems: { Scratch: [del({ id: { S: 'a' }, extra: { S: 'x' } })] } }),
        'ValidationException',
        mismatch,
      );
      await rejects(
        write({ RequestItems: { Events: [del({ stream: { S: 's1' } })] } }),
        'ValidationException',
        mismatch,
      );
      await rejects(
        write({ RequestItems: { Scratch: [put(user('huge', { data: { S: 'x'.repeat(400 * 1024) } }))] } }),
        'ValidationException',
        'Item size has exceeded the maximum allowed size',
      );
      await rejects(
        write({ RequestItems: { Scratch: [put(user('empty', { set: { SS: [] } }))] } }),
        'ValidationException',
        'One or more parameter values were invalid: An string set  may not be empty',
      );
      assert.ok(!(await scanIds('Scratch')).includes('fine'));
    });

    it('refuses a missing table without writing to the others', async () => {
      await rejects(
        write({ RequestItems: { Scratch: [put(user('orphan'))], NoSuchTable: [put(user('x'))] } }),
        'ResourceNotFoundException',
        'Requested resource not found',
      );
      assert.ok(!(await scanIds('Scratch')).includes('orphan'));
    });
  });

  describe('BatchGetItem', () => {
    before(async () => {
      await write({
        RequestItems: {
          Scratch: [put(user('g1', { v: { S: 'one' }, w: { N: '1' } })), put(user('g2', { v: { S: 'two' } }))],
          Events: [put(event('g', '1', { v: { S: 'e1' } })), put(event('g', '2.5', { v: { S: 'e2' } }))],
        },
      });
    });

    it('reads keys from several tables, leaving out the ones that do not exist', async () => {
      const result = await read({
        RequestItems: {
          Scratch: { Keys: [user('g1'), user('missing'), user('g2')], ConsistentRead: true },
          Events: { Keys: [event('g', '2.50'), event('g', '3')], AttributesToGet: ['v', 'seq'] },
        },
        ReturnConsumedCapacity: 'TOTAL',
      });
      assert.deepEqual(sortedIds(result.Responses?.Scratch), ['g1', 'g2']);
      assert.deepEqual(
        result.Responses?.Scratch?.find((i) => i.id?.S === 'g1'),
        user('g1', { v: { S: 'one' }, w: { N: '1' } }),
      );
      assert.deepEqual(result.Responses?.Events, [{ seq: { N: '2.5' }, v: { S: 'e2' } }]);
      assert.deepEqual(result.UnprocessedKeys, {});
      const capacity = Object.fromEntries((result.ConsumedCapacity ?? []).map((c) => [c.TableName, c.CapacityUnits]));
      // Three strongly consistent reads at 1 unit, two eventually consistent ones at 0.5.
      assert.deepEqual(capacity, { Scratch: 3, Events: 1 });
    });

    it('answers under the table name or ARN the request used, with an entry per table', async () => {
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Scratch' }));
      assert.ok(Table?.TableArn);
      const result = await read({
        RequestItems: { [Table.TableArn]: { Keys: [user('g2')] }, Users: { Keys: [user('nobody')] } },
      });
      assert.deepEqual(result.Responses, { [Table.TableArn]: [user('g2', { v: { S: 'two' } })], Users: [] });
    });

    it('refuses more than 100 keys in all', async () => {
      const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => user(`${prefix}${i}`));
      await rejects(
        read({ RequestItems: { Scratch: { Keys: keys('a', 60) }, Users: { Keys: keys('b', 41) } } }),
        'ValidationException',
        'Too many items requested for the BatchGetItem call',
      );
      const exactly = await read({
        RequestItems: { Scratch: { Keys: keys('a', 60) }, Users: { Keys: keys('b', 40) } },
      });
      assert.deepEqual(exactly.Responses, { Scratch: [], Users: [] });
    });

    it('refuses duplicate keys, comparing numbers by value', async () => {
      const message = 'Provided list of item keys contains duplicates';
      await rejects(
        read({ RequestItems: { Scratch: { Keys: [user('g1'), user('g1')] } } }),
        'ValidationException',
        message,
      );
      await rejects(
        read({ RequestItems: { Events: { Keys: [event('g', '1'), { seq: { N: '1.0' }, stream: { S: 'g' } }] } } }),
        'ValidationException',
        message,
      );
    });

    it('refuses keys that do not match the schema, missing tables and bad projections', async () => {
      const mismatch = 'The provided key element does not match the schema';
      await rejects(
        read({ RequestItems: { Scratch: { Keys: [{ id: { N: '1' } }] } } }),
        'ValidationException',
        mismatch,
      );
      await rejects(
        read({ RequestItems: { Events: { Keys: [{ stream: { S: 'g' } }] } } }),
        'ValidationException',
        mismatch,
      );
      await rejects(
        read({ RequestItems: { Scratch: { Keys: [user('g1')] }, Nope1: { Keys: [user('g1')] } } }),
        'ResourceNotFoundException',
        'Requested resource not found',
      );
      await rejects(
        read({ RequestItems: { Scratch: { Keys: [user('g1')], AttributesToGet: ['v', 'v'] } } }),
        'ValidationException',
        'One or more parameter values were invalid: Duplicate value in attribute name: v',
      );
      await rejects(
        read({ RequestItems: { Scratch: { Keys: [user('g1')], ExpressionAttributeNames: { '#v': 'v' } } } }),
        'ValidationException',
        'ExpressionAttributeNames can only be specified when using expressions',
      );
    });

    it('stops at 16 MB and returns the remaining keys as UnprocessedKeys', async () => {
      const blob = 'x'.repeat(390 * 1024);
      const ids = Array.from({ length: 45 }, (_, i) => `big${String(i).padStart(2, '0')}`);
      for (let i = 0; i < ids.length; i += 15) {
        await write({ RequestItems: { Big: ids.slice(i, i + 15).map((id) => put(user(id, { data: { S: blob } }))) } });
      }
      const first = await read({
        RequestItems: {
          Big: { Keys: ids.map((id) => user(id)), ConsistentRead: true, AttributesToGet: ['id', 'data'] },
        },
      });
      const got = sortedIds(first.Responses?.Big);
      const left = first.UnprocessedKeys?.Big;
      assert.ok(got.length > 0 && got.length < 45, `read ${got.length} items`);
      // 16 MB holds 42 items of ~390 KB.
      assert.equal(got.length, 42);
      assert.equal(left?.ConsistentRead, true);
      assert.deepEqual(left?.AttributesToGet, ['id', 'data']);
      const leftIds = (left?.Keys ?? []).map((k) => k.id?.S ?? '?');
      assert.deepEqual([...got, ...leftIds].sort(), ids);

      const rest = await read({ RequestItems: { Big: { Keys: left?.Keys ?? [] } } });
      assert.deepEqual(sortedIds(rest.Responses?.Big), [...leftIds].sort());
      assert.deepEqual(rest.UnprocessedKeys, {});
    });
  });
});
