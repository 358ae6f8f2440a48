import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  type Condition,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type ScalarAttributeType,
  ScanCommand,
  type ScanCommandInput,
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

const bytesOf = (value: AttributeValue | undefined): Uint8Array => {
  assert.ok(value?.B, 'expected a B value');
  return value.B;
};

// Sort keys per type, listed in DynamoDB's order (N numeric, S by UTF-8 bytes, B bytewise).
const NUMBERS = [
  '-1000',
  '-10',
  '-2.5',
  '-2',
  '-0.001',
  '0',
  '0.001',
  '0.5',
  '1',
  '1.5',
  '2',
  '10',
  '99.99',
  '100',
  '1000000',
];
const STRINGS = ['A', 'B', 'a', 'ab', 'abc', 'abd', 'b', 'ba', 'z', '~', 'é', 'éa', '中'];
const BINARIES = [
  [0x00],
  [0x00, 0x00],
  [0x00, 0x01],
  [0x01],
  [0x7f],
  [0x80],
  [0xfe, 0xff],
  [0xff],
  [0xff, 0x00],
  [0xff, 0xff],
];

/** Inserts in a scrambled order so that storage order, not insertion order, is what the tests see. */
const scrambled = <T>(values: readonly T[]): T[] =>
  values
    .map((v, i) => [v, (i * 7) % values.length] as const)
    .sort((a, b) => a[1] - b[1])
    .map(([v]) => v);

