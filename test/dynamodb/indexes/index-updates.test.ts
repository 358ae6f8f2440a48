import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndexUpdate,
  type TableDescription,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const ONE_AT_A_TIME =
  'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table';

const create = (name: string, attribute: string, extra: object = {}): GlobalSecondaryIndexUpdate => ({
  Create: {
    IndexName: name,
    KeySchema: [{ AttributeName: attribute, KeyType: 'HASH' }],
    Projection: { ProjectionType: 'ALL' },
    ...extra,
  },
});
const defs = (...names: string[]): AttributeDefinition[] =>
  names.map((n) => ({ AttributeName: n, AttributeType: 'S' }));

/** UpdateTable GlobalSecondaryIndexUpdates: the rules and DynamoDB's exact messages (index work stepped by hand). */
describe('UpdateTable GlobalSecondaryIndexUpdates', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let tables = 0;

  before(async () => {
    server = await startTestServer({ inMemory: true, indexJobs: { mode: 'manual' } });
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  /** A new table (pay per request unless throughput is given), with a GSI 'gsi' on 'g' and an LSI 'lsi' on 'l'. */
  async function newTable(options: Partial<CreateTableCommandInput> = {}): Promise<string> {
    const name = `table${++tables}`;
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: defs('pk', 'sk', 'g', 'l'),
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        LocalSecondaryIndexes: [
          {
            IndexName: 'lsi',
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'l', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi',
            KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
            ...(options.ProvisionedThroughput
              ? { ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 2 } }
              : {}),
          },
        ],
        BillingMode: options.ProvisionedThroughput ? 'PROVISIONED' : 'PAY_PER_REQUEST',
        ...options,
      }),
    );
    return name;
  }

  const update = (TableName: string, GlobalSecondaryIndexUpdates: GlobalSecondaryIndexUpdate[], rest: object = {}) =>
    ddb.send(new UpdateTableCommand({ TableName, GlobalSecondaryIndexUpdates, ...rest }));
  const describeTable = async (TableName: string) =>
    (await ddb.send(new DescribeTableCommand({ TableName }))).Table as TableDescription;
  const drain = async () => {
    while (await server.indexJobsStep()) {}
  };

  it('checks the shape of the list before the table is looked up', async () => {
    const table = await newTable();
    await rejectsWith(
      update(table, []),
      'ValidationException',
      /^At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates/,
    );
    await rejectsWith(
      update(table, [], { DeletionProtectionEnabled: true }),
      'ValidationException',
      'One or more parameter values were invalid: List of GlobalSecondaryIndexUpdates is empty',
    );
    await rejectsWith(
      update(table, [{}]),
      'ValidationException',
      'One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null',
    );
    await rejectsWith(
      update(table, [{ ...create('byX', 'x'), Delete: { IndexName: 'gsi' } }], { AttributeDefinitions: defs('x') }),
      'ValidationException',
      'One or more parameter values were invalid: Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object',
    );
    // The same index twice is refused even for a table that does not exist (dynalite).
    await rejectsWith(
      update('nosuchtable', [{ Delete: { IndexName: 'abc' } }, { Delete: { IndexName: 'abc' } }]),
      'ValidationException',
      'One or more parameter values were invalid: Only one global secondary index update per index is allowed simultaneously. Index: abc',
    );
    await rejectsWith(
      update('nosuchtable', [{ Delete: { IndexName: 'abc' } }]),
      'ResourceNotFoundException',
      'Requested resource not found: Table: nosuchtable not found',
    );
  });

  it('allows one Create or Delete per request, as a LimitExceededException', async () => {
    const table = await newTable();
    const attributes = { AttributeDefinitions: defs('x', 'y') };
    await rejectsWith(
      update(table, [create('idxA', 'x'), create('idxB', 'y')], attributes),
      'LimitExceededException',
      ONE_AT_A_TIME,
    );
    await rejectsWith(
      update(table, [create('idxA', 'x'), { Delete: { IndexName: 'gsi' } }], attributes),
      'LimitExceededException',
      ONE_AT_A_TIME,
    );
    await rejectsWith(
      update(table, [{ Delete: { IndexName: 'gsi' } }, { Delete: { IndexName: 'other' } }]),
      'LimitExceededException',
      ONE_AT_A_TIME,
    );
    assert.deepEqual(
      (await describeTable(table)).GlobalSecondaryIndexes?.map((g) => g.IndexName),
      ['gsi'],
      'a refused request changes nothing',
    );
  });

  it('refuses a Create or Delete together with other table changes', async () => {
    const table = await newTable({ ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } });
    const withCreate = (rest: object) =>
      update(table, [create('idxA', 'x', { ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } })], {
        AttributeDefinitions: defs('x'),
        ...rest,
      });
    await rejectsWith(
      withCreate({ ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } }),
      'ValidationException',
      'One or more parameter values were invalid: You cannot create or delete index while updating table IOPS',
    );
    await rejectsWith(
      withCreate({ SSESpecification: { Enabled: true } }),
      'ValidationException',
      'One or more parameter values were invalid: Server-Side Encryption modification must be the only operation in the request',
    );
    await rejectsWith(
      withCreate({ TableClass: 'STANDARD_INFREQUENT_ACCESS' }),
      'ValidationException',
      'One or more parameter values were invalid: TableClass modification must be the only operation in the request',
    );
    await rejectsWith(
      withCreate({ DeletionProtectionEnabled: true }),
      'ValidationException',
      'One or more parameter values were invalid: DeletionProtection modification must be the only operation in the request',
    );
    // A GSI Update may go with a table throughput change.
    await update(
      table,
      [{ Update: { IndexName: 'gsi', ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 3 } } }],
      {
        ProvisionedThroughput: { ReadCapacityUnits: 4, WriteCapacityUnits: 4 },
      },
    );
    const described = await describeTable(table);
    assert.equal(described.ProvisionedThroughput?.ReadCapacityUnits, 4);
    assert.equal(described.GlobalSecondaryIndexes?.[0]?.ProvisionedThroughput?.ReadCapacityUnits, 3);
  });

  it('creates a GSI: CREATING and backfilling at once, its key attribute added, then ACTIVE', async () => {
    const table = await newTable();
    const response = await update(table, [create('byX', 'x', { Projection: { ProjectionType: 'KEYS_ONLY' } })], {
      // Definitions no key uses are ignored (DDB-TABLE-162).
      AttributeDefinitions: defs('x', 'unused'),
    });
    const description = response.TableDescription;
    assert.equal(description?.TableStatus, 'UPDATING');
    const created = description?.GlobalSecondaryIndexes?.find((g) => g.IndexName === 'byX');
    assert.equal(created?.IndexStatus, 'CREATING');
    assert.equal(created?.Backfilling, true);
    assert.equal(created?.ItemCount, 0);
    assert.equal(created?.IndexArn, `arn:aws:dynamodb:us-east-1:000000000000:table/${table}/index/byX`);
    assert.deepEqual(created?.KeySchema, [{ AttributeName: 'x', KeyType: 'HASH' }]);
    assert.deepEqual(created?.Projection, { ProjectionType: 'KEYS_ONLY' });
    assert.deepEqual(description?.AttributeDefinitions?.map((a) => a.AttributeName).sort(), [
      'g',
      'l',
      'pk',
      'sk',
      'x',
    ]);
    // Another Create or Delete waits for this one; an Update of another index does not.
    await rejectsWith(
      update(table, [create('byY', 'y')], { AttributeDefinitions: defs('y') }),
      'LimitExceededException',
      ONE_AT_A_TIME,
    );
    await rejectsWith(update(table, [{ Delete: { IndexName: 'gsi' } }]), 'LimitExceededException', ONE_AT_A_TIME);
    await update(table, [{ Update: { IndexName: 'gsi', OnDemandThroughput: { MaxReadRequestUnits: 50 } } }]);
    // DynamoDB refuses DeleteTable while an index is being built (DDB-TABLE-150).
    await rejectsWith(
      ddb.send(new DeleteTableCommand({ TableName: table })),
      'ResourceInUseException',
      'Attempt to change a resource which is still in use: Cannot delete table while indexes are being created, updated, or deleted.',
    );
    await drain();
    const active = (await describeTable(table)).GlobalSecondaryIndexes?.find((g) => g.IndexName === 'byX');
    assert.equal(active?.IndexStatus, 'ACTIVE');
    assert.equal(active?.Backfilling, undefined, 'Backfilling is only shown while CREATING');
    await ddb.send(new DeleteTableCommand({ TableName: table }));
  });

  it('refuses a Create DynamoDB would refuse, with its messages', async () => {
    const table = await newTable();
    await rejectsWith(
      update(table, [create('byX', 'x')]),
      'ValidationException',
      'One or more parameter values were invalid: AttributeDefinitions is not specified for index: byX',
    );
    for (const taken of ['gsi', 'lsi']) {
      await rejectsWith(
        update(table, [create(taken, 'x')], { AttributeDefinitions: defs('x') }),
        'ValidationException',
        'Attempting to create an index which already exists',
      );
    }
    await rejectsWith(
      update(table, [create('byX', 'x')], { AttributeDefinitions: defs('y') }),
      'ValidationException',
      /^One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions\./,
    );
    await rejectsWith(
      update(table, [create('byG', 'g')], { AttributeDefinitions: [{ AttributeName: 'g', AttributeType: 'N' }] }),
      'ValidationException',
      /^One or more parameter values were invalid: Attributes cannot be redefined\. Please check that your attribute has the same type as previously defined\. Existing schema: Schema:\[SchemaElement: key\{g:S:HASH\}\] New schema: Schema:\[SchemaElement: key\{g:N:HASH\}\]$/,
    );
    await rejectsWith(
      update(table, [create('byX', 'x', { ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } })], {
        AttributeDefinitions: defs('x'),
      }),
      'ValidationException',
      'One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: byX when BillingMode is PAY_PER_REQUEST',
    );
    const provisioned = await newTable({ ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } });
    await rejectsWith(
      update(provisioned, [create('byX', 'x')], { AttributeDefinitions: defs('x') }),
      'ValidationException',
      'One or more parameter values were invalid: Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: byX',
    );
    await rejectsWith(
      update(
        provisioned,
        [
          create('byX', 'x', {
            ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
            OnDemandThroughput: { MaxReadRequestUnits: 10 },
          }),
        ],
        { AttributeDefinitions: defs('x') },
      ),
      'ValidationException',
      'One or more parameter values were invalid: MaxReadRequestUnits for OnDemandThroughput for index : byX cannot be specified when the table BillingMode is PROVISIONED',
    );
    assert.deepEqual(
      (await describeTable(table)).GlobalSecondaryIndexes?.map((g) => g.IndexName),
      ['gsi'],
    );
  });

  it('allows 20 GSIs: the 21st is a LimitExceededException', async () => {
    const name = `table${++tables}`;
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: defs('pk', 'g'),
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: Array.from({ length: 20 }, (_, i) => ({
          IndexName: `gsi${i}`,
          KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' as const }],
          Projection: { ProjectionType: 'KEYS_ONLY' as const },
        })),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await rejectsWith(
      update(name, [create('gsi20', 'x')], { AttributeDefinitions: defs('x') }),
      'LimitExceededException',
      'Subscriber limit exceeded: Number of global secondary indexes exceeds per-table limit of 20',
    );
  });

  it('deletes a GSI: DELETING, then gone with the attribute only it used, and its name free again', async () => {
    const table = await newTable();
    await rejectsWith(
      update(table, [{ Delete: { IndexName: 'nope' } }]),
      'ResourceNotFoundException',
      `Requested resource not found: Index nope for table ${table}`,
    );
    await rejectsWith(
      update(table, [{ Delete: { IndexName: 'lsi' } }]),
      'ValidationException',
      'Cannot delete an index that is not a GlobalSecondaryIndex: lsi',
    );
    await rejectsWith(
      update(table, [{ Update: { IndexName: 'lsi', OnDemandThroughput: { MaxReadRequestUnits: 5 } } }]),
      'ValidationException',
      'Cannot update an index that is not a GlobalSecondaryIndex: lsi',
    );
    // Deletion protection does not protect indexes (DDB-TABLE-166).
    await ddb.send(new UpdateTableCommand({ TableName: table, DeletionProtectionEnabled: true }));
    const response = await update(table, [{ Delete: { IndexName: 'gsi' } }]);
    assert.equal(response.TableDescription?.TableStatus, 'UPDATING');
    assert.equal(response.TableDescription?.GlobalSecondaryIndexes?.[0]?.IndexStatus, 'DELETING');
    await rejectsWith(
      update(table, [{ Update: { IndexName: 'gsi', OnDemandThroughput: { MaxReadRequestUnits: 5 } } }]),
      'ResourceInUseException',
      `Attempt to change a resource which is still in use: Index is being deleted. Table: ${table} Index: gsi`,
    );
    await drain();
    const described = await describeTable(table);
    assert.equal(described.GlobalSecondaryIndexes, undefined);
    assert.deepEqual(described.AttributeDefinitions?.map((a) => a.AttributeName).sort(), ['l', 'pk', 'sk']);
    await rejectsWith(
      update(table, [{ Delete: { IndexName: 'gsi' } }]),
      'ResourceNotFoundException',
      `Requested resource not found: Index gsi for table ${table}`,
    );
    // The name can be used again, even for another key type.
    await update(table, [create('gsi', 'g')], { AttributeDefinitions: [{ AttributeName: 'g', AttributeType: 'N' }] });
    await drain();
    const again = await describeTable(table);
    assert.equal(again.GlobalSecondaryIndexes?.[0]?.IndexStatus, 'ACTIVE');
    assert.deepEqual(
      again.AttributeDefinitions?.find((a) => a.AttributeName === 'g'),
      { AttributeName: 'g', AttributeType: 'N' },
    );
  });

  it('updates the throughput of a GSI by billing mode', async () => {
    const onDemand = await newTable();
    await rejectsWith(
      update(onDemand, [
        { Update: { IndexName: 'gsi', ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } } },
      ]),
      'ValidationException',
      'One or more parameter values were invalid: The only Updates for index: gsi when TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput',
    );
    await update(onDemand, [
      { Update: { IndexName: 'gsi', OnDemandThroughput: { MaxReadRequestUnits: 100, MaxWriteRequestUnits: 50 } } },
    ]);
    const withOnDemand = (await describeTable(onDemand)).GlobalSecondaryIndexes?.[0];
    assert.deepEqual(withOnDemand?.OnDemandThroughput, { MaxReadRequestUnits: 100, MaxWriteRequestUnits: 50 });

    // Switching to PROVISIONED needs every GSI's throughput (DDB-TABLE-152) and drops OnDemandThroughput (DDB-TABLE-153).
    await rejectsWith(
      ddb.send(
        new UpdateTableCommand({
          TableName: onDemand,
          BillingMode: 'PROVISIONED',
          ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: ProvisionedThroughput must be specified for index: gsi',
    );
    await update(
      onDemand,
      [{ Update: { IndexName: 'gsi', ProvisionedThroughput: { ReadCapacityUnits: 7, WriteCapacityUnits: 8 } } }],
      {
        BillingMode: 'PROVISIONED',
        ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
      },
    );
    const switched = (await describeTable(onDemand)).GlobalSecondaryIndexes?.[0];
    assert.equal(switched?.ProvisionedThroughput?.ReadCapacityUnits, 7);
    assert.equal(switched?.ProvisionedThroughput?.WriteCapacityUnits, 8);
    assert.equal(switched?.OnDemandThroughput, undefined);

    await rejectsWith(
      update(onDemand, [
        { Update: { IndexName: 'gsi', ProvisionedThroughput: { ReadCapacityUnits: 7, WriteCapacityUnits: 8 } } },
      ]),
      'ValidationException',
      'The provisioned throughput for the index gsi will not change. The requested value equals the current value. ' +
        'Current ReadCapacityUnits provisioned for index gsi: 7. Requested ReadCapacityUnits: 7. ' +
        'Current WriteCapacityUnits provisioned for index gsi: 8. Requested WriteCapacityUnits: 8. ' +
        'Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.',
    );
    await rejectsWith(
      update(onDemand, [{ Update: { IndexName: 'gsi', OnDemandThroughput: { MaxReadRequestUnits: 10 } } }]),
      'ValidationException',
      'One or more parameter values were invalid: MaxReadRequestUnits for OnDemandThroughput for index : gsi cannot be specified when the table BillingMode is PROVISIONED',
    );
    server.clock.advance(1000);
    await update(onDemand, [
      { Update: { IndexName: 'gsi', ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 9 } } },
    ]);
    const decreased = (await describeTable(onDemand)).GlobalSecondaryIndexes?.[0];
    assert.equal(decreased?.ProvisionedThroughput?.ReadCapacityUnits, 3);
    assert.equal(decreased?.ProvisionedThroughput?.WriteCapacityUnits, 9);
    assert.equal(decreased?.ProvisionedThroughput?.NumberOfDecreasesToday, 1);
  });
});
