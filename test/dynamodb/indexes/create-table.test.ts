import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ListTablesCommand,
  type LocalSecondaryIndex,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

/**
 * CreateTable with LocalSecondaryIndexes and GlobalSecondaryIndexes: each of DynamoDB's rules with
 * its message (the sources are cited beside the rules in src/dynamodb/indexes/new-table.ts), the
 * order in which they apply, and that a refused request creates nothing.
 */
describe('CreateTable with secondary indexes', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const S = (name: string): AttributeDefinition => ({ AttributeName: name, AttributeType: 'S' });
  const H = (name: string): KeySchemaElement => ({ AttributeName: name, KeyType: 'HASH' });
  const R = (name: string): KeySchemaElement => ({ AttributeName: name, KeyType: 'RANGE' });
  const lsi = (name: string, keys: KeySchemaElement[], projection: object = { ProjectionType: 'ALL' }) =>
    ({ IndexName: name, KeySchema: keys, Projection: projection }) as LocalSecondaryIndex;
  const gsi = (name: string, keys: KeySchemaElement[], extra: object = {}) =>
    ({ IndexName: name, KeySchema: keys, Projection: { ProjectionType: 'ALL' }, ...extra }) as GlobalSecondaryIndex;

  /** Table Tbl keyed a (HASH) and b (RANGE), on demand, unless the case says otherwise. */
  const request = (over: Partial<CreateTableCommandInput>): CreateTableCommandInput => ({
    TableName: 'Tbl',
    AttributeDefinitions: [S('a'), S('b')],
    KeySchema: [H('a'), R('b')],
    BillingMode: 'PAY_PER_REQUEST',
    ...over,
  });
  const invalid = (detail: string) => `One or more parameter values were invalid: ${detail}`;

  /** Refused with exactly this message, and no table Tbl afterwards. */
  async function refused(input: CreateTableCommandInput, message: string | RegExp): Promise<void> {
    await rejectsWith(ddb.send(new CreateTableCommand(input)), 'ValidationException', message);
    await rejectsWith(ddb.send(new DescribeTableCommand({ TableName: input.TableName })), 'ResourceNotFoundException');
  }

  async function created(input: CreateTableCommandInput) {
    const { TableDescription } = await ddb.send(new CreateTableCommand(input));
    assert.ok(TableDescription);
    return TableDescription;
  }

  describe('lists and counts', () => {
    it('refuses empty index lists, before the check that every definition is used', async () => {
      await refused(
        request({ KeySchema: [H('a')], LocalSecondaryIndexes: [] }),
        invalid('List of LocalSecondaryIndexes is empty'),
      );
      await refused(
        request({ KeySchema: [H('a')], GlobalSecondaryIndexes: [] }),
        invalid('List of GlobalSecondaryIndexes is empty'),
      );
    });

    it('allows 5 LSIs and 20 GSIs and refuses a 6th LSI or a 21st GSI', async () => {
      const lsis = (n: number) => Array.from({ length: n }, (_, i) => lsi(`l${i}x`, [H('a'), R('b')]));
      const gsis = (n: number) => Array.from({ length: n }, (_, i) => gsi(`g${i}x`, [H('b')]));
      await refused(
        request({ LocalSecondaryIndexes: lsis(6) }),
        invalid('Number of LocalSecondaryIndexes exceeds per-table limit of 5'),
      );
      await refused(
        request({ GlobalSecondaryIndexes: gsis(21) }),
        invalid('GlobalSecondaryIndex count exceeds the per-table limit of 20'),
      );
      const table = await created(
        request({ TableName: 'Most', LocalSecondaryIndexes: lsis(5), GlobalSecondaryIndexes: gsis(20) }),
      );
      assert.equal(table.LocalSecondaryIndexes?.length, 5);
      assert.equal(table.GlobalSecondaryIndexes?.length, 20);
      // Index lists keep the order they were sent in (ack-api-quirks DDB-TABLE-125).
      assert.deepEqual(
        table.GlobalSecondaryIndexes?.map((i) => i.IndexName),
        gsis(20).map((i) => i.IndexName),
      );
    });

    it('refuses a name used twice, among LSIs, among GSIs and across the two', async () => {
      await refused(
        request({ LocalSecondaryIndexes: [lsi('dup', [H('a'), R('b')]), lsi('dup', [H('a'), R('b')])] }),
        invalid('Duplicate index name: dup'),
      );
      await refused(
        request({ GlobalSecondaryIndexes: [gsi('dup', [H('b')]), gsi('dup', [H('a')])] }),
        invalid('Duplicate index name: dup'),
      );
      await refused(
        request({
          LocalSecondaryIndexes: [lsi('dup', [H('a'), R('b')])],
          GlobalSecondaryIndexes: [gsi('dup', [H('b')])],
        }),
        invalid('Duplicate index name: dup'),
      );
    });

    it('leaves index names, key lengths and required members to the model constraints', async () => {
      const long = 'a'.repeat(256);
      await refused(
        request({
          LocalSecondaryIndexes: [
            { IndexName: 'h;', KeySchema: [], Projection: {} },
            { IndexName: long, KeySchema: [H('a')], Projection: {} },
          ],
        }),
        '4 validation errors detected: ' +
          "Value 'h;' at 'localSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; " +
          "Value 'h;' at 'localSecondaryIndexes.1.member.indexName' failed to satisfy constraint: Member must have length greater than or equal to 3; " +
          "Value '[]' at 'localSecondaryIndexes.1.member.keySchema' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
          `Value '${long}' at 'localSecondaryIndexes.2.member.indexName' failed to satisfy constraint: Member must have length less than or equal to 255`,
      );
      await refused(
        request({
          GlobalSecondaryIndexes: [{ IndexName: 'gsi', KeySchema: [H('b')] } as GlobalSecondaryIndex],
        }),
        "1 validation error detected: Value null at 'globalSecondaryIndexes.1.member.projection' failed to satisfy constraint: Member must not be null",
      );
      // An LSI key is held to two elements by the model; a GSI key is not (below).
      await refused(
        request({
          AttributeDefinitions: [S('a'), S('b'), S('c')],
          LocalSecondaryIndexes: [lsi('three', [H('a'), R('b'), R('c')])],
        }),
        /^1 validation error detected: Value '\[com\.amazonaws\.dynamodb\.v20120810\.KeySchemaElement@[0-9a-f]+(, com\.amazonaws\.dynamodb\.v20120810\.KeySchemaElement@[0-9a-f]+){2}\]' at 'localSecondaryIndexes\.1\.member\.keySchema' failed to satisfy constraint: Member must have length less than or equal to 2$/,
      );
      await refused(
        request({
          BillingMode: 'PROVISIONED',
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
          GlobalSecondaryIndexes: [
            gsi('zero', [H('b')], { ProvisionedThroughput: { ReadCapacityUnits: 0, WriteCapacityUnits: 1 } }),
          ],
        }),
        "1 validation error detected: Value '0' at 'globalSecondaryIndexes.1.member.provisionedThroughput.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1",
      );
    });
  });

  describe('LSI key schemas', () => {
    it('requires a table sort key, before looking at the index keys', async () => {
      await refused(
        request({ KeySchema: [H('a')], LocalSecondaryIndexes: [lsi('abc', [R('c')])] }),
        invalid('Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex'),
      );
    });

    it('names the first index with an undefined key attribute, as DynamoDB lists its sets', async () => {
      await refused(
        request({ LocalSecondaryIndexes: [lsi('abc', [R('c'), R('d')]), lsi('abd', [R('e')])] }),
        invalid(
          'Some index key attributes are not defined in AttributeDefinitions. Keys: [c, d], AttributeDefinitions: [a, b]',
        ),
      );
      await refused(
        request({ LocalSecondaryIndexes: [lsi('abc', [H('a'), R('c')])] }),
        invalid(
          'Some index key attributes are not defined in AttributeDefinitions. Keys: [a, c], AttributeDefinitions: [a, b]',
        ),
      );
      // Not the order they were sent in: Java's HashSet order (`sk` before `pk`).
      await refused(
        request({
          AttributeDefinitions: [S('pk'), S('sk')],
          KeySchema: [H('pk'), R('sk')],
          LocalSecondaryIndexes: [lsi('abc', [H('pk'), R('q')])],
        }),
        invalid(
          'Some index key attributes are not defined in AttributeDefinitions. Keys: [q, pk], AttributeDefinitions: [sk, pk]',
        ),
      );
    });

    it('checks the elements in DynamoDB order', async () => {
      const one = (keys: KeySchemaElement[]) => request({ LocalSecondaryIndexes: [lsi('abc', keys)] });
      await refused(one([R('a')]), 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
      await refused(
        one([H('a'), H('a')]),
        'Both the Hash Key and the Range Key element in the KeySchema have the same name',
      );
      await refused(
        one([H('a'), R('a')]),
        'Both the Hash Key and the Range Key element in the KeySchema have the same name',
      );
      await refused(one([H('a'), H('b')]), 'Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
      await refused(one([H('b')]), invalid('Index KeySchema does not have a range key for index: abc'));
      await refused(
        one([H('b'), R('a')]),
        invalid(
          'Index KeySchema does not have the same leading hash key as table KeySchema for index: abc. index hash key: b, table hash key: a',
        ),
      );
    });

    it('accepts an LSI on the table sort key and one on another attribute', async () => {
      const table = await created(
        request({
          TableName: 'Lsis',
          AttributeDefinitions: [S('a'), S('b'), S('c')],
          LocalSecondaryIndexes: [lsi('same', [H('a'), R('b')]), lsi('other', [H('a'), R('c')])],
        }),
      );
      assert.deepEqual(
        table.LocalSecondaryIndexes?.map((i) => i.KeySchema),
        [
          [H('a'), R('b')],
          [H('a'), R('c')],
        ],
      );
    });
  });

  describe('GSI key schemas (multi-attribute keys)', () => {
    /** Only the attributes the keys use are defined, so that no other rule can answer first. */
    const one = (keys: KeySchemaElement[]) =>
      request({
        AttributeDefinitions: [...new Set(['a', 'b', ...keys.map((k) => k.AttributeName as string)])].map(S),
        GlobalSecondaryIndexes: [gsi('gsi', keys)],
      });

    it('refuses an undefined key attribute first', async () => {
      await refused(
        request({ KeySchema: [H('a')], GlobalSecondaryIndexes: [gsi('abc', [R('c')])] }),
        invalid(
          'Some index key attributes are not defined in AttributeDefinitions. Keys: [c], AttributeDefinitions: [a, b]',
        ),
      );
    });

    it('refuses repeated attributes, RANGE first, HASH after RANGE and more than 4 of either', async () => {
      await refused(one([H('h1'), H('h1')]), 'The KeySchema contains multiple key attributes with the same name');
      await refused(
        one([H('h1'), H('h2'), R('h1')]),
        'The KeySchema contains multiple key attributes with the same name',
      );
      await refused(one([R('r1')]), 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
      await refused(one([R('r1'), H('h1')]), 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
      await refused(
        one([H('h1'), R('r1'), H('h2')]),
        invalid('All HASH key attributes must precede RANGE key attributes in the KeySchema'),
      );
      await refused(
        one(['h1', 'h2', 'h3', 'h4', 'h5'].map(H)),
        invalid('The KeySchema exceeds the maximum allowed number of HASH key attributes'),
      );
      await refused(
        one([H('h1'), ...['r1', 'r2', 'r3', 'r4', 'r5'].map(R)]),
        invalid('The KeySchema exceeds the maximum allowed number of RANGE key attributes'),
      );
      // Nine elements: DynamoDB's own limit speaks, not a model length bound.
      await refused(
        one([...['h1', 'h2', 'h3', 'h4', 'h5'].map(H), ...['r1', 'r2', 'r3', 'r4'].map(R)]),
        invalid('The KeySchema exceeds the maximum allowed number of HASH key attributes'),
      );
    });

    it('accepts up to 4 HASH and 4 RANGE attributes and echoes them in order', async () => {
      const keys = [...['h1', 'h2', 'h3', 'h4'].map(H), ...['r1', 'r2', 'r3', 'r4'].map(R)];
      const table = await created(
        request({
          TableName: 'Composite',
          AttributeDefinitions: [S('a'), S('b'), ...['h1', 'h2', 'h3', 'h4', 'r1', 'r2', 'r3', 'r4'].map(S)],
          GlobalSecondaryIndexes: [
            gsi('g44', keys),
            gsi('g20', [H('h1'), H('h2')]),
            gsi('g12', [H('a'), R('r1'), R('r2')]),
          ],
        }),
      );
      assert.deepEqual(
        table.GlobalSecondaryIndexes?.map((i) => i.KeySchema),
        [keys, [H('h1'), H('h2')], [H('a'), R('r1'), R('r2')]],
      );
      const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Composite' }));
      assert.deepEqual(Table?.GlobalSecondaryIndexes?.[0]?.KeySchema, keys);
    });

    it('accepts a GSI keyed like the table and named like the table', async () => {
      const table = await created(
        request({ TableName: 'Twin', GlobalSecondaryIndexes: [gsi('Twin', [H('a'), R('b')])] }),
      );
      assert.equal(table.GlobalSecondaryIndexes?.[0]?.IndexName, 'Twin');
    });
  });

  describe('attribute definitions', () => {
    it('refuses a definition no key uses, listing the definitions as sent and the keys as a set', async () => {
      await refused(
        request({
          AttributeDefinitions: ['sk', 'a', 'b', 'pk', 'c'].map(S),
          KeySchema: [H('pk'), R('sk')],
          GlobalSecondaryIndexes: [gsi('gsi', [H('a')])],
        }),
        invalid(
          'Some AttributeDefinitions are not used. AttributeDefinitions: [sk, a, b, pk, c], keys used: [a, sk, pk]',
        ),
      );
      // Without indexes DynamoDB's older message.
      await refused(
        request({ AttributeDefinitions: [S('a'), S('b'), S('c')] }),
        invalid(
          'Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
        ),
      );
    });

    it('checks unused definitions before projections, throughput and names', async () => {
      await refused(
        request({
          AttributeDefinitions: [S('a'), S('b'), S('c')],
          BillingMode: 'PROVISIONED',
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
          GlobalSecondaryIndexes: [
            { IndexName: 'gsi', KeySchema: [H('b')], Projection: {} },
            { IndexName: 'gsi', KeySchema: [H('a')], Projection: { ProjectionType: 'ALL' } },
          ],
        }),
        invalid('Some AttributeDefinitions are not used. AttributeDefinitions: [a, b, c], keys used: [a, b]'),
      );
    });

    it('checks undefined key attributes before unused definitions', async () => {
      await refused(
        request({ KeySchema: [H('a')], GlobalSecondaryIndexes: [gsi('gsi', [H('c')])] }),
        invalid(
          'Some index key attributes are not defined in AttributeDefinitions. Keys: [c], AttributeDefinitions: [a, b]',
        ),
      );
    });
  });

  describe('projections', () => {
    const withProjection = (projection: object) =>
      request({ GlobalSecondaryIndexes: [{ IndexName: 'gsi', KeySchema: [H('b')], Projection: projection }] });

    it('refuses a missing type, NonKeyAttributes outside INCLUDE, INCLUDE without them and repeats', async () => {
      await refused(withProjection({}), invalid('Unknown ProjectionType: null'));
      await refused(withProjection({ NonKeyAttributes: ['x'] }), invalid('Unknown ProjectionType: null'));
      await refused(
        withProjection({ ProjectionType: 'ALL', NonKeyAttributes: ['x'] }),
        invalid('ProjectionType is ALL, but NonKeyAttributes is specified'),
      );
      await refused(
        withProjection({ ProjectionType: 'KEYS_ONLY', NonKeyAttributes: ['x'] }),
        invalid('ProjectionType is KEYS_ONLY, but NonKeyAttributes is specified'),
      );
      await refused(
        withProjection({ ProjectionType: 'INCLUDE' }),
        invalid('ProjectionType is INCLUDE, but NonKeyAttributes is not specified'),
      );
      await refused(
        withProjection({ ProjectionType: 'INCLUDE', NonKeyAttributes: ['x', 'y', 'x'] }),
        invalid('Duplicate element in NonKeyAttributes: x'),
      );
      await refused(
        request({ LocalSecondaryIndexes: [lsi('lsi', [H('a'), R('b')], {})] }),
        invalid('Unknown ProjectionType: null'),
      );
    });

    it('leaves the type enum and the 1..20 NonKeyAttributes of one index to the model', async () => {
      await refused(
        withProjection({ ProjectionType: 'abc', NonKeyAttributes: [] }),
        '2 validation errors detected: ' +
          "Value 'abc' at 'globalSecondaryIndexes.1.member.projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]; " +
          "Value '[]' at 'globalSecondaryIndexes.1.member.projection.nonKeyAttributes' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
      const names = Array.from({ length: 21 }, (_, i) => `n${i}`);
      await refused(
        withProjection({ ProjectionType: 'INCLUDE', NonKeyAttributes: names }),
        `1 validation error detected: Value '[${names.join(', ')}]' at 'globalSecondaryIndexes.1.member.projection.nonKeyAttributes' failed to satisfy constraint: Member must have length less than or equal to 20`,
      );
    });

    it('allows 100 NonKeyAttributes over all indexes and refuses 101, a name in two indexes counting twice', async () => {
      const include = (names: string[]) => ({ ProjectionType: 'INCLUDE', NonKeyAttributes: names });
      const twenty = Array.from({ length: 20 }, (_, i) => `n${i}`);
      const indexes = (last: string[]) => [
        ...[0, 1, 2, 3].map((i) => ({ IndexName: `g${i}x`, KeySchema: [H('b')], Projection: include(twenty) })),
        { IndexName: 'g4x', KeySchema: [H('b')], Projection: include(last) },
      ];
      await refused(
        request({
          GlobalSecondaryIndexes: indexes(twenty) as GlobalSecondaryIndex[],
          LocalSecondaryIndexes: [lsi('lsi', [H('a'), R('b')], include(['n0']))],
        }),
        invalid(
          'Number of projected attributes in all indexes exceeds limit of 100, number of projected attributes:101',
        ),
      );
      const table = await created(
        request({ TableName: 'Hundred', GlobalSecondaryIndexes: indexes(twenty) as GlobalSecondaryIndex[] }),
      );
      assert.equal(table.GlobalSecondaryIndexes?.length, 5);
    });

    it('accepts key attributes among NonKeyAttributes', async () => {
      const table = await created(
        request({
          TableName: 'KeyNames',
          GlobalSecondaryIndexes: [
            {
              IndexName: 'gsi',
              KeySchema: [H('b')],
              Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['b', 'a', 'x'] },
            },
          ],
        }),
      );
      assert.deepEqual(table.GlobalSecondaryIndexes?.[0]?.Projection?.NonKeyAttributes, ['a', 'b', 'x']);
    });
  });

  describe('GSI throughput by billing mode', () => {
    const provisioned = {
      BillingMode: 'PROVISIONED' as const,
      ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
    };

    it('requires ProvisionedThroughput on a provisioned table and refuses it on an on-demand one', async () => {
      await refused(
        request({ ...provisioned, GlobalSecondaryIndexes: [gsi('g-a', [H('b')])] }),
        invalid('ProvisionedThroughput is not specified for index: g-a'),
      );
      // BillingMode omitted is PROVISIONED.
      await refused(
        request({
          BillingMode: undefined,
          ProvisionedThroughput: provisioned.ProvisionedThroughput,
          GlobalSecondaryIndexes: [gsi('g-a', [H('b')])],
        }),
        invalid('ProvisionedThroughput is not specified for index: g-a'),
      );
      await refused(
        request({
          GlobalSecondaryIndexes: [
            gsi('g-a', [H('b')], { ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } }),
          ],
        }),
        invalid('ProvisionedThroughput should not be specified for index: g-a when BillingMode is PAY_PER_REQUEST'),
      );
    });

    it('refuses OnDemandThroughput on a provisioned table and caps outside the valid range', async () => {
      await refused(
        request({
          ...provisioned,
          GlobalSecondaryIndexes: [
            gsi('g-a', [H('b')], {
              ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
              OnDemandThroughput: { MaxReadRequestUnits: 10, MaxWriteRequestUnits: 10 },
            }),
          ],
        }),
        'MaxReadRequestUnits for OnDemandThroughput for index: g-a cannot be specified when table BillingMode is PROVISIONED.',
      );
      for (const value of [0, -1]) {
        await refused(
          request({
            GlobalSecondaryIndexes: [gsi('g-a', [H('b')], { OnDemandThroughput: { MaxWriteRequestUnits: value } })],
          }),
          invalid('Requested MaxWriteRequestUnits for OnDemandThroughput for index : g-a is outside of valid range'),
        );
      }
    });

    it('refuses WarmThroughput below the on-demand start or below the provisioned capacity', async () => {
      await refused(
        request({
          GlobalSecondaryIndexes: [
            gsi('g-a', [H('b')], { WarmThroughput: { ReadUnitsPerSecond: 1, WriteUnitsPerSecond: 1 } }),
          ],
        }),
        invalid(
          'Requested ReadUnitsPerSecond for WarmThroughput for index g-a is lower than initial throughput for OnDemand. See: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html#on-demand-capacity-mode-initial',
        ),
      );
      await refused(
        request({
          ...provisioned,
          GlobalSecondaryIndexes: [
            gsi('g-a', [H('b')], {
              ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 10 },
              WarmThroughput: { WriteUnitsPerSecond: 5 },
            }),
          ],
        }),
        invalid(
          'Requested WriteUnitsPerSecond for WarmThroughput for index g-a is lower than WriteCapacityUnits of ProvisionedThroughput',
        ),
      );
    });

    it('accepts each member alone where the billing mode allows it', async () => {
      const table = await created(
        request({
          TableName: 'OnDemandCaps',
          GlobalSecondaryIndexes: [
            gsi('g-a', [H('b')], {
              OnDemandThroughput: { MaxReadRequestUnits: 50 },
              WarmThroughput: { ReadUnitsPerSecond: 13000 },
            }),
          ],
        }),
      );
      assert.deepEqual(table.GlobalSecondaryIndexes?.[0]?.OnDemandThroughput, { MaxReadRequestUnits: 50 });
    });
  });

  it('created none of the refused tables', async () => {
    const { TableNames } = await ddb.send(new ListTablesCommand({}));
    assert.deepEqual(TableNames, ['Composite', 'Hundred', 'KeyNames', 'Lsis', 'Most', 'OnDemandCaps', 'Twin']);
  });
});
