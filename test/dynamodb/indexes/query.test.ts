import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient, PutItemCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { indexForRead } from '../../../src/dynamodb/indexes/read.js';
import { indexSchemas } from '../../../src/dynamodb/indexes/schema.js';
import type { TableDefinition } from '../../../src/dynamodb/table-definition.js';
import { keyAttributes } from '../../../src/dynamodb/table-schema.js';
import type { OpenTable } from '../../../src/dynamodb/tables.js';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createOrders, type Item, n, s } from './fixtures.js';

const ITEMS: Item[] = [
  {
    pk: s('a'),
    sk: s('1'),
    status: s('open'),
    amount: n(5),
    note: s('n1'),
    extra: s('x1'),
    region: s('eu'),
    city: s('paris'),
    day: n(1),
    label: s('a'),
  },
  {
    pk: s('a'),
    sk: s('2'),
    status: s('open'),
    amount: n(3),
    note: s('n2'),
    extra: s('x2'),
    region: s('eu'),
    city: s('paris'),
    day: n(1),
    label: s('b'),
  },
  {
    pk: s('a'),
    sk: s('3'),
    status: s('closed'),
    amount: n(7),
    extra: s('x3'),
    region: s('eu'),
    city: s('paris'),
    day: n(2),
    label: s('a'),
  },
  {
    pk: s('b'),
    sk: s('1'),
    status: s('open'),
    amount: n(5),
    region: s('eu'),
    city: s('rome'),
    day: n(1),
    label: s('z'),
  },
  { pk: s('b'), sk: s('2'), amount: n(1) },
  {
    pk: s('c'),
    sk: s('1'),
    status: s('open'),
    amount: n(9),
    region: s('eu'),
    city: s('paris'),
    day: n(3),
    label: s('ab'),
  },
];

const keysOf = (items: Item[] | undefined) => (items ?? []).map((i) => `${i.pk?.S}/${i.sk?.S}`);