describe('Query and Scan', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  const createTable = async (name: string, sortType?: ScalarAttributeType) => {
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          ...(sortType ? [{ AttributeName: 'sk', AttributeType: sortType }] : []),
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          ...(sortType ? [{ AttributeName: 'sk', KeyType: 'RANGE' as const }] : []),
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  };
  const put = (table: string, item: Item) => ddb.send(new PutItemCommand({ TableName: table, Item: item }));
  const query = (input: Omit<QueryCommandInput, 'TableName'> & { TableName?: string }) =>
    ddb.send(new QueryCommand({ TableName: 'Numbers', ...input }));
  const scan = (input: ScanCommandInput) => ddb.send(new ScanCommand(input));

  /** All pages of a query, following LastEvaluatedKey. */
  async function queryAll(input: QueryCommandInput): Promise<{ items: Item[]; pages: number[] }> {
    const items: Item[] = [];
    const pages: number[] = [];
    let start: Item | undefined;
    do {
      const page = await ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      pages.push(page.Count ?? -1);
      start = page.LastEvaluatedKey;
    } while (start);
    return { items, pages };
  }

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    await createTable('HashOnly');
    await createTable('Numbers', 'N');
    await createTable('Strings', 'S');
    await createTable('Binaries', 'B');
    for (const id of ['h1', 'h2', 'h3']) await put('HashOnly', { pk: { S: id }, n: { N: '1' } });
    for (const n of scrambled(NUMBERS)) await put('Numbers', { pk: { S: 'p' }, sk: { N: n }, v: { S: `v${n}` } });
    for (const n of ['1', '2']) await put('Numbers', { pk: { S: 'other' }, sk: { N: n } });
    for (const s of scrambled(STRINGS)) await put('Strings', { pk: { S: 'p' }, sk: { S: s } });
    for (const b of scrambled(BINARIES)) await put('Binaries', { pk: { S: 'p' }, sk: { B: Uint8Array.from(b) } });
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  describe('key conditions', () => {
    it('finds the one item of a hash-only table by its key', async () => {
      const found = await query({
        TableName: 'HashOnly',
        KeyConditionExpression: 'pk = :id',
        ExpressionAttributeValues: { ':id': { S: 'h2' } },
      });
      assert.deepEqual(found.Items, [{ pk: { S: 'h2' }, n: { N: '1' } }]);
      assert.equal(found.Count, 1);
      assert.equal(found.ScannedCount, 1);
      assert.equal(found.LastEvaluatedKey, undefined);

      const missing = await query({
        TableName: 'HashOnly',
        KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'nope' }] } },
      });
      assert.deepEqual(missing.Items, []);
      assert.equal(missing.Count, 0);
    });

    it('returns N sort keys in numeric order, negatives and decimals included, both directions', async () => {
      const forward = await query({
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
      });
      assert.deepEqual(
        forward.Items?.map((i) => i.sk?.N),
        NUMBERS,
      );
      assert.equal(forward.Items?.[0]?.v?.S, 'v-1000');
      const backward = await query({
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
        ScanIndexForward: false,
      });
      assert.deepEqual(
        backward.Items?.map((i) => i.sk?.N),
        [...NUMBERS].reverse(),
      );
    });

    it('returns S sort keys in UTF-8 byte order and B sort keys in byte order', async () => {
      const strings = await query({
        TableName: 'Strings',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
      });
      assert.deepEqual(
        strings.Items?.map((i) => i.sk?.S),
        STRINGS,
      );
      const binaries = await query({
        TableName: 'Binaries',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
      });
      assert.deepEqual(
        binaries.Items?.map((i) => [...bytesOf(i.sk)]),
        BINARIES,
      );
    });

    // Each case: the expression, its legacy KeyConditions twin, and the sort keys expected.
    const numberCases: Array<{
      expression: string;
      values: Record<string, string>;
      legacy: Condition;
      expected: string[];
    }> = [
      { expression: 'sk = :a', values: { ':a': '-2.5' }, legacy: cond('EQ', '-2.5'), expected: ['-2.5'] },
      {
        expression: 'sk < :a',
        values: { ':a': '0' },
        legacy: cond('LT', '0'),
        expected: ['-1000', '-10', '-2.5', '-2', '-0.001'],
      },
      {
        expression: 'sk <= :a',
        values: { ':a': '-2' },
        legacy: cond('LE', '-2'),
        expected: ['-1000', '-10', '-2.5', '-2'],
      },
      {
        expression: 'sk > :a',
        values: { ':a': '10' },
        legacy: cond('GT', '10'),
        expected: ['99.99', '100', '1000000'],
      },
      {
        expression: 'sk >= :a',
        values: { ':a': '99.99' },
        legacy: cond('GE', '99.99'),
        expected: ['99.99', '100', '1000000'],
      },
      {
        expression: 'sk BETWEEN :a AND :b',
        values: { ':a': '-2', ':b': '1' },
        legacy: cond('BETWEEN', '-2', '1'),
        expected: ['-2', '-0.001', '0', '0.001', '0.5', '1'],
      },
      { expression: 'sk > :a', values: { ':a': '1000000' }, legacy: cond('GT', '1000000'), expected: [] },
    ];
    function cond(operator: Condition['ComparisonOperator'], ...numbers: string[]): Condition {
      return { ComparisonOperator: operator, AttributeValueList: numbers.map((N) => ({ N })) };
    }

    for (const { expression, values, legacy, expected } of numberCases) {
      it(`selects N sort keys with ${expression} and with legacy ${legacy.ComparisonOperator}`, async () => {
        const byExpression = await query({
          KeyConditionExpression: `pk = :p AND ${expression}`,
          ExpressionAttributeValues: {
            ':p': { S: 'p' },
            ...Object.fromEntries(Object.entries(values).map(([k, N]) => [k, { N }])),
          },
        });
        assert.deepEqual(
          byExpression.Items?.map((i) => i.sk?.N),
          expected,
        );
        const byLegacy = await query({
          KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] }, sk: legacy },
        });
        assert.deepEqual(
          byLegacy.Items?.map((i) => i.sk?.N),
          expected,
        );
      });
    }

    it('selects S sort keys with begins_with, in both forms, as a byte range', async () => {
      const cases: Array<[string, string[]]> = [
        ['a', ['a', 'ab', 'abc', 'abd']],
        ['ab', ['ab', 'abc', 'abd']],
        ['é', ['é', 'éa']],
        ['x', []],
        ['~', ['~']],
      ];
      for (const [prefix, expected] of cases) {
        const byExpression = await query({
          TableName: 'Strings',
          KeyConditionExpression: 'begins_with(sk, :prefix) AND pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' }, ':prefix': { S: prefix } },
        });
        assert.deepEqual(
          byExpression.Items?.map((i) => i.sk?.S),
          expected,
          `prefix ${prefix}`,
        );
        const byLegacy = await query({
          TableName: 'Strings',
          KeyConditions: {
            pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
            sk: { ComparisonOperator: 'BEGINS_WITH', AttributeValueList: [{ S: prefix }] },
          },
        });
        assert.deepEqual(
          byLegacy.Items?.map((i) => i.sk?.S),
          expected,
          `legacy prefix ${prefix}`,
        );
      }
    });

    it('selects B sort keys with begins_with, including prefixes ending in 0xff, and with ranges', async () => {
      const cases: Array<[number[], number[][]]> = [
        [[0x00], [[0x00], [0x00, 0x00], [0x00, 0x01]]],
        [[0xff], [[0xff], [0xff, 0x00], [0xff, 0xff]]],
        [[0xfe], [[0xfe, 0xff]]],
        [[0xff, 0xff], [[0xff, 0xff]]],
      ];
      for (const [prefix, expected] of cases) {
        const found = await query({
          TableName: 'Binaries',
          KeyConditionExpression: 'pk = :p AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':p': { S: 'p' }, ':prefix': { B: Uint8Array.from(prefix) } },
        });
        assert.deepEqual(
          found.Items?.map((i) => [...bytesOf(i.sk)]),
          expected,
          `prefix ${prefix}`,
        );
      }
      const between = await query({
        TableName: 'Binaries',
        KeyConditions: {
          pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
          sk: {
            ComparisonOperator: 'BETWEEN',
            AttributeValueList: [{ B: Uint8Array.from([0x01]) }, { B: Uint8Array.from([0xff]) }],
          },
        },
      });
      assert.deepEqual(
        between.Items?.map((i) => [...bytesOf(i.sk)]),
        [[0x01], [0x7f], [0x80], [0xfe, 0xff], [0xff]],
      );
      const below = await query({
        TableName: 'Binaries',
        KeyConditionExpression: 'pk = :p AND sk < :b',
        ExpressionAttributeValues: { ':p': { S: 'p' }, ':b': { B: Uint8Array.from([0x00, 0x01]) } },
      });
      assert.deepEqual(
        below.Items?.map((i) => [...bytesOf(i.sk)]),
        [[0x00], [0x00, 0x00]],
      );
    });

    it('accepts the conditions in either order, with the operands swapped, in parentheses and through #names', async () => {
      const variants = [
        'sk >= :a AND pk = :p',
        ':a <= sk AND pk = :p',
        '(pk = :p) AND (:a <= sk)',
        '(pk) = :p AND sk >= (:a)',
        '#k = :p and #s >= :a',
      ];
      for (const expression of variants) {
        const found = await query({
          KeyConditionExpression: expression,
          ...(expression.includes('#') ? { ExpressionAttributeNames: { '#k': 'pk', '#s': 'sk' } } : {}),
          ExpressionAttributeValues: { ':p': { S: 'p' }, ':a': { N: '100' } },
        });
        assert.deepEqual(
          found.Items?.map((i) => i.sk?.N),
          ['100', '1000000'],
          expression,
        );
      }
      const reserved = await query({
        TableName: 'Strings',
        KeyConditionExpression: '#name = :p AND #sk BETWEEN :lo AND :hi',
        ExpressionAttributeNames: { '#name': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':p': { S: 'p' }, ':lo': { S: 'b' }, ':hi': { S: 'z' } },
      });
      assert.deepEqual(
        reserved.Items?.map((i) => i.sk?.S),
        ['b', 'ba', 'z'],
      );
    });

    it('does not mix partitions', async () => {
      const other = await query({
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'other' } },
      });
      assert.deepEqual(
        other.Items?.map((i) => i.sk?.N),
        ['1', '2'],
      );
    });
  });

  describe('paging', () => {
    it('pages with Limit and LastEvaluatedKey to the end, forward and backward', async () => {
      const forward = await queryAll({
        TableName: 'Numbers',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
        Limit: 4,
      });
      assert.deepEqual(forward.pages, [4, 4, 4, 3]);
      assert.deepEqual(
        forward.items.map((i) => i.sk?.N),
        NUMBERS,
      );
      const backward = await queryAll({
        TableName: 'Numbers',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
        ScanIndexForward: false,
        Limit: 6,
      });
      assert.deepEqual(backward.pages, [6, 6, 3]);
      assert.deepEqual(
        backward.items.map((i) => i.sk?.N),
        [...NUMBERS].reverse(),
      );
    });

    it('returns a LastEvaluatedKey when Limit is reached exactly, then an empty last page', async () => {
      const first = await query({
        KeyConditionExpression: 'pk = :p AND sk > :z',
        ExpressionAttributeValues: { ':p': { S: 'p' }, ':z': { N: '10' } },
        Limit: 3,
      });
      assert.deepEqual(
        first.Items?.map((i) => i.sk?.N),
        ['99.99', '100', '1000000'],
      );
      assert.deepEqual(first.LastEvaluatedKey, { pk: { S: 'p' }, sk: { N: '1000000' } });
      const last = await query({
        KeyConditionExpression: 'pk = :p AND sk > :z',
        ExpressionAttributeValues: { ':p': { S: 'p' }, ':z': { N: '10' } },
        Limit: 3,
        ExclusiveStartKey: first.LastEvaluatedKey,
      });
      assert.deepEqual(last.Items, []);
      assert.equal(last.LastEvaluatedKey, undefined);
    });

    it('resumes a range condition after the start key and keeps the other bound', async () => {
      const page = await query({
        KeyConditionExpression: 'pk = :p AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':p': { S: 'p' }, ':lo': { N: '-10' }, ':hi': { N: '1' } },
        ExclusiveStartKey: { pk: { S: 'p' }, sk: { N: '0' } },
      });
      assert.deepEqual(
        page.Items?.map((i) => i.sk?.N),
        ['0.001', '0.5', '1'],
      );
      const backward = await query({
        KeyConditionExpression: 'pk = :p AND sk BETWEEN :lo AND :hi',
        ExpressionAttributeValues: { ':p': { S: 'p' }, ':lo': { N: '-10' }, ':hi': { N: '1' } },
        ExclusiveStartKey: { pk: { S: 'p' }, sk: { N: '0' } },
        ScanIndexForward: false,
      });
      assert.deepEqual(
        backward.Items?.map((i) => i.sk?.N),
        ['-0.001', '-2', '-2.5', '-10'],
      );
    });

    it('counts with Select COUNT, without Items, and pages the count', async () => {
      const all = await query({
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
        Select: 'COUNT',
      });
      assert.equal(all.Items, undefined);
      assert.equal(all.Count, NUMBERS.length);
      assert.equal(all.ScannedCount, NUMBERS.length);
      const limited = await query({
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
        Select: 'COUNT',
        Limit: 5,
      });
      assert.equal(limited.Count, 5);
      assert.deepEqual(limited.LastEvaluatedKey, { pk: { S: 'p' }, sk: { N: '-0.001' } });
      const scanned = await scan({ TableName: 'Numbers', Select: 'COUNT' });
      assert.equal(scanned.Count, NUMBERS.length + 2);
      assert.equal(scanned.Items, undefined);
    });

    it('projects AttributesToGet and reports consumed capacity', async () => {
      const found = await query({
        KeyConditions: {
          pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
          sk: { ComparisonOperator: 'EQ', AttributeValueList: [{ N: '1' }] },
        },
        AttributesToGet: ['v', 'missing'],
        ReturnConsumedCapacity: 'TOTAL',
        ConsistentRead: true,
      });
      assert.deepEqual(found.Items, [{ v: { S: 'v1' } }]);
      assert.equal(found.ConsumedCapacity?.TableName, 'Numbers');
      assert.equal(found.ConsumedCapacity?.CapacityUnits, 1);
      const specific = await query({
        KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] } },
        Select: 'SPECIFIC_ATTRIBUTES',
        AttributesToGet: ['sk'],
        Limit: 2,
      });
      assert.deepEqual(specific.Items, [{ sk: { N: '-1000' } }, { sk: { N: '-10' } }]);
    });

    it('stops a page after 1 MB of items, in Query and in Scan', async () => {
      await createTable('Large', 'N');
      const blob = 'x'.repeat(300 * 1024);
      for (let i = 0; i < 7; i++) await put('Large', { pk: { S: 'big' }, sk: { N: String(i) }, data: { S: blob } });

      const pages = await queryAll({
        TableName: 'Large',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'big' } },
      });
      // Three items stay under 1 MB; the fourth crosses it and ends the page.
      assert.deepEqual(pages.pages, [4, 3]);
      assert.deepEqual(
        pages.items.map((i) => i.sk?.N),
        ['0', '1', '2', '3', '4', '5', '6'],
      );

      const firstScan = await scan({ TableName: 'Large', Select: 'COUNT' });
      assert.equal(firstScan.Count, 4);
      assert.deepEqual(firstScan.LastEvaluatedKey, { pk: { S: 'big' }, sk: { N: '3' } });
      const secondScan = await scan({ TableName: 'Large', ExclusiveStartKey: firstScan.LastEvaluatedKey });
      assert.equal(secondScan.Count, 3);
      assert.equal(secondScan.LastEvaluatedKey, undefined);
    });
  });

  describe('Scan', () => {
    const ALL_KEYS = (count: number) => Array.from({ length: count }, (_, i) => `item-${String(i).padStart(3, '0')}`);

    before(async () => {
      await createTable('Scanned');
      for (const id of ALL_KEYS(120)) await put('Scanned', { pk: { S: id } });
    });

    async function scanAll(input: ScanCommandInput): Promise<string[]> {
      const ids: string[] = [];
      let start: Item | undefined;
      do {
        const page = await scan({ ...input, ExclusiveStartKey: start });
        for (const item of page.Items ?? []) ids.push(item.pk?.S ?? '?');
        start = page.LastEvaluatedKey;
      } while (start);
      return ids;
    }

    it('returns every item exactly once, with or without Limit', async () => {
      const whole = await scan({ TableName: 'Scanned' });
      assert.equal(whole.Count, 120);
      assert.equal(whole.LastEvaluatedKey, undefined);
      assert.deepEqual([...(whole.Items ?? []).map((i) => i.pk?.S)].sort(), ALL_KEYS(120));

      const paged = await scanAll({ TableName: 'Scanned', Limit: 7 });
      assert.equal(paged.length, 120);
      assert.deepEqual([...paged].sort(), ALL_KEYS(120));
      // Pages continue where the last one stopped: the same order as one whole scan.
      assert.deepEqual(
        paged,
        (whole.Items ?? []).map((i) => i.pk?.S),
      );
    });

    for (const total of [2, 3, 7]) {
      it(`splits a parallel scan into ${total} segments that cover every item exactly once`, async () => {
        const seen: string[] = [];
        const sizes: number[] = [];
        for (let segment = 0; segment < total; segment++) {
          const ids = await scanAll({ TableName: 'Scanned', Segment: segment, TotalSegments: total, Limit: 9 });
          sizes.push(ids.length);
          seen.push(...ids);
        }
        assert.equal(seen.length, 120);
        assert.deepEqual([...seen].sort(), ALL_KEYS(120));
        // Hashing spreads 120 keys over every segment.
        assert.ok(
          sizes.every((n) => n > 0),
          `segment sizes ${sizes}`,
        );
      });
    }

    it('refuses a start key from another segment', async () => {
      const first = await scan({ TableName: 'Scanned', Segment: 0, TotalSegments: 2, Limit: 1 });
      assert.ok(first.LastEvaluatedKey);
      await rejects(
        scan({ TableName: 'Scanned', Segment: 1, TotalSegments: 2, ExclusiveStartKey: first.LastEvaluatedKey }),
        'ValidationException',
        'The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: 1',
      );
    });

    it('projects AttributesToGet and reports consumed capacity', async () => {
      const page = await scan({
        TableName: 'Numbers',
        AttributesToGet: ['sk'],
        Limit: 3,
        ReturnConsumedCapacity: 'INDEXES',
      });
      assert.equal(page.Items?.length, 3);
      for (const item of page.Items ?? []) assert.deepEqual(Object.keys(item), ['sk']);
      assert.equal(page.ConsumedCapacity?.TableName, 'Numbers');
      assert.equal(page.ConsumedCapacity?.CapacityUnits, 0.5);
      assert.equal(page.ConsumedCapacity?.Table?.CapacityUnits, 0.5);
    });
  });

  describe('validation', () => {
    const values = { ':p': { S: 'p' }, ':n': { N: '1' } };

    const cases: Array<{
      title: string;
      input: Omit<QueryCommandInput, 'TableName'> & { TableName?: string };
      message: string;
    }> = [
      {
        title: 'no key condition',
        input: {},
        message: 'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
      },
      {
        title: 'an empty expression',
        input: { KeyConditionExpression: '' },
        message: 'Invalid KeyConditionExpression: The expression can not be empty;',
      },
      {
        title: 'an expression over 4 KB',
        input: {
          KeyConditionExpression: `pk = :p${' '.repeat(4090)}`,
          ExpressionAttributeValues: { ':p': { S: 'p' } },
        },
        message:
          'Invalid KeyConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097',
      },
      {
        title: 'a character outside the grammar',
        input: { KeyConditionExpression: 'pk = "p"' },
        message: 'Invalid KeyConditionExpression: Syntax error; token: """, near: "= "p"',
      },
      {
        title: 'a syntax error',
        input: { KeyConditionExpression: 'pk = = :p', ExpressionAttributeValues: values },
        message: 'Invalid KeyConditionExpression: Syntax error; token: "=", near: "= = :p"',
      },
      {
        title: 'a syntax error at the end',
        input: { KeyConditionExpression: 'pk = :p AND', ExpressionAttributeValues: { ':p': { S: 'p' } } },
        message: 'Invalid KeyConditionExpression: Syntax error; token: "<EOF>", near: "AND"',
      },
      {
        title: 'a reserved word',
        input: { KeyConditionExpression: 'pk = :p AND size > :n', ExpressionAttributeValues: values },
        message: 'Invalid KeyConditionExpression: Attribute name is a reserved keyword; reserved keyword: size',
      },
      {
        title: 'an undefined value',
        input: { KeyConditionExpression: 'pk = :x', ExpressionAttributeValues: { ':p': { S: 'p' } } },
        message:
          'Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: :x',
      },
      {
        title: 'an undefined name',
        input: { KeyConditionExpression: '#k = :p', ExpressionAttributeValues: { ':p': { S: 'p' } } },
        message:
          'Invalid KeyConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #k',
      },
      {
        title: 'an unused value',
        input: { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: values },
        message: 'Value provided in ExpressionAttributeValues unused in expressions: keys: {:n}',
      },
      {
        title: 'an unused name',
        input: {
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeNames: { '#a': 'a', '#b': 'b' },
          ExpressionAttributeValues: { ':p': { S: 'p' } },
        },
        message: 'Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}',
      },
      {
        title: 'an invalid value placeholder',
        input: { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { p: { S: 'p' } } },
        message: 'ExpressionAttributeValues contains invalid key: Syntax error; key: "p"',
      },
      {
        title: 'an invalid value',
        input: { KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': { N: 'abc' } } },
        message:
          'ExpressionAttributeValues contains invalid value: The parameter cannot be converted to a numeric value: abc for key :p',
      },
      {
        title: 'OR',
        input: { KeyConditionExpression: 'pk = :p OR sk = :n', ExpressionAttributeValues: values },
        message: 'Invalid operator used in KeyConditionExpression: OR',
      },
      {
        title: 'a condition function other than begins_with',
        input: {
          KeyConditionExpression: 'pk = :p AND attribute_exists(sk)',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
        },
        message: 'Invalid operator used in KeyConditionExpression: attribute_exists',
      },
      {
        title: 'two conditions on one key',
        input: { KeyConditionExpression: 'pk = :p AND pk = :p', ExpressionAttributeValues: { ':p': { S: 'p' } } },
        message: 'KeyConditionExpressions must only contain one condition per key',
      },
      {
        title: 'a condition between two attributes',
        input: { KeyConditionExpression: 'pk = :p AND sk = v', ExpressionAttributeValues: { ':p': { S: 'p' } } },
        message: 'Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition',
      },
      {
        title: 'redundant parentheses',
        input: { KeyConditionExpression: '((pk = :p))', ExpressionAttributeValues: { ':p': { S: 'p' } } },
        message: 'Invalid KeyConditionExpression: The expression has redundant parentheses;',
      },
      {
        title: 'BETWEEN bounds out of order',
        input: {
          KeyConditionExpression: 'pk = :p AND sk BETWEEN :hi AND :lo',
          ExpressionAttributeValues: { ':p': { S: 'p' }, ':lo': { N: '-5' }, ':hi': { N: '5' } },
        },
        message:
          'Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:-5}',
      },
      {
        title: 'begins_with on a number',
        input: { KeyConditionExpression: 'pk = :p AND begins_with(sk, :n)', ExpressionAttributeValues: values },
        message:
          'Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N',
      },
      {
        title: 'a missing hash key condition',
        input: { KeyConditionExpression: 'sk = :n', ExpressionAttributeValues: { ':n': { N: '1' } } },
        message: 'Query condition missed key schema element: pk',
      },
      {
        title: 'a condition on a non-key attribute',
        input: { KeyConditionExpression: 'pk = :p AND v = :n', ExpressionAttributeValues: values },
        message: 'Query condition missed key schema element: sk',
      },
      {
        title: 'a range operator on the hash key',
        input: { KeyConditionExpression: 'pk > :p', ExpressionAttributeValues: { ':p': { S: 'p' } } },
        message: 'Query key condition not supported',
      },
      {
        title: 'a sort condition on a hash-only table',
        input: {
          TableName: 'HashOnly',
          KeyConditionExpression: 'pk = :p AND sk = :n',
          ExpressionAttributeValues: values,
        },
        message: 'Query key condition not supported',
      },
      {
        title: 'a value of the wrong type',
        input: {
          KeyConditionExpression: 'pk = :p AND sk = :s',
          ExpressionAttributeValues: { ':p': { S: 'p' }, ':s': { S: '1' } },
        },
        message: 'One or more parameter values were invalid: Condition parameter type does not match schema type',
      },
      {
        title: 'three conditions',
        input: { KeyConditionExpression: 'pk = :p AND sk = :n AND v = :n', ExpressionAttributeValues: values },
        message: 'Conditions can be of length 1 or 2 only',
      },
      {
        title: 'legacy: a wrong argument count',
        input: { KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'a' }, { S: 'b' }] } } },
        message:
          'One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator',
      },
      {
        title: 'legacy: BETWEEN with one argument',
        input: {
          KeyConditions: {
            pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
            sk: { ComparisonOperator: 'BETWEEN', AttributeValueList: [{ N: '1' }] },
          },
        },
        message:
          'One or more parameter values were invalid: Invalid number of argument(s) for the BETWEEN ComparisonOperator',
      },
      {
        title: 'legacy: BEGINS_WITH on a number',
        input: {
          KeyConditions: {
            pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
            sk: { ComparisonOperator: 'BEGINS_WITH', AttributeValueList: [{ N: '1' }] },
          },
        },
        message:
          'One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type',
      },
      {
        title: 'legacy: BETWEEN with mixed types',
        input: {
          KeyConditions: {
            pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
            sk: { ComparisonOperator: 'BETWEEN', AttributeValueList: [{ N: '1' }, { S: '2' }] },
          },
        },
        message:
          'One or more parameter values were invalid: AttributeValues inside AttributeValueList must be of same type',
      },
      {
        title: 'legacy: BETWEEN bounds out of order',
        input: {
          KeyConditions: {
            pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
            sk: { ComparisonOperator: 'BETWEEN', AttributeValueList: [{ N: '2' }, { N: '-2' }] },
          },
        },
        message: 'The BETWEEN condition was provided a range where the lower bound is greater than the upper bound',
      },
      {
        title: 'legacy: a non-indexable operator',
        input: {
          KeyConditions: {
            pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] },
            sk: { ComparisonOperator: 'NE', AttributeValueList: [{ N: '1' }] },
          },
        },
        message: 'Attempted conditional constraint is not an indexable operation',
      },
      {
        title: 'legacy: no conditions',
        input: { KeyConditions: {} },
        message: 'Conditions can be of length 1 or 2 only',
      },
      {
        title: 'legacy: a hash key of the wrong type',
        input: { KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ N: '1' }] } } },
        message: 'One or more parameter values were invalid: Condition parameter type does not match schema type',
      },
      {
        title: 'both expression and legacy parameters',
        input: {
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
          AttributesToGet: ['v'],
        },
        message:
          'Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {KeyConditionExpression}',
      },
      {
        title: 'values without an expression',
        input: {
          KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] } },
          ExpressionAttributeValues: { ':p': { S: 'p' } },
        },
        message:
          'ExpressionAttributeValues can only be specified when using expressions: FilterExpression and KeyConditionExpression are null',
      },
      {
        title: 'an index',
        input: {
          IndexName: 'byValue',
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
        },
        message: 'The table does not have the specified index: byValue',
      },
      {
        title: 'COUNT with AttributesToGet',
        input: {
          KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] } },
          Select: 'COUNT',
          AttributesToGet: ['v'],
        },
        message: '1 validation error detected: Cannot specify the AttributesToGet when choosing to get only the Count',
      },
      {
        title: 'SPECIFIC_ATTRIBUTES without attributes',
        input: {
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
          Select: 'SPECIFIC_ATTRIBUTES',
        },
        message:
          '1 validation error detected: Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES',
      },
      {
        title: 'ALL_PROJECTED_ATTRIBUTES without an index',
        input: {
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
          Select: 'ALL_PROJECTED_ATTRIBUTES',
        },
        message:
          '1 validation error detected: ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName',
      },
      {
        title: 'duplicate AttributesToGet',
        input: {
          KeyConditions: { pk: { ComparisonOperator: 'EQ', AttributeValueList: [{ S: 'p' }] } },
          AttributesToGet: ['v', 'v'],
        },
        message: 'One or more parameter values were invalid: Duplicate value in attribute name: v',
      },
      {
        title: 'a start key with the wrong attributes',
        input: {
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
          ExclusiveStartKey: { pk: { S: 'p' } },
        },
        message: 'The provided starting key is invalid',
      },
      {
        title: 'a start key with an invalid value',
        input: {
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
          ExclusiveStartKey: { pk: { S: 'p' }, sk: { N: 'x' } },
        },
        message: 'The provided starting key is invalid: The parameter cannot be converted to a numeric value: x',
      },
      {
        title: 'a start key in another partition',
        input: {
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'p' } },
          ExclusiveStartKey: { pk: { S: 'other' }, sk: { N: '1' } },
        },
        message: 'The provided starting key is outside query boundaries based on provided conditions',
      },
      {
        title: 'a start key outside the sort key condition',
        input: {
          KeyConditionExpression: 'pk = :p AND sk > :n',
          ExpressionAttributeValues: { ':p': { S: 'p' }, ':n': { N: '1' } },
          ExclusiveStartKey: { pk: { S: 'p' }, sk: { N: '0' } },
        },
        message: 'The provided starting key does not match the range key predicate',
      },
    ];

    for (const { title, input, message } of cases) {
      it(`rejects a query with ${title}`, async () => {
        await rejects(query(input), 'ValidationException', message);
      });
    }

    it('rejects queries and scans of a missing table', async () => {
      const missing = {
        TableName: 'Missing',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
      };
      await rejects(query(missing), 'ResourceNotFoundException', 'Requested resource not found');
      await rejects(scan({ TableName: 'Missing' }), 'ResourceNotFoundException', 'Requested resource not found');
    });

    it('applies filters and projections rather than ignoring them', async () => {
      const filtered = await query({
        KeyConditionExpression: 'pk = :p',
        FilterExpression: 'v = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
      });
      assert.equal(filtered.Count, 0);
      assert.ok((filtered.ScannedCount ?? 0) > 0);
      const projected = await scan({ TableName: 'Numbers', ProjectionExpression: 'pk' });
      assert.ok((projected.Items ?? []).length > 0);
      for (const item of projected.Items ?? []) assert.deepEqual(Object.keys(item), ['pk']);
    });

    const scanCases: Array<{ title: string; input: ScanCommandInput; message: string }> = [
      {
        title: 'Segment without TotalSegments',
        input: { TableName: 'Numbers', Segment: 1 },
        message:
          'The TotalSegments parameter is required but was not present in the request when Segment parameter is present',
      },
      {
        title: 'TotalSegments without Segment',
        input: { TableName: 'Numbers', TotalSegments: 2 },
        message:
          'The Segment parameter is required but was not present in the request when parameter TotalSegments is present',
      },
      {
        title: 'a Segment not below TotalSegments',
        input: { TableName: 'Numbers', Segment: 3, TotalSegments: 2 },
        message:
          'The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 2',
      },
      {
        title: 'a start key with missing attributes',
        input: { TableName: 'Numbers', ExclusiveStartKey: { pk: { S: 'p' } } },
        message: 'The provided starting key is invalid: The provided key element does not match the schema',
      },
      {
        title: 'a start key of the wrong type',
        input: { TableName: 'Numbers', ExclusiveStartKey: { pk: { S: 'p' }, sk: { S: '1' } } },
        message: 'The provided starting key is invalid: The provided key element does not match the schema',
      },
      {
        title: 'COUNT with AttributesToGet',
        input: { TableName: 'Numbers', Select: 'COUNT', AttributesToGet: ['pk'] },
        message: 'Cannot specify the AttributesToGet when choosing to get only the Count',
      },
      {
        title: 'ALL_ATTRIBUTES with AttributesToGet',
        input: { TableName: 'Numbers', Select: 'ALL_ATTRIBUTES', AttributesToGet: ['pk'] },
        message: 'Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES',
      },
      {
        title: 'names without an expression',
        input: { TableName: 'Numbers', ExpressionAttributeNames: { '#a': 'a' } },
        message: 'ExpressionAttributeNames can only be specified when using expressions',
      },
      {
        title: 'values without an expression',
        input: { TableName: 'Numbers', ExpressionAttributeValues: { ':a': { S: 'a' } } },
        message: 'ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null',
      },
      {
        title: 'an index',
        input: { TableName: 'Numbers', IndexName: 'byValue' },
        message: 'The table does not have the specified index: byValue',
      },
    ];

    for (const { title, input, message } of scanCases) {
      it(`rejects a scan with ${title}`, async () => {
        await rejects(scan(input), 'ValidationException', message);
      });
    }
  });
});
