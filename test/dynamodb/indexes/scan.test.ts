import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  DynamoDBClient,
  ScanCommand,
  type ScanCommandInput,
  type ScanCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { byKey, createOrders, type Item, n, s } from './fixtures.js';

/** 40 orders over 8 partitions; every third has no status (sparse in the status GSIs). */
const ITEMS: Item[] = Array.from({ length: 40 }, (_, i) => ({
  pk: s(`p${i % 8}`),
  sk: s(`s${i}`),
  amount: n(i),
  ...(i % 3 === 0 ? {} : { status: s(i % 2 === 0 ? 'open' : 'closed') }),
  note: s(`note${i}`),
  secret: s(`x${i}`),
  region: s('eu'),
  city: s(i % 2 === 0 ? 'paris' : 'rome'),
  day: n(i % 5),
  label: s(`l${i}`),
}));

describe('Scan with IndexName', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  const scan = (input: Omit<ScanCommandInput, 'TableName'>) =>
    ddb.send(new ScanCommand({ TableName: 'Orders', ...input }));

  async function scanAll(
    input: Omit<ScanCommandInput, 'TableName'>,
  ): Promise<{ items: Item[]; pages: ScanCommandOutput[] }> {
    const items: Item[] = [];
    const pages: ScanCommandOutput[] = [];
    let start: Item | undefined;
    do {
      const page = await scan({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) });
      pages.push(page);
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start && pages.length < 200);
    return { items, pages };
  }

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await createOrders(ddb);
    for (let i = 0; i < ITEMS.length; i += 20) {
      await ddb.send(
        new BatchWriteItemCommand({
          RequestItems: { Orders: ITEMS.slice(i, i + 20).map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
    }
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('pages through a GSI: each entry once, with its projection, sparse items left out', async () => {
    const { items, pages } = await scanAll({ IndexName: 'byStatus', Limit: 7 });
    const expected = ITEMS.filter((i) => i.status).map((i) => ({
      pk: i.pk,
      sk: i.sk,
      status: i.status,
      amount: i.amount,
      note: i.note,
    }));
    assert.deepEqual(items.sort(byKey), expected.sort(byKey));
    const last = pages[0]?.LastEvaluatedKey;
    assert.deepEqual(Object.keys(last ?? {}).sort(), ['amount', 'pk', 'sk', 'status']);
  });

  it('parallel segments of an index split its entries without overlap', async () => {
    const parts = await Promise.all(
      [0, 1, 2].map((Segment) => scanAll({ IndexName: 'byRegion', Segment, TotalSegments: 3, Limit: 4 })),
    );
    const all = parts.flatMap((p) => p.items);
    assert.equal(all.length, ITEMS.length);
    assert.deepEqual([...all].sort(byKey), [...ITEMS].sort(byKey));
    // A start key from one segment is refused by another.
    const first = parts.find((p) => p.pages[0]?.LastEvaluatedKey)?.pages[0]?.LastEvaluatedKey as Item;
    const own = parts.findIndex((p) => p.pages[0]?.LastEvaluatedKey === first);
    const other = (own + 1) % 3;
    await rejectsWith(
      scan({ IndexName: 'byRegion', Segment: other, TotalSegments: 3, ExclusiveStartKey: first }),
      'ValidationException',
      `The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 3 Segment: ${other}`,
    );
  });

  it('Select and projections: LSI fetches from the table, a GSI that projects less refuses ALL_ATTRIBUTES', async () => {
    await rejectsWith(
      scan({ IndexName: 'statusOnly', Select: 'ALL_ATTRIBUTES' }),
      'ValidationException',
      'One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index statusOnly because its projection type is not ALL',
    );
    const lsi = await scanAll({ IndexName: 'byTotal', Select: 'ALL_ATTRIBUTES' });
    assert.deepEqual(lsi.items.sort(byKey), [...ITEMS].sort(byKey));
    const allGsi = await scanAll({ IndexName: 'byRegion', Select: 'ALL_ATTRIBUTES' });
    assert.equal(allGsi.items.length, ITEMS.length);
    const keysOnly = await scan({ IndexName: 'byTotal', Limit: 1 });
    assert.deepEqual(Object.keys(keysOnly.Items?.[0] ?? {}).sort(), ['amount', 'pk', 'sk']);
    const specific = await scanAll({
      IndexName: 'byTotal',
      ProjectionExpression: 'sk, secret',
      FilterExpression: 'amount < :a',
      ExpressionAttributeValues: { ':a': n(2) },
    });
    assert.deepEqual(specific.items.sort(byKey), [
      { sk: s('s0'), secret: s('x0') },
      { sk: s('s1'), secret: s('x1') },
    ]);
    const gsi = await scanAll({ IndexName: 'statusOnly', ProjectionExpression: 'sk, secret' });
    assert.ok(gsi.items.every((i) => i.secret === undefined && i.sk !== undefined));
    const counted = await scan({ IndexName: 'statusOnly', Select: 'COUNT' });
    assert.equal(counted.Count, ITEMS.filter((i) => i.status).length);
    assert.equal(counted.Items, undefined);
  });

  it('a Scan filter may name index keys; document paths into them are refused', async () => {
    const filtered = await scanAll({
      IndexName: 'byStatus',
      FilterExpression: '#s = :s AND amount >= :a',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': s('open'), ':a': n(30) },
    });
    assert.deepEqual(
      filtered.items.map((i) => i.sk?.S).sort(),
      ITEMS.filter((i) => i.status?.S === 'open' && Number(i.amount?.N) >= 30)
        .map((i) => i.sk?.S)
        .sort(),
    );
    await rejectsWith(
      scan({ IndexName: 'byStatus', ProjectionExpression: '#s[0]', ExpressionAttributeNames: { '#s': 'status' } }),
      'ValidationException',
      "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: status",
    );
    await rejectsWith(
      scan({ IndexName: 'byStatus', FilterExpression: 'pk.x = :v', ExpressionAttributeValues: { ':v': s('a') } }),
      'ValidationException',
      "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: pk",
    );
  });

  it('ConsistentRead, unknown indexes and bad start keys', async () => {
    await rejectsWith(
      scan({ IndexName: 'byStatus', ConsistentRead: true }),
      'ValidationException',
      'Consistent reads are not supported on global secondary indexes',
    );
    const lsi = await scan({ IndexName: 'byTotal', ConsistentRead: true, Limit: 2 });
    assert.equal(lsi.Count, 2);
    await rejectsWith(
      scan({ IndexName: 'nope' }),
      'ValidationException',
      'The table does not have the specified index: nope',
    );
    await rejectsWith(
      scan({ IndexName: 'nope', ExclusiveStartKey: { pk: s('p1'), sk: s('s1') } }),
      'ValidationException',
      'The provided starting key is invalid',
    );
    await rejectsWith(
      scan({ IndexName: 'byStatus', ExclusiveStartKey: { pk: s('p1'), sk: s('s1') } }),
      'ValidationException',
      'The provided starting key is invalid',
    );
    await rejectsWith(
      scan({
        IndexName: 'byStatus',
        ExclusiveStartKey: { pk: s('p1'), sk: s('s1'), status: s('open'), amount: s('1') },
      }),
      'ValidationException',
      'The provided key element does not match the schema',
    );
    await rejectsWith(
      scan({ IndexName: 'byStatus', ExclusiveStartKey: { pk: s('p1'), x: s('s1'), status: s('open'), amount: n(1) } }),
      'ValidationException',
      'The provided starting key is invalid: The provided key element does not match the schema',
    );
    await rejectsWith(
      scan({
        IndexName: 'byRegion',
        ExclusiveStartKey: { pk: s('p1'), sk: s('s1'), region: s('eu'), city: s('rome'), day: n(1), other: s('x') },
      }),
      'ValidationException',
      'The provided starting key is invalid',
    );
  });

  it('ReturnConsumedCapacity INDEXES charges the index; an LSI fetch also the table', async () => {
    const gsi = await scan({ IndexName: 'statusOnly', ReturnConsumedCapacity: 'INDEXES' });
    assert.deepEqual(gsi.ConsumedCapacity, {
      TableName: 'Orders',
      CapacityUnits: 0.5,
      ReadCapacityUnits: 0.5,
      Table: { CapacityUnits: 0, ReadCapacityUnits: 0 },
      GlobalSecondaryIndexes: { statusOnly: { CapacityUnits: 0.5, ReadCapacityUnits: 0.5 } },
    });
    const fetched = await scan({
      IndexName: 'byTotal',
      Select: 'ALL_ATTRIBUTES',
      ConsistentRead: true,
      ReturnConsumedCapacity: 'INDEXES',
    });
    assert.deepEqual(fetched.ConsumedCapacity, {
      TableName: 'Orders',
      CapacityUnits: 2,
      ReadCapacityUnits: 2,
      Table: { CapacityUnits: 1, ReadCapacityUnits: 1 },
      LocalSecondaryIndexes: { byTotal: { CapacityUnits: 1, ReadCapacityUnits: 1 } },
    });
  });
});
