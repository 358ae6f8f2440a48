import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('item operations', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Things',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('puts, gets and deletes every attribute type', async () => {
    const item = {
      pk: { S: 'p1' },
      sk: { N: '42' },
      s: { S: 'text ü' },
      empty: { S: '' },
      n: { N: '-3.14' },
      b: { B: new Uint8Array([0, 1, 2, 255]) },
      ss: { SS: ['a', 'b'] },
      ns: { NS: ['1', '2.5'] },
      bs: { BS: [new Uint8Array([1]), new Uint8Array([2])] },
      m: { M: { inner: { L: [{ S: 'x' }, { N: '1' }, { NULL: true }, { BOOL: false }] } } },
      t: { BOOL: true },
      z: { NULL: true },
    };
    const put = await ddb.send(new PutItemCommand({ TableName: 'Things', Item: item }));
    assert.equal(put.Attributes, undefined);
    const got = await ddb.send(new GetItemCommand({ TableName: 'Things', Key: { pk: { S: 'p1' }, sk: { N: '42' } } }));
    assert.deepEqual(got.Item, item);

    const projected = await ddb.send(
      new GetItemCommand({
        TableName: 'Things',
        Key: { pk: { S: 'p1' }, sk: { N: '42' } },
        AttributesToGet: ['s', 'missing'],
      }),
    );
    assert.deepEqual(projected.Item, { s: { S: 'text ü' } });

    const replaced = await ddb.send(
      new PutItemCommand({
        TableName: 'Things',
        Item: { pk: { S: 'p1' }, sk: { N: '42' }, v: { N: '2' } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    assert.deepEqual(replaced.Attributes, item);

    const deleted = await ddb.send(
      new DeleteItemCommand({
        TableName: 'Things',
        Key: { pk: { S: 'p1' }, sk: { N: '42' } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    assert.deepEqual(deleted.Attributes, { pk: { S: 'p1' }, sk: { N: '42' }, v: { N: '2' } });
    const gone = await ddb.send(new GetItemCommand({ TableName: 'Things', Key: { pk: { S: 'p1' }, sk: { N: '42' } } }));
    assert.equal(gone.Item, undefined);
  });

  it('normalizes numbers and finds items by any spelling of their numeric key', async () => {
    await ddb.send(
      new PutItemCommand({ TableName: 'Things', Item: { pk: { S: 'num' }, sk: { N: '1.50' }, v: { N: '0100' } } }),
    );
    const got = await ddb.send(
      new GetItemCommand({ TableName: 'Things', Key: { pk: { S: 'num' }, sk: { N: '15E-1' } } }),
    );
    assert.deepEqual(got.Item, { pk: { S: 'num' }, sk: { N: '1.5' }, v: { N: '100' } });
  });

  it('reports consumed capacity when asked', async () => {
    const put = await ddb.send(
      new PutItemCommand({
        TableName: 'Things',
        Item: { pk: { S: 'cap' }, sk: { N: '1' }, big: { S: 'x'.repeat(3000) } },
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    assert.deepEqual(put.ConsumedCapacity, { TableName: 'Things', CapacityUnits: 3, WriteCapacityUnits: 3 });
    const get = await ddb.send(
      new GetItemCommand({
        TableName: 'Things',
        Key: { pk: { S: 'cap' }, sk: { N: '1' } },
        ReturnConsumedCapacity: 'TOTAL',
        ConsistentRead: true,
      }),
    );
    assert.equal(get.ConsumedCapacity?.CapacityUnits, 1);
  });

  it('rejects invalid items without writing anything', async () => {
    const cases: Array<[Record<string, unknown>, string | RegExp]> = [
      [{ sk: { N: '1' } }, 'One or more parameter values were invalid: Missing the key pk in the item'],
      [
        { pk: { N: '1' }, sk: { N: '1' } },
        'One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N',
      ],
      [
        { pk: { S: '' }, sk: { N: '1' } },
        /The AttributeValue for a key attribute cannot contain an empty string value. Key: pk/,
      ],
      [{ pk: { S: 'bad' }, sk: { N: '1' }, s: { SS: [] } }, /An string set {2}may not be empty/],
      [{ pk: { S: 'bad' }, sk: { N: '1' }, s: { SS: ['a', 'a'] } }, /Input collection \[a, a\] contains duplicates/],
      [{ pk: { S: 'bad' }, sk: { N: 'abc' } }, /The parameter cannot be converted to a numeric value: abc/],
      [{ pk: { S: 'bad' }, sk: { N: '1e126' } }, /Number overflow/],
      [{ pk: { S: 'bad' }, sk: { N: '1' }, n: { N: '1'.repeat(39) } }, /more than 38 significant digits/],
      [{ pk: { S: 'bad' }, sk: { N: '1' }, x: {} }, /Supplied AttributeValue is empty/],
      [{ pk: { S: 'bad' }, sk: { N: '1' }, x: { S: 'a', N: '1' } }, /more than one datatypes/],
      [
        { pk: { S: 'x'.repeat(2049) }, sk: { N: '1' } },
        /Size of hashkey has exceeded the maximum size limit of2048 bytes/,
      ],
      [
        { pk: { S: 'bad' }, sk: { N: '1' }, big: { S: 'x'.repeat(400 * 1024) } },
        'Item size has exceeded the maximum allowed size',
      ],
    ];
    for (const [item, message] of cases) {
      await rejectsWith(
        ddb.send(new PutItemCommand({ TableName: 'Things', Item: item as never })),
        'ValidationException',
        message,
      );
    }
    const none = await ddb.send(new GetItemCommand({ TableName: 'Things', Key: { pk: { S: 'bad' }, sk: { N: '1' } } }));
    assert.equal(none.Item, undefined);
  });

  it('rejects keys that do not match the schema', async () => {
    for (const key of [
      { pk: { S: 'a' } },
      { pk: { S: 'a' }, sk: { S: '1' } },
      { pk: { S: 'a' }, sk: { N: '1' }, extra: { S: 'x' } },
    ]) {
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: 'Things', Key: key as never })),
        'ValidationException',
        'The provided key element does not match the schema',
      );
    }
    await rejectsWith(
      ddb.send(
        new PutItemCommand({ TableName: 'Things', Item: { pk: { S: 'a' }, sk: { N: '1' } }, ReturnValues: 'ALL_NEW' }),
      ),
      'ValidationException',
      'ReturnValues can only be ALL_OLD or NONE',
    );
  });
});
