import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Item = Record<string, AttributeValue>;

const INVALID_PATH = 'The document path provided in the update expression is invalid for update';

describe('UpdateItem fidelity', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let counter = 0;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Docs',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  /** A fresh key holding `item` (or nothing). */
  async function seed(item?: Item): Promise<Item> {
    const key = { id: { S: `doc-${++counter}` } };
    if (item) await ddb.send(new PutItemCommand({ TableName: 'Docs', Item: { ...key, ...item } }));
    return key;
  }
  const update = (key: Item, input: Partial<UpdateItemCommandInput>) =>
    ddb.send(new UpdateItemCommand({ TableName: 'Docs', Key: key, ...input }));
  const read = async (key: Item) =>
    (await ddb.send(new GetItemCommand({ TableName: 'Docs', Key: key, ConsistentRead: true }))).Item;
  const without = (item: Item | undefined) => {
    const { id: _id, ...rest } = item ?? {};
    return rest;
  };
  const list = (...values: string[]): AttributeValue => ({ L: values.map((S) => ({ S })) });

  describe('removals on a missing item', () => {
    const removals: Array<[string, Partial<UpdateItemCommandInput>]> = [
      ['REMOVE', { UpdateExpression: 'REMOVE a, b' }],
      // DynamoDB ignores even a path that would be invalid on an existing item (recorded by
      // ScyllaDB's Alternator tests against DynamoDB, test_nested_attribute_remove_from_missing_item).
      ['REMOVE of a nested path', { UpdateExpression: 'REMOVE x.y, z[0]' }],
      ['DELETE', { UpdateExpression: 'DELETE s :s', ExpressionAttributeValues: { ':s': { SS: ['a'] } } }],
      [
        'REMOVE and DELETE together',
        { UpdateExpression: 'REMOVE a DELETE s :s', ExpressionAttributeValues: { ':s': { NS: ['1'] } } },
      ],
      ['AttributeUpdates DELETE', { AttributeUpdates: { a: { Action: 'DELETE' } } }],
      [
        'AttributeUpdates DELETE of set members',
        { AttributeUpdates: { a: { Action: 'DELETE' }, s: { Action: 'DELETE', Value: { SS: ['x'] } } } },
      ],
    ];
    for (const [title, input] of removals) {
      it(`${title} creates no item, whatever ReturnValues asks`, async () => {
        for (const mode of ['NONE', 'ALL_OLD', 'UPDATED_OLD', 'ALL_NEW', 'UPDATED_NEW'] as const) {
          const key = await seed();
          const out = await update(key, { ...input, ReturnValues: mode, ReturnConsumedCapacity: 'TOTAL' });
          assert.equal(out.Attributes, undefined, `ReturnValues ${mode}`);
          // Charged like DeleteItem of a missing item: one write unit.
          assert.deepEqual(out.ConsumedCapacity, { TableName: 'Docs', CapacityUnits: 1, WriteCapacityUnits: 1 });
          assert.equal(await read(key), undefined, `no item after ReturnValues ${mode}`);
        }
      });
    }

    it('still checks the condition, and writes nothing when it holds', async () => {
      const key = await seed();
      await rejectsWith(
        update(key, { UpdateExpression: 'REMOVE a', ConditionExpression: 'attribute_exists(id)' }),
        'ConditionalCheckFailedException',
      );
      const out = await update(key, {
        UpdateExpression: 'REMOVE a',
        ConditionExpression: 'attribute_not_exists(id)',
        ReturnValues: 'ALL_NEW',
      });
      assert.equal(out.Attributes, undefined);
      assert.equal(await read(key), undefined);
    });

    it('creates the item when any action writes a value', async () => {
      const key = await seed();
      const out = await update(key, {
        UpdateExpression: 'REMOVE a SET b = :v',
        ExpressionAttributeValues: { ':v': { S: 'x' } },
        ReturnValues: 'ALL_NEW',
      });
      assert.deepEqual(out.Attributes, { ...key, b: { S: 'x' } });
      const legacy = await seed();
      await update(legacy, { AttributeUpdates: { a: { Action: 'DELETE' }, b: { Action: 'ADD', Value: { N: '1' } } } });
      assert.deepEqual(await read(legacy), { ...legacy, b: { N: '1' } });
    });

    it('creates no item through a TransactWriteItems Update either', async () => {
      const removed = await seed();
      const deleted = await seed();
      const written = await seed();
      const out = await ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Update: { TableName: 'Docs', Key: removed, UpdateExpression: 'REMOVE a.b' } },
            {
              Update: {
                TableName: 'Docs',
                Key: deleted,
                UpdateExpression: 'DELETE s :s',
                ExpressionAttributeValues: { ':s': { SS: ['x'] } },
              },
            },
            {
              Update: {
                TableName: 'Docs',
                Key: written,
                UpdateExpression: 'DELETE s :s SET v = :v',
                ExpressionAttributeValues: { ':s': { SS: ['x'] }, ':v': { N: '1' } },
              },
            },
          ],
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      assert.equal(await read(removed), undefined);
      assert.equal(await read(deleted), undefined);
      assert.deepEqual(await read(written), { ...written, v: { N: '1' } });
      assert.deepEqual(out.ConsumedCapacity, [{ TableName: 'Docs', CapacityUnits: 6, WriteCapacityUnits: 6 }]);
    });
  });

  describe('list elements', () => {
    const cases: Array<[string, Item, Partial<UpdateItemCommandInput>, Item]> = [
      [
        'SETs past the end, appended in ascending index order',
        { a: list('x', 'y', 'z') },
        {
          UpdateExpression: 'SET a[84] = :a, a[37] = :b, a[17] = :c',
          ExpressionAttributeValues: { ':a': { S: 'A' }, ':b': { S: 'B' }, ':c': { S: 'C' } },
        },
        { a: list('x', 'y', 'z', 'C', 'B', 'A') },
      ],
      [
        'SETs just past the end, neither overwriting the other',
        { a: list('x', 'y', 'z') },
        {
          UpdateExpression: 'SET a[4] = :a, a[3] = :b',
          ExpressionAttributeValues: { ':a': { S: 'A' }, ':b': { S: 'B' } },
        },
        { a: list('x', 'y', 'z', 'B', 'A') },
      ],
      [
        'SETs in and past the end of a nested list',
        { m: { M: { l: list('x') } } },
        {
          UpdateExpression: 'SET m.l[10] = :a, m.l[0] = :b, m.l[5] = :c',
          ExpressionAttributeValues: { ':a': { S: 'A' }, ':b': { S: 'B' }, ':c': { S: 'C' } },
        },
        { m: { M: { l: list('B', 'C', 'A') } } },
      ],
      [
        'SET and REMOVE by the indexes of the old list',
        { a: list('x', 'y', 'z', 'w') },
        {
          UpdateExpression: 'REMOVE a[1] SET a[2] = :p, a[9] = :q, a[6] = :r',
          ExpressionAttributeValues: { ':p': { S: 'P' }, ':q': { S: 'Q' }, ':r': { S: 'R' } },
        },
        { a: list('x', 'P', 'w', 'R', 'Q') },
      ],
      [
        'REMOVE past the old end, which leaves appended elements alone',
        { a: list('x', 'y', 'z') },
        {
          UpdateExpression: 'REMOVE a[4] SET a[3] = :p, a[5] = :q',
          ExpressionAttributeValues: { ':p': { S: 'P' }, ':q': { S: 'Q' } },
        },
        { a: list('x', 'y', 'z', 'P', 'Q') },
      ],
      [
        'ADD into an element that a REMOVE shifts',
        { a: { L: [{ M: { n: { N: '1' } } }, { M: { n: { N: '5' } } }] } },
        { UpdateExpression: 'REMOVE a[0] ADD a[1].n :one', ExpressionAttributeValues: { ':one': { N: '1' } } },
        { a: { L: [{ M: { n: { N: '6' } } }] } },
      ],
      [
        'DELETE from a set element that a REMOVE shifts',
        { a: { L: [{ S: 'gone' }, { SS: ['p', 'q'] }] } },
        { UpdateExpression: 'REMOVE a[0] DELETE a[1] :p', ExpressionAttributeValues: { ':p': { SS: ['p'] } } },
        { a: { L: [{ SS: ['q'] }] } },
      ],
    ];
    for (const [title, start, input, expected] of cases) {
      it(`applies ${title}`, async () => {
        const key = await seed(start);
        const out = await update(key, { ...input, ReturnValues: 'ALL_NEW' });
        assert.deepEqual(without(out.Attributes), expected);
        assert.deepEqual(without(await read(key)), expected);
      });
    }

    it('refuses a path into an element that only the update appends', async () => {
      const start = { a: list('x', 'y', 'z') };
      const key = await seed(start);
      await rejectsWith(
        update(key, {
          UpdateExpression: 'SET a[5] = :m, a[3].k = :v',
          ExpressionAttributeValues: { ':m': { M: {} }, ':v': { S: 'v' } },
        }),
        'ValidationException',
        INVALID_PATH,
      );
      assert.deepEqual(without(await read(key)), start);
    });
  });

  describe('DELETE on document paths', () => {
    const start: Item = {
      b: { S: 'text' },
      c: { M: { s: { SS: ['p', 'q'] } } },
      d: { L: [{ NS: ['1', '2'] }] },
      keep: { N: '1' },
    };
    const bad: Array<[string, string]> = [
      ['through a string', 'b.a'],
      ['through a missing map', 'nope.a'],
      ['with an index into a map', 'c[1]'],
      ['with a name into a list', 'd.x'],
      ['through a missing list element', 'd[3].x'],
    ];
    for (const [title, path] of bad) {
      it(`refuses a path ${title} (${path}) and applies nothing`, async () => {
        const key = await seed(start);
        await rejectsWith(
          update(key, {
            UpdateExpression: `SET fresh = :v REMOVE keep DELETE ${path} :s`,
            ExpressionAttributeValues: { ':v': { S: 'v' }, ':s': { SS: ['p'] } },
          }),
          'ValidationException',
          INVALID_PATH,
        );
        assert.deepEqual(without(await read(key)), start);
      });
    }

    it('deletes from nested sets, and ignores a missing last step', async () => {
      const key = await seed(start);
      await update(key, {
        UpdateExpression: 'DELETE c.s :p, d[0] :one, c.absent :p, d[7] :one',
        ExpressionAttributeValues: { ':p': { SS: ['p'] }, ':one': { NS: ['1'] } },
      });
      assert.deepEqual(without(await read(key)), {
        ...start,
        c: { M: { s: { SS: ['q'] } } },
        d: { L: [{ NS: ['2'] }] },
      });
    });
  });
});