describe('Query with IndexName', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  const query = (input: Omit<QueryCommandInput, 'TableName'>) =>
    ddb.send(new QueryCommand({ TableName: 'Orders', ...input }));
  const open = (extra: Omit<QueryCommandInput, 'TableName' | 'IndexName'> = {}) =>
    query({
      IndexName: 'byStatus',
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ...extra,
      ExpressionAttributeValues: { ':s': s('open'), ...extra.ExpressionAttributeValues },
    });

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await createOrders(ddb);
    for (const Item of ITEMS) await ddb.send(new PutItemCommand({ TableName: 'Orders', Item }));
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('a GSI answers in index order with the projected attributes, both ways', async () => {
    const forward = await open();
    assert.deepEqual(keysOf(forward.Items), ['a/2', 'a/1', 'b/1', 'c/1']);
    // INCLUDE note: index keys, table keys and note; nothing else.
    assert.deepEqual(forward.Items?.[0], { status: s('open'), amount: n(3), pk: s('a'), sk: s('2'), note: s('n2') });
    assert.deepEqual(forward.Items?.[2], { status: s('open'), amount: n(5), pk: s('b'), sk: s('1') });
    const backward = await open({ ScanIndexForward: false });
    assert.deepEqual(keysOf(backward.Items), ['c/1', 'b/1', 'a/1', 'a/2']);
    const ranged = await open({
      KeyConditionExpression: '#s = :s AND amount BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':lo': n(4), ':hi': n(9) },
    });
    assert.deepEqual(keysOf(ranged.Items), ['a/1', 'b/1', 'c/1']);
    // Legacy KeyConditions on the index keys.
    const legacy = await query({
      IndexName: 'byStatus',
      KeyConditions: {
        status: { ComparisonOperator: 'EQ', AttributeValueList: [s('open')] },
        amount: { ComparisonOperator: 'GT', AttributeValueList: [n(5)] },
      },
    });
    assert.deepEqual(keysOf(legacy.Items), ['c/1']);
  });

  it('an LSI queries the table partition by its sort key; sparse items are left out', async () => {
    const result = await query({
      IndexName: 'byTotal',
      KeyConditionExpression: 'pk = :p AND amount > :t',
      ExpressionAttributeValues: { ':p': s('a'), ':t': n(3) },
      ConsistentRead: true,
    });
    assert.deepEqual(result.Items, [
      { pk: s('a'), sk: s('1'), amount: n(5) },
      { pk: s('a'), sk: s('3'), amount: n(7) },
    ]);
    const onlyHash = await query({
      IndexName: 'statusOnly',
      KeyConditionExpression: '#s = :s',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':s': s('closed') },
    });
    assert.deepEqual(onlyHash.Items, [{ pk: s('a'), sk: s('3'), status: s('closed') }]);
  });

  it('refuses key conditions that do not fit the index key schema', async () => {
    await rejectsWith(
      query({ IndexName: 'byStatus', KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': s('a') } }),
      'ValidationException',
      'Query condition missed key schema element: status',
    );
    await rejectsWith(
      open({ KeyConditionExpression: '#s = :s AND sk = :k', ExpressionAttributeValues: { ':k': s('1') } }),
      'ValidationException',
      'Query condition missed key schema element: amount',
    );
    await rejectsWith(
      query({
        IndexName: 'statusOnly',
        KeyConditionExpression: '#s = :s AND amount = :t',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': s('open'), ':t': n(1) },
      }),
      'ValidationException',
      'Query key condition not supported',
    );
    await rejectsWith(
      open({ KeyConditionExpression: '#s > :s' }),
      'ValidationException',
      'Query key condition not supported',
    );
    await rejectsWith(
      open({ ExpressionAttributeValues: { ':s': n(1) } }),
      'ValidationException',
      'One or more parameter values were invalid: Condition parameter type does not match schema type',
    );
    await rejectsWith(
      query({
        IndexName: 'nope',
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': s('a') },
      }),
      'ValidationException',
      'The table does not have the specified index: nope',
    );
  });

  it('multi-attribute keys: every partition attribute, sort attributes left to right', async () => {
    const region = (condition: string, values: Item, extra: Omit<QueryCommandInput, 'TableName'> = {}) =>
      query({
        IndexName: 'byRegion',
        KeyConditionExpression: `#r = :r AND city = :c${condition}`,
        ExpressionAttributeNames: { '#r': 'region' },
        ExpressionAttributeValues: { ':r': s('eu'), ':c': s('paris'), ...values },
        ...extra,
      });
    assert.deepEqual(keysOf((await region('', {})).Items), ['a/1', 'a/2', 'a/3', 'c/1']);
    assert.deepEqual(
      keysOf(
        (await region(' AND #d = :d', { ':d': n(1) }, { ExpressionAttributeNames: { '#r': 'region', '#d': 'day' } }))
          .Items,
      ),
      ['a/1', 'a/2'],
    );
    const names = { '#r': 'region', '#d': 'day' };
    const ranged = async (condition: string, values: Item) =>
      keysOf((await region(condition, values, { ExpressionAttributeNames: names })).Items);
    assert.deepEqual(await ranged(' AND #d > :d', { ':d': n(1) }), ['a/3', 'c/1']);
    assert.deepEqual(await ranged(' AND #d <= :d', { ':d': n(2) }), ['a/1', 'a/2', 'a/3']);
    assert.deepEqual(await ranged(' AND #d = :d AND label > :l', { ':d': n(1), ':l': s('a') }), ['a/2']);
    assert.deepEqual(await ranged(' AND #d = :d AND label = :l', { ':d': n(1), ':l': s('a') }), ['a/1']);
    assert.deepEqual(await ranged(' AND #d = :d AND begins_with(label, :l)', { ':d': n(3), ':l': s('a') }), ['c/1']);
    assert.deepEqual(await ranged(' AND #d BETWEEN :lo AND :hi', { ':lo': n(2), ':hi': n(3) }), ['a/3', 'c/1']);
    assert.deepEqual(await ranged(' AND #d < :d', { ':d': n(1) }), []);
    // Another city is another partition.
    assert.deepEqual(keysOf((await region('', { ':c': s('rome') })).Items), ['b/1']);

    await rejectsWith(
      query({
        IndexName: 'byRegion',
        KeyConditionExpression: '#r = :r',
        ExpressionAttributeNames: { '#r': 'region' },
        ExpressionAttributeValues: { ':r': s('eu') },
      }),
      'ValidationException',
      'Query condition missed key schema element: city',
    );
    await rejectsWith(
      region(' AND label = :l', { ':l': s('a') }),
      'ValidationException',
      'Query condition missed key schema element: day',
    );
    await rejectsWith(
      region(' AND #d > :d AND label = :l', { ':d': n(1), ':l': s('a') }, { ExpressionAttributeNames: names }),
      'ValidationException',
      'Query key condition not supported',
    );
    await rejectsWith(
      query({
        IndexName: 'byRegion',
        KeyConditionExpression: '#r = :r AND city > :c',
        ExpressionAttributeNames: { '#r': 'region' },
        ExpressionAttributeValues: { ':r': s('eu'), ':c': s('a') },
      }),
      'ValidationException',
      'Query key condition not supported',
    );
    // A table Query still allows only two conditions.
    await rejectsWith(
      query({
        KeyConditionExpression: 'pk = :p AND sk = :k AND amount = :t',
        ExpressionAttributeValues: { ':p': s('a'), ':k': s('1'), ':t': n(1) },
      }),
      'ValidationException',
      'Conditions can be of length 1 or 2 only',
    );
  });

  it('ConsistentRead: allowed on an LSI, refused on a GSI', async () => {
    await rejectsWith(
      open({ ConsistentRead: true }),
      'ValidationException',
      'Consistent reads are not supported on global secondary indexes',
    );
    const lsi = await query({
      IndexName: 'byTotal',
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': s('b') },
      ConsistentRead: true,
      ReturnConsumedCapacity: 'INDEXES',
    });
    assert.equal(lsi.Count, 2);
    assert.deepEqual(lsi.ConsumedCapacity, {
      TableName: 'Orders',
      CapacityUnits: 1,
      ReadCapacityUnits: 1,
      Table: { CapacityUnits: 0, ReadCapacityUnits: 0 },
      LocalSecondaryIndexes: { byTotal: { CapacityUnits: 1, ReadCapacityUnits: 1 } },
    });
  });

  it('Select: ALL_ATTRIBUTES fetches from the table for an LSI and is refused for a GSI not projecting all', async () => {
    await rejectsWith(
      open({ Select: 'ALL_ATTRIBUTES' }),
      'ValidationException',
      'One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index byStatus because its projection type is not ALL',
    );
    const all = await query({
      IndexName: 'byTotal',
      KeyConditionExpression: 'pk = :p AND amount < :t',
      ExpressionAttributeValues: { ':p': s('a'), ':t': n(6) },
      Select: 'ALL_ATTRIBUTES',
      ReturnConsumedCapacity: 'INDEXES',
    });
    assert.deepEqual(all.Items, [ITEMS[1], ITEMS[0]]);
    // The fetched base items are charged to the table.
    assert.deepEqual(all.ConsumedCapacity?.Table, { CapacityUnits: 0.5, ReadCapacityUnits: 0.5 });
    assert.equal(all.ConsumedCapacity?.CapacityUnits, 1);
    const projected = await query({
      IndexName: 'byTotal',
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': s('a') },
      Select: 'ALL_PROJECTED_ATTRIBUTES',
    });
    assert.deepEqual(projected.Items?.[0], { pk: s('a'), sk: s('2'), amount: n(3) });
    // An LSI projection naming attributes the index does not hold reads them from the table.
    const specific = await query({
      IndexName: 'byTotal',
      KeyConditionExpression: 'pk = :p',
      ExpressionAttributeValues: { ':p': s('a') },
      ProjectionExpression: 'sk, extra',
    });
    assert.deepEqual(specific.Items, [
      { sk: s('2'), extra: s('x2') },
      { sk: s('1'), extra: s('x1') },
      { sk: s('3'), extra: s('x3') },
    ]);
    // A filter on them too; what comes back is still the index's attributes.
    const filtered = await query({
      IndexName: 'byTotal',
      KeyConditionExpression: 'pk = :p',
      FilterExpression: 'extra = :x',
      ExpressionAttributeValues: { ':p': s('a'), ':x': s('x3') },
    });
    assert.deepEqual(filtered.Items, [{ pk: s('a'), sk: s('3'), amount: n(7) }]);
    assert.equal(filtered.ScannedCount, 3);
    // A GSI cannot fetch: attributes it does not project are simply absent.
    const gsi = await open({ ProjectionExpression: 'sk, extra, note' });
    assert.deepEqual(gsi.Items?.[0], { sk: s('2'), note: s('n2') });
    await rejectsWith(
      open({ Select: 'ALL_PROJECTED_ATTRIBUTES', ProjectionExpression: 'sk' }),
      'ValidationException',
      '1 validation error detected: Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES',
    );
    const counted = await open({ Select: 'COUNT' });
    assert.equal(counted.Count, 4);
    assert.equal(counted.Items, undefined);
  });

  it('filters may not name the index keys but may name table keys the index does not key on', async () => {
    await rejectsWith(
      open({ FilterExpression: 'amount > :t', ExpressionAttributeValues: { ':t': n(1) } }),
      'ValidationException',
      'Filter Expression can only contain non-primary key attributes: Primary key attribute: amount',
    );
    await rejectsWith(
      query({
        IndexName: 'byStatus',
        KeyConditions: { status: { ComparisonOperator: 'EQ', AttributeValueList: [s('open')] } },
        QueryFilter: { status: { ComparisonOperator: 'NOT_NULL' } },
      }),
      'ValidationException',
      'QueryFilter can only contain non-primary key attributes: Primary key attribute: status',
    );
    const bySk = await open({ FilterExpression: 'sk = :k', ExpressionAttributeValues: { ':k': s('1') } });
    assert.deepEqual(keysOf(bySk.Items), ['a/1', 'b/1', 'c/1']);
    assert.equal(bySk.ScannedCount, 4);
    await rejectsWith(
      open({ ProjectionExpression: 'amount.x' }),
      'ValidationException',
      "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: amount",
    );
  });

  it('pages with LastEvaluatedKey holding the index and table keys, each entry once', async () => {
    const seen: string[] = [];
    let start: Item | undefined;
    let pages = 0;
    do {
      const page = await query({
        IndexName: 'statusOnly',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': s('open') },
        Limit: 1,
        ...(start ? { ExclusiveStartKey: start } : {}),
      });
      seen.push(...keysOf(page.Items));
      start = page.LastEvaluatedKey;
      if (start) assert.deepEqual(Object.keys(start).sort(), ['pk', 'sk', 'status']);
      pages++;
    } while (start && pages < 10);
    // Entries sharing one index key are told apart by their table key.
    assert.deepEqual(seen.sort(), ['a/1', 'a/2', 'b/1', 'c/1']);
    const first = await open({ Limit: 2 });
    assert.deepEqual(first.LastEvaluatedKey, { status: s('open'), amount: n(5), pk: s('a'), sk: s('1') });
    const rest = await open({ ExclusiveStartKey: first.LastEvaluatedKey });
    assert.deepEqual(keysOf(rest.Items), ['b/1', 'c/1']);
    const back = await open({ ScanIndexForward: false, ExclusiveStartKey: first.LastEvaluatedKey });
    assert.deepEqual(keysOf(back.Items), ['a/2']);
  });

  it('refuses ExclusiveStartKeys that are not an entry of the index', async () => {
    await rejectsWith(
      open({ ExclusiveStartKey: { pk: s('a'), sk: s('1') } }),
      'ValidationException',
      'The provided starting key is invalid',
    );
    await rejectsWith(
      open({ ExclusiveStartKey: { status: n(1), amount: n(5), pk: s('a'), sk: s('1') } }),
      'ValidationException',
      'The provided key element does not match the schema',
    );
    await rejectsWith(
      open({ ExclusiveStartKey: { status: s('open'), amount: n(5), pk: s('a'), other: s('1') } }),
      'ValidationException',
      'The provided starting key is invalid: The provided key element does not match the schema',
    );
    await rejectsWith(
      open({ ExclusiveStartKey: { status: s('closed'), amount: n(5), pk: s('a'), sk: s('1') } }),
      'ValidationException',
      'The provided starting key is outside query boundaries based on provided conditions',
    );
    await rejectsWith(
      open({
        KeyConditionExpression: '#s = :s AND amount > :t',
        ExpressionAttributeValues: { ':t': n(6) },
        ExclusiveStartKey: { status: s('open'), amount: n(5), pk: s('a'), sk: s('1') },
      }),
      'ValidationException',
      'The provided starting key does not match the range key predicate',
    );
  });

  it('ReturnConsumedCapacity charges a GSI read to the index', async () => {
    const indexes = await open({ ReturnConsumedCapacity: 'INDEXES' });
    assert.deepEqual(indexes.ConsumedCapacity, {
      TableName: 'Orders',
      CapacityUnits: 0.5,
      ReadCapacityUnits: 0.5,
      Table: { CapacityUnits: 0, ReadCapacityUnits: 0 },
      GlobalSecondaryIndexes: { byStatus: { CapacityUnits: 0.5, ReadCapacityUnits: 0.5 } },
    });
    const amount = await open({ ReturnConsumedCapacity: 'TOTAL' });
    assert.deepEqual(amount.ConsumedCapacity, { TableName: 'Orders', CapacityUnits: 0.5, ReadCapacityUnits: 0.5 });
  });

  it('a GSI still backfilling cannot be read', () => {
    // UpdateTable creates such an index; its definition alone decides the refusal.
    const definition = {
      TableName: 'T',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'g', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'fresh',
          KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
          Space: 1,
          IndexStatus: 'CREATING',
          Backfilling: true,
        },
      ],
    } as unknown as TableDefinition;
    const keys = keyAttributes(definition.KeySchema, definition.AttributeDefinitions);
    const table = { definition, keys, indexes: indexSchemas(definition, keys) } as unknown as OpenTable;
    assert.throws(() => indexForRead(table, 'fresh', {}), {
      name: 'ValidationException',
      message: 'Cannot read from backfilling global secondary index: fresh',
    });
  });
});
