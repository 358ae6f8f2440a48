import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Item = Record<string, AttributeValue>;

/** 9.99…E+125, DynamoDB's largest number, in the canonical form it is stored in. */
const BIGGEST = '9'.repeat(38) + '0'.repeat(88);

describe('UpdateItem', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let counter = 0;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Things',
        AttributeDefinitions: [
          { AttributeName: 'id', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'id', KeyType: 'HASH' },
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

  /** A fresh key holding `item` (or nothing). */
  async function seed(item?: Item): Promise<Item> {
    const key = { id: { S: `item-${++counter}` }, sk: { N: '1' } };
    if (item) await ddb.send(new PutItemCommand({ TableName: 'Things', Item: { ...key, ...item } }));
    return key;
  }
  const update = (key: Item, input: Partial<UpdateItemCommandInput>) =>
    ddb.send(new UpdateItemCommand({ TableName: 'Things', Key: key, ...input }));
  const read = async (key: Item) =>
    (await ddb.send(new GetItemCommand({ TableName: 'Things', Key: key, ConsistentRead: true }))).Item;
  const without = (item: Item | undefined) => {
    const { id: _id, sk: _sk, ...rest } = item ?? {};
    return rest;
  };

  it('creates the item on update, with just the key when there is nothing to do', async () => {
    const key = await seed();
    const out = await update(key, { ReturnValues: 'ALL_OLD' });
    assert.equal(out.Attributes, undefined);
    assert.deepEqual(await read(key), key);
    const other = await seed();
    const created = await update(other, {
      UpdateExpression: 'SET a = :one',
      ExpressionAttributeValues: { ':one': { N: '1' } },
      ReturnValues: 'ALL_NEW',
    });
    assert.deepEqual(created.Attributes, { ...other, a: { N: '1' } });
  });

  const actions: Array<[string, Item, Partial<UpdateItemCommandInput>, Item]> = [
    [
      'SET of values and paths',
      { a: { N: '1' } },
      { UpdateExpression: 'SET b = :v, c = a', ExpressionAttributeValues: { ':v': { S: 'x' } } },
      { a: { N: '1' }, b: { S: 'x' }, c: { N: '1' } },
    ],
    [
      'SET with exact decimal +',
      { n: { N: '0.1' } },
      { UpdateExpression: 'SET n = n + :d', ExpressionAttributeValues: { ':d': { N: '0.2' } } },
      { n: { N: '0.3' } },
    ],
    [
      'SET with - on big numbers',
      { n: { N: '12345678901234567890123456789012345678' } },
      {
        UpdateExpression: 'SET n = n - :d',
        ExpressionAttributeValues: { ':d': { N: '12345678901234567890123456789012345677' } },
      },
      { n: { N: '1' } },
    ],
    [
      'SET with if_not_exists',
      { a: { N: '5' } },
      {
        UpdateExpression: 'SET a = if_not_exists(a, :z), b = if_not_exists(b, :z)',
        ExpressionAttributeValues: { ':z': { N: '0' } },
      },
      { a: { N: '5' }, b: { N: '0' } },
    ],
    [
      'SET with list_append',
      { l: { L: [{ N: '2' }] } },
      {
        UpdateExpression: 'SET l = list_append(:front, l), m = list_append(if_not_exists(m, :empty), :front)',
        ExpressionAttributeValues: { ':front': { L: [{ N: '1' }] }, ':empty': { L: [] } },
      },
      { l: { L: [{ N: '1' }, { N: '2' }] }, m: { L: [{ N: '1' }] } },
    ],
    [
      'SET of nested paths and list indexes',
      { m: { M: { l: { L: [{ S: 'a' }, { S: 'b' }] } } } },
      {
        UpdateExpression: 'SET m.l[1] = :x, m.l[9] = :y, m.#new = :x',
        ExpressionAttributeNames: { '#new': 'new.key' },
        ExpressionAttributeValues: { ':x': { S: 'x' }, ':y': { S: 'y' } },
      },
      { m: { M: { l: { L: [{ S: 'a' }, { S: 'x' }, { S: 'y' }] }, 'new.key': { S: 'x' } } } },
    ],
    [
      'REMOVE of attributes and list elements',
      { a: { N: '1' }, l: { L: [{ N: '0' }, { N: '1' }, { N: '2' }, { N: '3' }] } },
      { UpdateExpression: 'REMOVE a, l[1], l[3], l[7], nothing' },
      { l: { L: [{ N: '0' }, { N: '2' }] } },
    ],
    [
      'ADD to numbers and sets',
      { n: { N: '1' }, s: { SS: ['a'] } },
      {
        UpdateExpression: 'ADD n :two, s :s, fresh :two, ns :ns',
        ExpressionAttributeValues: { ':two': { N: '2' }, ':s': { SS: ['a', 'b'] }, ':ns': { NS: ['1', '2'] } },
      },
      { n: { N: '3' }, s: { SS: ['a', 'b'] }, fresh: { N: '2' }, ns: { NS: ['1', '2'] } },
    ],
    [
      'DELETE from sets, removing emptied ones',
      { s: { SS: ['a', 'b', 'c'] }, t: { NS: ['1'] } },
      {
        UpdateExpression: 'DELETE s :ab, t :one, absent :ab',
        ExpressionAttributeValues: { ':ab': { SS: ['a', 'b'] }, ':one': { NS: ['1.0'] } },
      },
      { s: { SS: ['c'] } },
    ],
    [
      'all four sections at once',
      { a: { N: '1' }, b: { N: '2' }, c: { SS: ['x'] } },
      {
        UpdateExpression: 'REMOVE a ADD b :one DELETE c :x SET d = b',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':x': { SS: ['x'] } },
      },
      { b: { N: '3' }, d: { N: '2' } },
    ],
  ];
  for (const [title, before, input, after] of actions) {
    it(`applies ${title}`, async () => {
      const key = await seed(before);
      await update(key, input);
      assert.deepEqual(without(await read(key)), after);
    });
  }

  it('answers every ReturnValues mode', async () => {
    const start: Item = { a: { N: '1' }, m: { M: { x: { S: 'old' }, y: { S: 'kept' } } }, gone: { S: 'bye' } };
    const modes: Array<[UpdateItemCommandInput['ReturnValues'], Item | undefined]> = [
      ['NONE', undefined],
      ['ALL_OLD', start],
      ['UPDATED_OLD', { a: { N: '1' }, m: { M: { x: { S: 'old' } } }, gone: { S: 'bye' } }],
      ['ALL_NEW', { a: { N: '2' }, m: { M: { x: { S: 'new' }, y: { S: 'kept' } } } }],
      ['UPDATED_NEW', { a: { N: '2' }, m: { M: { x: { S: 'new' } } } }],
    ];
    for (const [mode, expected] of modes) {
      const key = await seed(start);
      const out = await update(key, {
        UpdateExpression: 'SET a = a + :one, m.x = :new REMOVE gone',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':new': { S: 'new' } },
        ReturnValues: mode,
      });
      const withKey = mode === 'ALL_OLD' || mode === 'ALL_NEW' ? { ...key, ...expected } : expected;
      assert.deepEqual(out.Attributes, withKey, `ReturnValues ${mode}`);
    }
  });

  it('checks conditions and returns the old item on failure when asked', async () => {
    const key = await seed({ v: { N: '1' } });
    await assert.rejects(
      update(key, {
        UpdateExpression: 'SET v = :two',
        ConditionExpression: 'v = :two',
        ExpressionAttributeValues: { ':two': { N: '2' } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      (error: Error & { Item?: Item }) => {
        assert.equal(error.name, 'ConditionalCheckFailedException');
        assert.deepEqual(error.Item, { ...key, v: { N: '1' } });
        return true;
      },
    );
    await update(key, {
      UpdateExpression: 'SET v = :two',
      ConditionExpression: 'v = :one',
      ExpressionAttributeValues: { ':one': { N: '1' }, ':two': { N: '2' } },
    });
    assert.deepEqual(without(await read(key)), { v: { N: '2' } });
    const absent = await seed();
    await rejectsWith(
      update(absent, { ConditionExpression: 'attribute_exists(id)' }),
      'ConditionalCheckFailedException',
    );
    assert.equal(await read(absent), undefined);
  });

  it('supports legacy AttributeUpdates with Expected', async () => {
    const key = await seed({ n: { N: '1' }, s: { SS: ['a', 'b'] }, l: { L: [{ S: 'x' }] }, gone: { S: 'x' } });
    const out = await update(key, {
      AttributeUpdates: {
        n: { Action: 'ADD', Value: { N: '4' } },
        s: { Action: 'DELETE', Value: { SS: ['a'] } },
        l: { Action: 'ADD', Value: { L: [{ S: 'y' }] } },
        gone: { Action: 'DELETE' },
        p: { Value: { S: 'put' } },
      },
      Expected: { n: { Value: { N: '1' } } },
      ReturnValues: 'UPDATED_NEW',
    });
    assert.deepEqual(out.Attributes, {
      n: { N: '5' },
      s: { SS: ['b'] },
      l: { L: [{ S: 'x' }, { S: 'y' }] },
      p: { S: 'put' },
    });
    await rejectsWith(
      update(key, { AttributeUpdates: { s: { Action: 'ADD', Value: { NS: ['1'] } } } }),
      'ValidationException',
      'Type mismatch for attribute to update',
    );
  });

  const invalid = 'One or more parameter values were invalid: ';
  const errors: Array<[string, Partial<UpdateItemCommandInput>, string, Item?]> = [
    [
      'a key attribute',
      { UpdateExpression: 'SET id = :v', ExpressionAttributeValues: { ':v': { S: 'x' } } },
      `${invalid}Cannot update attribute id. This attribute is part of the key`,
    ],
    [
      'a nested path under the sort key',
      { UpdateExpression: 'REMOVE sk.a' },
      `${invalid}Cannot update attribute sk. This attribute is part of the key`,
    ],
    [
      'a key attribute in AttributeUpdates',
      { AttributeUpdates: { sk: { Value: { N: '2' } } } },
      `${invalid}Cannot update attribute sk. This attribute is part of the key`,
    ],
    [
      'overlapping paths',
      { UpdateExpression: 'SET a.b = :v REMOVE a', ExpressionAttributeValues: { ':v': { S: 'x' } } },
      'Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]',
    ],
    [
      'conflicting paths',
      {
        UpdateExpression: 'REMOVE a.#c SET a[1] = :v',
        ExpressionAttributeNames: { '#c': 'c' },
        ExpressionAttributeValues: { ':v': { S: 'x' } },
      },
      'Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]',
    ],
    [
      'a section used twice',
      { UpdateExpression: 'SET a = :v SET b = :v', ExpressionAttributeValues: { ':v': { S: 'x' } } },
      'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;',
    ],
    [
      'a syntax error',
      { UpdateExpression: 'SET a = b + c + d' },
      'Invalid UpdateExpression: Syntax error; token: "+", near: "c + d"',
    ],
    [
      'a section keyword as a name',
      { UpdateExpression: 'SET a = set' },
      'Invalid UpdateExpression: Syntax error; token: "set", near: "= set"',
    ],
    ['an empty expression', { UpdateExpression: '' }, 'Invalid UpdateExpression: The expression can not be empty;'],
    [
      'a reserved word',
      { UpdateExpression: 'REMOVE absolute' },
      'Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: absolute',
    ],
    [
      'an unknown function',
      { UpdateExpression: 'SET a = size(b)' },
      'Invalid UpdateExpression: Invalid function name; function: size',
    ],
    [
      'an undefined value',
      { UpdateExpression: 'SET a = :nope' },
      'Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :nope',
    ],
    [
      'an unused value',
      { UpdateExpression: 'REMOVE a', ExpressionAttributeValues: { ':x': { S: 'x' } } },
      'Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}',
    ],
    [
      'ADD of a string',
      { UpdateExpression: 'ADD a :s', ExpressionAttributeValues: { ':s': { S: 'x' } } },
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING',
    ],
    [
      'DELETE of a number',
      { UpdateExpression: 'DELETE a :n', ExpressionAttributeValues: { ':n': { N: '1' } } },
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER',
    ],
    [
      '+ on a string value',
      { UpdateExpression: 'SET a = a + :s', ExpressionAttributeValues: { ':s': { S: 'x' } } },
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S',
    ],
    [
      'if_not_exists without a path',
      { UpdateExpression: 'SET a = if_not_exists(:s, a)', ExpressionAttributeValues: { ':s': { S: 'x' } } },
      'Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists',
    ],
    [
      'list_append with one operand',
      { UpdateExpression: 'SET a = list_append(a)' },
      'Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1',
    ],
    [
      'list_append of a string',
      { UpdateExpression: 'SET a = list_append(a, :s)', ExpressionAttributeValues: { ':s': { S: 'x' } } },
      'Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S',
    ],
    [
      'a reference to a missing attribute',
      { UpdateExpression: 'SET a = nothing' },
      'The provided expression refers to an attribute that does not exist in the item',
    ],
    [
      'arithmetic on a string attribute',
      { UpdateExpression: 'SET b = s + :n', ExpressionAttributeValues: { ':n': { N: '1' } } },
      'An operand in the update expression has an incorrect data type',
      { s: { S: 'x' } },
    ],
    [
      'ADD of a number to a set',
      { UpdateExpression: 'ADD s :n', ExpressionAttributeValues: { ':n': { N: '1' } } },
      'An operand in the update expression has an incorrect data type',
      { s: { SS: ['x'] } },
    ],
    [
      'a path through a missing map',
      { UpdateExpression: 'SET nothing.a = :n', ExpressionAttributeValues: { ':n': { N: '1' } } },
      'The document path provided in the update expression is invalid for update',
    ],
    [
      'a path through a scalar',
      { UpdateExpression: 'SET s[0] = :n', ExpressionAttributeValues: { ':n': { N: '1' } } },
      'The document path provided in the update expression is invalid for update',
      { s: { S: 'x' } },
    ],
    [
      'number overflow',
      { UpdateExpression: 'ADD n :big', ExpressionAttributeValues: { ':big': { N: BIGGEST } } },
      'Number overflow. Attempting to store a number with magnitude larger than supported range',
      { n: { N: BIGGEST } },
    ],
    [
      'a sum needing more than 38 digits',
      { UpdateExpression: 'SET n = n + :tiny', ExpressionAttributeValues: { ':tiny': { N: '0.1' } } },
      'Attempting to store more than 38 significant digits in a Number',
      { n: { N: '12345678901234567890123456789012345678' } },
    ],
    [
      'both expression and legacy parameters',
      { UpdateExpression: 'REMOVE a', AttributeUpdates: { b: { Action: 'DELETE' } } },
      'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}',
    ],
    [
      'a legacy update without a value',
      { AttributeUpdates: { b: { Action: 'PUT' } } },
      `${invalid}Only DELETE action is allowed when no attribute value is specified`,
    ],
    [
      'a legacy ADD of a string',
      { AttributeUpdates: { b: { Action: 'ADD', Value: { S: 'x' } } } },
      `${invalid}ADD action is not supported for the type S`,
    ],
  ];
  for (const [title, input, message, existing] of errors) {
    it(`rejects ${title}`, async () => {
      const key = await seed(existing);
      await rejectsWith(update(key, input), 'ValidationException', message);
      // Nothing was written.
      assert.deepEqual(without(await read(key)), existing ?? {});
    });
  }
});
