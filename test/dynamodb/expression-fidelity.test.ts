/**
 * Issue 11, items 4-8: expression validation as DynamoDB does it — key attributes in filters
 * and document paths, operand types of ordering comparisons, legacy condition rules, the
 * limits on expressions, names and documents, and size() of strings.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Item = Record<string, AttributeValue>;

const TABLE = 'Fidelity';
const KEY: Item = { pk: { S: 'p' }, sk: { N: '1' } };
const ITEM: Item = {
  ...KEY,
  a: { N: '5' },
  s: { S: 'abÿ' },
  astral: { S: 'é𝄞' },
  bin: { B: new Uint8Array([0xc3, 0xbf, 0x01]) },
};

const nested = (levels: number): AttributeValue => {
  let value: AttributeValue = { S: 'leaf' };
  for (let i = 0; i < levels; i++) value = { M: { n: value } };
  return value;
};

describe('expression fidelity (issue 11, items 4-8)', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: TABLE,
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
    await ddb.send(new PutItemCommand({ TableName: TABLE, Item: ITEM }));
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const stored = async (): Promise<Item | undefined> =>
    (await ddb.send(new GetItemCommand({ TableName: TABLE, Key: KEY, ConsistentRead: true }))).Item;

  describe('item 4: a Query filter may not name a key attribute', () => {
    const keyCondition = { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } } };

    it('refuses a FilterExpression on the sort key or (through a placeholder) the partition key', async () => {
      await rejectsWith(
        ddb.send(
          new QueryCommand({
            TableName: TABLE,
            ...keyCondition,
            FilterExpression: 'sk > :n',
            ExpressionAttributeValues: { ':p': { S: 'p' }, ':n': { N: '0' } },
          }),
        ),
        'ValidationException',
        'Filter Expression can only contain non-primary key attributes: Primary key attribute: sk',
      );
      // Both keys named: the partition key is reported, as DynamoDB checks it first.
      await rejectsWith(
        ddb.send(
          new QueryCommand({
            TableName: TABLE,
            ...keyCondition,
            FilterExpression: 'attribute_exists(sk) AND #k = :p',
            ExpressionAttributeNames: { '#k': 'pk' },
          }),
        ),
        'ValidationException',
        'Filter Expression can only contain non-primary key attributes: Primary key attribute: pk',
      );
    });

    it('refuses a QueryFilter on a key attribute', async () => {
      await rejectsWith(
        ddb.send(
          new QueryCommand({
            TableName: TABLE,
            KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] } },
            QueryFilter: { sk: { ComparisonOperator: 'GT', AttributeValueList: [{ N: '0' }] } },
          }),
        ),
        'ValidationException',
        'QueryFilter can only contain non-primary key attributes: Primary key attribute: sk',
      );
    });

    it('lets Scan filter on key attributes', async () => {
      const out = await ddb.send(
        new ScanCommand({
          TableName: TABLE,
          FilterExpression: 'pk = :p AND sk > :n',
          ExpressionAttributeValues: { ':p': { S: 'p' }, ':n': { N: '0' } },
        }),
      );
      assert.equal(out.Count, 1);
      const legacy = await ddb.send(
        new ScanCommand({
          TableName: TABLE,
          ScanFilter: { sk: { ComparisonOperator: 'EQ', AttributeValueList: [{ N: '1' }] } },
        }),
      );
      assert.equal(legacy.Count, 1);
    });
  });

  describe('item 5: paths into key attributes', () => {
    const scalars = (key: string) =>
      `Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: ${key}`;

    it('refuses a ProjectionExpression path into a key attribute (GetItem, Query, Scan)', async () => {
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: TABLE, Key: KEY, ProjectionExpression: 'a, pk.x' })),
        'ValidationException',
        scalars('pk'),
      );
      await rejectsWith(
        ddb.send(
          new GetItemCommand({
            TableName: TABLE,
            Key: KEY,
            ProjectionExpression: '#s[0]',
            ExpressionAttributeNames: { '#s': 'sk' },
          }),
        ),
        'ValidationException',
        scalars('sk'),
      );
      await rejectsWith(
        ddb.send(
          new QueryCommand({
            TableName: TABLE,
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': { S: 'p' } },
            ProjectionExpression: 'sk.x',
          }),
        ),
        'ValidationException',
        scalars('sk'),
      );
      await rejectsWith(
        ddb.send(new ScanCommand({ TableName: TABLE, ProjectionExpression: 'pk[1]' })),
        'ValidationException',
        scalars('pk'),
      );
    });

    it('refuses a Scan FilterExpression path into a key attribute', async () => {
      await rejectsWith(
        ddb.send(
          new ScanCommand({
            TableName: TABLE,
            FilterExpression: 'attribute_exists(a) AND sk.x = :n',
            ExpressionAttributeValues: { ':n': { N: '1' } },
          }),
        ),
        'ValidationException',
        scalars('sk'),
      );
    });

    it('still projects key attributes as a whole', async () => {
      const out = await ddb.send(new GetItemCommand({ TableName: TABLE, Key: KEY, ProjectionExpression: 'pk, a' }));
      assert.deepEqual(out.Item, { pk: ITEM.pk, a: ITEM.a });
    });
  });

  describe('item 6: operand types and legacy condition rules', () => {
    const incorrect = (kind: string, operator: string, type: string) =>
      `Invalid ${kind}: Incorrect operand type for operator or function; operator or function: ${operator}, operand type: ${type}`;

    it('refuses ordering comparisons against a map, list, set, NULL or boolean constant', async () => {
      const cases: Array<[string, AttributeValue, string, string]> = [
        ['a < :v', { M: {} }, '<', 'M'],
        ['a >= :v', { L: [{ N: '1' }] }, '>=', 'L'],
        [':v > a', { NULL: true }, '>', 'NULL'],
        ['a <= :v', { SS: ['x'] }, '<=', 'SS'],
        ['a BETWEEN :v AND :v', { BOOL: false }, 'BETWEEN', 'BOOL'],
      ];
      for (const [expression, value, operator, type] of cases) {
        await rejectsWith(
          ddb.send(
            new ScanCommand({
              TableName: TABLE,
              FilterExpression: expression,
              ExpressionAttributeValues: { ':v': value },
            }),
          ),
          'ValidationException',
          incorrect('FilterExpression', operator, type),
        );
      }
      await rejectsWith(
        ddb.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: { ...ITEM, a: { N: '6' } },
            ConditionExpression: 'a > :v',
            ExpressionAttributeValues: { ':v': { NS: ['1'] } },
          }),
        ),
        'ValidationException',
        incorrect('ConditionExpression', '>', 'NS'),
      );
      assert.deepEqual(await stored(), ITEM);
    });

    it('still evaluates equality against such constants (a failed condition, not an error)', async () => {
      await assert.rejects(
        ddb.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: ITEM,
            ConditionExpression: 'a = :v',
            ExpressionAttributeValues: { ':v': { M: {} } },
          }),
        ),
        ConditionalCheckFailedException,
      );
    });

    it('refuses a legacy IN whose values are of different types', async () => {
      const sameType =
        'One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type';
      await rejectsWith(
        ddb.send(
          new ScanCommand({
            TableName: TABLE,
            ScanFilter: { a: { ComparisonOperator: 'IN', AttributeValueList: [{ N: '5' }, { S: '5' }] } },
          }),
        ),
        'ValidationException',
        sameType,
      );
      await rejectsWith(
        ddb.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: ITEM,
            Expected: { a: { ComparisonOperator: 'IN', AttributeValueList: [{ S: 'x' }, { N: '5' }] } },
          }),
        ),
        'ValidationException',
        sameType,
      );
    });

    it('refuses ConditionalOperator without Expected or a filter, or with a single condition', async () => {
      const without = 'ConditionalOperator cannot be used without Filter or Expected';
      const single = 'ConditionalOperator can only be used when Filter or Expected has two or more elements';
      await rejectsWith(
        ddb.send(new PutItemCommand({ TableName: TABLE, Item: ITEM, ConditionalOperator: 'AND' })),
        'ValidationException',
        without,
      );
      await rejectsWith(
        ddb.send(
          new UpdateItemCommand({
            TableName: TABLE,
            Key: KEY,
            AttributeUpdates: { z: { Action: 'PUT', Value: { S: 'z' } } },
            ConditionalOperator: 'OR',
          }),
        ),
        'ValidationException',
        without,
      );
      await rejectsWith(
        ddb.send(new ScanCommand({ TableName: TABLE, ConditionalOperator: 'OR' })),
        'ValidationException',
        without,
      );
      await rejectsWith(
        ddb.send(
          new QueryCommand({
            TableName: TABLE,
            KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] } },
            ConditionalOperator: 'AND',
          }),
        ),
        'ValidationException',
        without,
      );
      await rejectsWith(
        ddb.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: ITEM,
            Expected: { a: { Value: { N: '5' } } },
            ConditionalOperator: 'AND',
          }),
        ),
        'ValidationException',
        single,
      );
      await rejectsWith(
        ddb.send(
          new ScanCommand({
            TableName: TABLE,
            ScanFilter: { a: { ComparisonOperator: 'NOT_NULL' } },
            ConditionalOperator: 'AND',
          }),
        ),
        'ValidationException',
        single,
      );
      assert.deepEqual(await stored(), ITEM);
    });
  });

  describe('item 7: limits', () => {
    it('refuses empty attribute names in items, keys and ExpressionAttributeNames', async () => {
      const empty = 'One or more parameter values were invalid: Empty attribute name';
      await rejectsWith(
        ddb.send(new PutItemCommand({ TableName: TABLE, Item: { ...ITEM, '': { S: 'x' } } })),
        'ValidationException',
        empty,
      );
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: TABLE, Key: { ...KEY, '': { S: 'x' } } })),
        'ValidationException',
        empty,
      );
      await rejectsWith(
        ddb.send(
          new GetItemCommand({
            TableName: TABLE,
            Key: KEY,
            ProjectionExpression: '#a',
            ExpressionAttributeNames: { '#a': '' },
          }),
        ),
        'ValidationException',
        'ExpressionAttributeNames contains invalid value: Empty attribute name for key #a',
      );
      assert.deepEqual(await stored(), ITEM);
    });

    it('allows 300 operators and functions in an expression, not 301', async () => {
      const comparisons = (n: number) => Array.from({ length: n }, () => 'a = :v').join(' AND ');
      const scan = (expression: string) =>
        ddb.send(
          new ScanCommand({
            TableName: TABLE,
            FilterExpression: expression,
            ExpressionAttributeValues: { ':v': { N: '5' } },
          }),
        );
      // 150 comparisons, 149 ANDs and one NOT: 300.
      assert.equal((await scan(`NOT ${comparisons(150)}`)).Count, 0);
      // Functions count too: size, >, OR, 149 comparisons and 148 ANDs.
      assert.equal((await scan(`size(a) > :v OR ${comparisons(149)}`)).Count, 1);
      await rejectsWith(
        scan(`NOT NOT ${comparisons(150)}`),
        'ValidationException',
        'Invalid FilterExpression: The expression contains too many operators; operator count: 301',
      );
    });

    it('allows document paths of 32 levels, not 33', async () => {
      const out = await ddb.send(
        new GetItemCommand({ TableName: TABLE, Key: KEY, ProjectionExpression: `a${'.b'.repeat(31)}` }),
      );
      assert.deepEqual(out.Item, {});
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: TABLE, Key: KEY, ProjectionExpression: `a${'[0]'.repeat(32)}` })),
        'ValidationException',
        'Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33',
      );
      await rejectsWith(
        ddb.send(
          new ScanCommand({
            TableName: TABLE,
            FilterExpression: `attribute_exists(a${'.b'.repeat(32)})`,
          }),
        ),
        'ValidationException',
        'Invalid FilterExpression: The document path has too many nesting levels; nesting levels: 33',
      );
    });

    it('refuses list indexes beyond the allowed range', async () => {
      const out = await ddb.send(
        new GetItemCommand({ TableName: TABLE, Key: KEY, ProjectionExpression: 'a[4294967294]' }),
      );
      assert.deepEqual(out.Item, {});
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: TABLE, Key: KEY, ProjectionExpression: 'a[99999999999]' })),
        'ValidationException',
        'Invalid ProjectionExpression: List index is not within the allowable range; index: [99999999999]',
      );
    });

    it('refuses documents nested deeper than 32 levels with a ValidationException about nesting', async () => {
      const nesting =
        'Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit';
      for (const levels of [32, 40, 45]) {
        await rejectsWith(
          ddb.send(new PutItemCommand({ TableName: TABLE, Item: { ...ITEM, deep: nested(levels) } })),
          'ValidationException',
          nesting,
        );
      }
      const deepest = { ...KEY, deep: nested(31) };
      await ddb.send(new PutItemCommand({ TableName: TABLE, Item: deepest }));
      // An update that puts 31 levels under the 32nd makes the item too deep.
      await rejectsWith(
        ddb.send(
          new UpdateItemCommand({
            TableName: TABLE,
            Key: KEY,
            UpdateExpression: 'SET deep.n = :v',
            ExpressionAttributeValues: { ':v': nested(31) },
          }),
        ),
        'ValidationException',
        nesting,
      );
      assert.deepEqual(await stored(), deepest);
      await ddb.send(new PutItemCommand({ TableName: TABLE, Item: ITEM }));
    });
  });

  describe('item 8: size() of a String counts characters', () => {
    const sizeIs = async (path: string, n: number) =>
      (
        await ddb.send(
          new ScanCommand({
            TableName: TABLE,
            FilterExpression: `size(${path}) = :n`,
            ExpressionAttributeValues: { ':n': { N: String(n) } },
          }),
        )
      ).Count === 1;

    it('counts UTF-16 code units of strings and bytes of binaries', async () => {
      assert.equal(await sizeIs('s', 3), true);
      assert.equal(await sizeIs('s', 4), false);
      // A character outside the BMP counts twice, as in DynamoDB.
      assert.equal(await sizeIs('astral', 3), true);
      assert.equal(await sizeIs('bin', 3), true);
    });
  });
});
