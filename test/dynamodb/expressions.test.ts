import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Item = Record<string, AttributeValue>;

const DOC: Item = {
  pk: { S: 'doc' },
  sk: { N: '1' },
  title: { S: 'widget' },
  qty: { N: '42' },
  price: { N: '9.5' },
  bin: { B: new Uint8Array([1, 2, 3]) },
  flag: { BOOL: true },
  nothing: { NULL: true },
  tags: { SS: ['red', 'blue'] },
  sizes: { NS: ['1', '2.5', '10'] },
  bins: { BS: [new Uint8Array([9]), new Uint8Array([8, 7])] },
  arr: { L: [{ S: 'zero' }, { N: '1' }, { M: { c: { S: 'deep' } } }] },
  doc: {
    M: {
      b: { L: [{ N: '0' }, { N: '1' }, { M: { c: { N: '7' } } }] },
      'with space': { S: 'yes' },
    },
  },
  // A reserved word as an attribute name: only reachable through a placeholder.
  size: { N: '3' },
};

describe('condition and filter expressions', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Docs',
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
    await ddb.send(new PutItemCommand({ TableName: 'Docs', Item: DOC }));
    for (let i = 1; i <= 10; i++) {
      await ddb.send(
        new PutItemCommand({
          TableName: 'Docs',
          Item: { pk: { S: 'rows' }, sk: { N: String(i) }, even: { BOOL: i % 2 === 0 }, n: { N: String(i) } },
        }),
      );
    }
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const VALUES: Item = {
    ':widget': { S: 'widget' },
    ':wid': { S: 'wid' },
    ':dg': { S: 'dg' },
    ':red': { S: 'red' },
    ':green': { S: 'green' },
    ':n42': { N: '42' },
    ':n42f': { N: '42.000' },
    ':n9': { N: '9' },
    ':n10': { N: '10' },
    ':n100': { N: '100' },
    ':n1': { N: '1' },
    ':n2': { N: '2' },
    ':n3': { N: '3' },
    ':n6': { N: '6' },
    ':n7': { N: '7' },
    ':b12': { B: new Uint8Array([1, 2]) },
    ':b23': { B: new Uint8Array([2, 3]) },
    ':b87': { B: new Uint8Array([8, 7]) },
    ':S': { S: 'S' },
    ':N': { S: 'N' },
    ':SS': { S: 'SS' },
    ':L': { S: 'L' },
    ':M': { S: 'M' },
    ':NULL': { S: 'NULL' },
    ':BOOL': { S: 'BOOL' },
    ':true': { BOOL: true },
    ':zero': { S: 'zero' },
    ':one': { N: '1' },
    ':tags': { SS: ['blue', 'red'] },
    ':deepmap': { M: { c: { S: 'deep' } } },
    ':a': { S: 'a' },
    ':z': { S: 'z' },
  };

  /** Whether the expression holds for DOC, as a FilterExpression of a Query. */
  async function holds(expression: string, names?: Record<string, string>): Promise<boolean> {
    const used = Object.fromEntries(
      Object.entries(VALUES).filter(([k]) => new RegExp(`${k}(?![A-Za-z0-9_])`).test(expression)),
    );
    const out = await ddb.send(
      new QueryCommand({
        TableName: 'Docs',
        KeyConditionExpression: 'pk = :pk',
        FilterExpression: expression,
        ExpressionAttributeValues: { ...used, ':pk': { S: 'doc' } },
        ...(names ? { ExpressionAttributeNames: names } : {}),
      }),
    );
    assert.equal(out.ScannedCount, 1);
    return out.Count === 1;
  }

  const cases: Array<[string, boolean, Record<string, string>?]> = [
    // comparators
    ['title = :widget', true],
    ['qty = :n42f', true], // numbers compare numerically
    ['title <> :widget', false],
    ['absent <> :widget', true],
    ['absent = :widget', false],
    ['qty < :n100', true],
    ['qty <= :n42', true],
    ['qty > :n42', false],
    ['qty >= :n42', true],
    ['title < :z', true],
    ['title > :z', false],
    ['bin > :b12', true],
    ['title < :n100', false], // different types never compare
    [':n9 < qty', true],
    ['tags = :tags', true], // sets compare regardless of order
    ['arr[2] = :deepmap', true],
    // BETWEEN and IN
    ['qty BETWEEN :n10 AND :n100', true],
    ['qty BETWEEN :n1 AND :n10', false],
    ['title BETWEEN :a AND :z', true],
    ['qty IN (:n1, :n42)', true],
    ['qty IN (:n1, :n2)', false],
    ['title IN (:widget)', true],
    // logic and precedence: NOT > AND > OR
    ['title = :wid OR qty = :n42 AND flag = :true', true],
    ['(title = :wid OR qty = :n42) AND flag = :true', true],
    ['title = :wid OR qty = :n1 AND flag = :true', false],
    ['NOT title = :wid AND qty = :n42', true],
    ['NOT (title = :widget AND qty = :n42)', false],
    ['NOT NOT title = :widget', true],
    ['(qty) = :n42', true],
    // functions
    ['attribute_exists(title)', true],
    ['attribute_exists(absent)', false],
    ['attribute_not_exists(absent)', true],
    ['attribute_not_exists(doc.b[2].c)', false],
    ['attribute_exists(doc.b[3])', false],
    ['attribute_type(qty, :N)', true],
    ['attribute_type(tags, :SS)', true],
    ['attribute_type(arr, :L)', true],
    ['attribute_type(doc, :M)', true],
    ['attribute_type(nothing, :NULL)', true],
    ['attribute_type(flag, :BOOL)', true],
    ['attribute_type(title, :N)', false],
    ['begins_with(title, :wid)', true],
    ['begins_with(title, :dg)', false],
    ['begins_with(bin, :b12)', true],
    ['begins_with(bin, :b23)', false],
    ['begins_with(qty, :wid)', false],
    ['contains(title, :dg)', true],
    ['contains(tags, :red)', true],
    ['contains(tags, :green)', false],
    ['contains(sizes, :n10)', true],
    ['contains(bins, :b87)', true],
    ['contains(bin, :b23)', true],
    ['contains(arr, :zero)', true],
    ['contains(arr, :one)', true],
    ['contains(arr, :deepmap)', true],
    ['contains(absent, :red)', false],
    ['size(title) = :n6', true],
    ['size(bin) = :n3', true],
    ['size(tags) = :n2', true],
    ['size(sizes) = :n3', true],
    ['size(arr) = :n3', true],
    ['size(doc) = :n2', true],
    ['size(qty) = :n2', false],
    ['size(absent) < :n100', false],
    // document paths
    ['doc.b[2].c = :n7', true],
    ['doc.b[1] = :one', true],
    ['arr[2].c = :wid', false],
    ['#m.#s = :true', false, { '#m': 'doc', '#s': 'with space' }],
    ['attribute_exists(#m.#s)', true, { '#m': 'doc', '#s': 'with space' }],
    ['#size = :n3', true, { '#size': 'size' }],
    ['size(#size) = :n3', false, { '#size': 'size' }],
    ['#n = :widget AND #n <> :wid', true, { '#n': 'title' }],
  ];

  for (const [expression, expected, names] of cases) {
    it(`${expression} is ${expected}`, async () => {
      assert.equal(await holds(expression, names), expected);
    });
  }

  const put = (input: Partial<PutItemCommandInput>) =>
    ddb.send(new PutItemCommand({ TableName: 'Docs', Item: DOC, ...input }));

  it('guards PutItem and DeleteItem with ConditionExpression, returning the item when asked', async () => {
    await put({
      ConditionExpression: 'attribute_exists(pk) AND qty = :c',
      ExpressionAttributeValues: { ':c': { N: '42' } },
    });
    await assert.rejects(
      put({
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
      (error: Error) => {
        assert.ok(error instanceof ConditionalCheckFailedException);
        assert.equal(error.message, 'The conditional request failed');
        assert.deepEqual(error.Item, DOC);
        return true;
      },
    );
    await assert.rejects(put({ ConditionExpression: 'attribute_not_exists(pk)' }), (error: Error) => {
      assert.ok(error instanceof ConditionalCheckFailedException);
      assert.equal(error.Item, undefined);
      return true;
    });
    const fresh = { pk: { S: 'tmp' }, sk: { N: '1' }, v: { N: '1' } };
    await put({ Item: fresh, ConditionExpression: 'attribute_not_exists(pk)' });
    await rejectsWith(
      ddb.send(
        new DeleteItemCommand({
          TableName: 'Docs',
          Key: { pk: fresh.pk, sk: fresh.sk },
          ConditionExpression: 'v > :v',
          ExpressionAttributeValues: { ':v': { N: '1' } },
        }),
      ),
      'ConditionalCheckFailedException',
    );
    const deleted = await ddb.send(
      new DeleteItemCommand({
        TableName: 'Docs',
        Key: { pk: fresh.pk, sk: fresh.sk },
        ConditionExpression: 'v = :v',
        ExpressionAttributeValues: { ':v': { N: '1' } },
        ReturnValues: 'ALL_OLD',
      }),
    );
    assert.deepEqual(deleted.Attributes, fresh);
    const replaced = await put({ Item: { ...DOC }, ReturnValues: 'ALL_OLD' });
    assert.deepEqual(replaced.Attributes, DOC);
  });

  it('supports the legacy Expected parameter with ConditionalOperator', async () => {
    await put({ Expected: { title: { Value: { S: 'widget' } }, absent: { Exists: false } } });
    await put({
      Expected: {
        title: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'nope' }] },
        qty: { ComparisonOperator: 'GT', AttributeValueList: [{ N: '40' }] },
      },
      ConditionalOperator: 'OR',
    });
    await put({ Expected: { tags: { ComparisonOperator: 'NOT_CONTAINS', AttributeValueList: [{ S: 'green' }] } } });
    await put({ Expected: { qty: { ComparisonOperator: 'BETWEEN', AttributeValueList: [{ N: '1' }, { N: '42' }] } } });
    await put({ Expected: { qty: { ComparisonOperator: 'IN', AttributeValueList: [{ N: '1' }, { N: '42' }] } } });
    await put({ Expected: { title: { ComparisonOperator: 'BEGINS_WITH', AttributeValueList: [{ S: 'wi' }] } } });
    await put({ Expected: { absent: { ComparisonOperator: 'NULL' } } });
    await rejectsWith(
      put({ Expected: { absent: { ComparisonOperator: 'NOT_CONTAINS', AttributeValueList: [{ S: 'x' }] } } }),
      'ConditionalCheckFailedException',
    );
    await rejectsWith(put({ Expected: { title: { Exists: false } } }), 'ConditionalCheckFailedException');
    await rejectsWith(
      put({
        Expected: {
          title: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'nope' }] },
          qty: { ComparisonOperator: 'GT', AttributeValueList: [{ N: '40' }] },
        },
      }),
      'ConditionalCheckFailedException',
    );
  });

  const invalid = 'One or more parameter values were invalid: ';
  const legacyErrors: Array<[string, Partial<PutItemCommandInput>, string]> = [
    [
      'no value and no Exists',
      { Expected: { a: {} } },
      `${invalid}Value must be provided when Exists is null for Attribute: a`,
    ],
    [
      'Exists true without a value',
      { Expected: { a: { Exists: true } } },
      `${invalid}Value must be provided when Exists is true for Attribute: a`,
    ],
    [
      'Exists false with a value',
      { Expected: { a: { Exists: false, Value: { S: 'x' } } } },
      `${invalid}Value cannot be used when Exists is false for Attribute: a`,
    ],
    [
      'Exists with ComparisonOperator',
      { Expected: { a: { Exists: true, ComparisonOperator: 'EQ' } } },
      `${invalid}Exists and ComparisonOperator cannot be used together for Attribute: a`,
    ],
    [
      'a wrong argument qty',
      { Expected: { a: { ComparisonOperator: 'BETWEEN', AttributeValueList: [{ N: '1' }] } } },
      `${invalid}Invalid number of argument(s) for the BETWEEN ComparisonOperator`,
    ],
    [
      'a type an operator refuses',
      { Expected: { a: { ComparisonOperator: 'GT', AttributeValueList: [{ BOOL: true }] } } },
      `${invalid}ComparisonOperator GT is not valid for BOOL AttributeValue type`,
    ],
    [
      'an operator without values',
      { Expected: { a: { ComparisonOperator: 'EQ' } } },
      `${invalid}Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: a`,
    ],
    [
      'Expected with a ConditionExpression',
      { Expected: { a: { Exists: false } }, ConditionExpression: 'attribute_exists(a)' },
      'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}',
    ],
  ];
  for (const [title, input, message] of legacyErrors) {
    it(`rejects Expected with ${title}`, async () => {
      await rejectsWith(put(input), 'ValidationException', message);
    });
  }

  const expressionErrors: Array<[string, Partial<PutItemCommandInput>, string]> = [
    [
      'an empty expression',
      { ConditionExpression: '' },
      'Invalid ConditionExpression: The expression can not be empty;',
    ],
    [
      'a syntax error',
      { ConditionExpression: 'a = = b' },
      'Invalid ConditionExpression: Syntax error; token: "=", near: "= = b"',
    ],
    [
      'a reserved word',
      { ConditionExpression: 'attribute_exists(size)' },
      'Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: size',
    ],
    [
      'an unknown function',
      { ConditionExpression: 'exists(a)' },
      'Invalid ConditionExpression: Invalid function name; function: exists',
    ],
    [
      'an undefined value',
      { ConditionExpression: 'a = :nope' },
      'Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope',
    ],
    [
      'an undefined name',
      { ConditionExpression: '#nope = a' },
      'Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope',
    ],
    [
      'an unused value',
      { ConditionExpression: 'attribute_exists(a)', ExpressionAttributeValues: { ':x': { S: 'x' } } },
      'Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}',
    ],
    [
      'BETWEEN bounds in the wrong order',
      {
        ConditionExpression: 'a BETWEEN :hi AND :lo',
        ExpressionAttributeValues: { ':hi': { N: '2' }, ':lo': { N: '1' } },
      },
      'Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:2}, upper bound operand: AttributeValue: {N:1}',
    ],
    [
      'size as a condition',
      { ConditionExpression: 'size(a)' },
      'Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size',
    ],
  ];
  for (const [title, input, message] of expressionErrors) {
    it(`rejects a ConditionExpression with ${title}`, async () => {
      await rejectsWith(put(input), 'ValidationException', message);
    });
  }

  describe('Query and Scan filters and projections', () => {
    const rows = (input: Partial<QueryCommandInput>) =>
      ddb.send(
        new QueryCommand({
          TableName: 'Docs',
          KeyConditionExpression: 'pk = :pk',
          ...input,
          ExpressionAttributeValues: { ':pk': { S: 'rows' }, ...input.ExpressionAttributeValues },
        }),
      );

    it('applies FilterExpression after Limit: Count vs ScannedCount', async () => {
      const page = await rows({
        Limit: 4,
        FilterExpression: 'even = :t',
        ExpressionAttributeValues: { ':t': { BOOL: true } },
      });
      assert.equal(page.ScannedCount, 4);
      assert.equal(page.Count, 2);
      assert.deepEqual(
        page.Items?.map((i) => i.sk?.N),
        ['2', '4'],
      );
      assert.deepEqual(page.LastEvaluatedKey, { pk: { S: 'rows' }, sk: { N: '4' } });
      const all = await rows({ FilterExpression: 'n > :five', ExpressionAttributeValues: { ':five': { N: '5' } } });
      assert.equal(all.Count, 5);
      assert.equal(all.ScannedCount, 10);
    });

    it('projects document paths and counts with Select COUNT', async () => {
      const got = await ddb.send(
        new GetItemCommand({
          TableName: 'Docs',
          Key: { pk: DOC.pk as AttributeValue, sk: DOC.sk as AttributeValue },
          ProjectionExpression: 'doc.b[2].c, arr[2], arr[0], #s, absent',
          ExpressionAttributeNames: { '#s': 'size' },
        }),
      );
      assert.deepEqual(got.Item, {
        doc: { M: { b: { L: [{ M: { c: { N: '7' } } }] } } },
        arr: { L: [{ S: 'zero' }, { M: { c: { S: 'deep' } } }] },
        size: { N: '3' },
      });
      const counted = await rows({
        Select: 'COUNT',
        FilterExpression: 'even = :f',
        ExpressionAttributeValues: { ':f': { BOOL: false } },
      });
      assert.equal(counted.Items, undefined);
      assert.equal(counted.Count, 5);
      const specific = await rows({ Select: 'SPECIFIC_ATTRIBUTES', ProjectionExpression: 'n', Limit: 1 });
      assert.deepEqual(specific.Items, [{ n: { N: '1' } }]);
    });

    it('rejects overlapping projection paths', async () => {
      await rejectsWith(
        ddb.send(new ScanCommand({ TableName: 'Docs', ProjectionExpression: 'doc, doc.b' })),
        'ValidationException',
        'Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [doc], path two: [doc, b]',
      );
      await rejectsWith(
        ddb.send(new ScanCommand({ TableName: 'Docs', ProjectionExpression: 'arr[0], arr.a' })),
        'ValidationException',
        'Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [arr, [0]], path two: [arr, a]',
      );
    });

    it('supports QueryFilter and ScanFilter with ConditionalOperator', async () => {
      const filtered = await ddb.send(
        new QueryCommand({
          TableName: 'Docs',
          KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'rows' }] } },
          QueryFilter: {
            n: { ComparisonOperator: 'LE', AttributeValueList: [{ N: '2' }] },
            even: { ComparisonOperator: 'EQ', AttributeValueList: [{ BOOL: true }] },
          },
          ConditionalOperator: 'OR',
        }),
      );
      assert.deepEqual(
        filtered.Items?.map((i) => i.sk?.N),
        ['1', '2', '4', '6', '8', '10'],
      );
      const scanned = await ddb.send(
        new ScanCommand({
          TableName: 'Docs',
          ScanFilter: {
            n: { ComparisonOperator: 'BETWEEN', AttributeValueList: [{ N: '3' }, { N: '5' }] },
            even: { ComparisonOperator: 'EQ', AttributeValueList: [{ BOOL: false }] },
          },
          AttributesToGet: ['n'],
        }),
      );
      assert.deepEqual(scanned.Items?.map((i) => i.n?.N).sort(), ['3', '5']);
      assert.equal(scanned.ScannedCount, 11);
      await rejectsWith(
        ddb.send(
          new ScanCommand({
            TableName: 'Docs',
            ScanFilter: { n: { ComparisonOperator: 'EQ', AttributeValueList: [{ N: '3' }] } },
            FilterExpression: 'n = :n',
            ExpressionAttributeValues: { ':n': { N: '3' } },
          }),
        ),
        'ValidationException',
        'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {ScanFilter} Expression parameters: {FilterExpression}',
      );
    });

    it('projects BatchGetItem results', async () => {
      const out = await ddb.send(
        new BatchGetItemCommand({
          RequestItems: {
            Docs: {
              Keys: [{ pk: { S: 'doc' }, sk: { N: '1' } }],
              ProjectionExpression: '#n, tags',
              ExpressionAttributeNames: { '#n': 'title' },
            },
          },
        }),
      );
      assert.deepEqual(out.Responses?.Docs, [{ title: { S: 'widget' }, tags: { SS: ['red', 'blue'] } }]);
    });
  });
});
