import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBackupCommand,
  CreateTableCommand,
  DeleteBackupCommand,
  DescribeBackupCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ListBackupsCommand,
  PutItemCommand,
  RestoreTableFromBackupCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { backupAvailable, createOrders, ORDERS_SCHEMA, tableActive } from './helpers.js';

/** CreateBackup, DescribeBackup, ListBackups, DeleteBackup and RestoreTableFromBackup, valid and not. */
describe('on-demand backup operations', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let arn: string;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    await createOrders(ddb, 'Orders');
    for (let i = 0; i < 30; i++) {
      await ddb.send(
        new PutItemCommand({
          TableName: 'Orders',
          Item: {
            pk: { S: `c${i % 3}` },
            sk: { S: `o${i}` },
            status: { S: i % 2 ? 'open' : 'shipped' },
            total: { N: String(i) },
          },
        }),
      );
    }
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('CreateBackup answers CREATING with the backup ARN, then DescribeBackup shows it AVAILABLE with the source', async () => {
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'Orders',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
      }),
    );
    // Past ENABLING: the backup records TTL as it was then.
    server.clock.advance(2000);
    const before = server.clock.now();
    const { BackupDetails } = await ddb.send(new CreateBackupCommand({ TableName: 'Orders', BackupName: 'first' }));
    assert.ok(BackupDetails?.BackupArn);
    arn = BackupDetails.BackupArn;
    assert.match(arn, /^arn:aws:dynamodb:us-east-1:\d{12}:table\/Orders\/backup\/\d{14}-[0-9a-f]{8}$/);
    assert.equal(BackupDetails.BackupName, 'first');
    assert.equal(BackupDetails.BackupStatus, 'CREATING');
    assert.equal(BackupDetails.BackupType, 'USER');
    assert.ok((BackupDetails.BackupSizeBytes ?? 0) > 0);
    assert.ok(Math.abs((BackupDetails.BackupCreationDateTime as Date).getTime() - before) < 5000);
    await backupAvailable(ddb, arn);
    const { BackupDescription: d } = await ddb.send(new DescribeBackupCommand({ BackupArn: arn }));
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Orders' }));
    assert.equal(d?.BackupDetails?.BackupStatus, 'AVAILABLE');
    assert.equal(d?.SourceTableDetails?.TableName, 'Orders');
    assert.equal(d?.SourceTableDetails?.TableId, Table?.TableId);
    assert.equal(d?.SourceTableDetails?.TableArn, Table?.TableArn);
    assert.equal(d?.SourceTableDetails?.ItemCount, 30);
    assert.equal(d?.SourceTableDetails?.TableSizeBytes, Table?.TableSizeBytes);
    assert.equal(d?.SourceTableDetails?.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(d?.SourceTableDetails?.KeySchema, ORDERS_SCHEMA.KeySchema);
    assert.deepEqual(d?.SourceTableDetails?.ProvisionedThroughput, { ReadCapacityUnits: 0, WriteCapacityUnits: 0 });
    const features = d?.SourceTableFeatureDetails;
    assert.deepEqual(
      features?.LocalSecondaryIndexes?.map((i) => [i.IndexName, i.Projection?.ProjectionType]),
      [['byTotal', 'KEYS_ONLY']],
    );
    assert.deepEqual(
      features?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema?.[0]?.AttributeName]),
      [['byStatus', 'status']],
    );
    assert.deepEqual(features?.TimeToLiveDescription, { TimeToLiveStatus: 'ENABLED', AttributeName: 'expires' });
    // The AWS owned key: no SSEDescription, as DescribeTable.
    assert.equal(features?.SSEDescription, undefined);
  });

  it('CreateBackup of a missing table is TableNotFoundException; bad names fail the model constraints', async () => {
    await rejectsWith(
      ddb.send(new CreateBackupCommand({ TableName: 'Missing', BackupName: 'bk1' })),
      'TableNotFoundException',
      'Table not found: Missing',
    );
    await rejectsWith(
      ddb.send(new CreateBackupCommand({ TableName: 'Orders', BackupName: 'a b' })),
      'ValidationException',
      "1 validation error detected: Value 'a b' at 'backupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
    );
    await rejectsWith(
      ddb.send(new CreateBackupCommand({ TableName: 'Orders', BackupName: 'ab' })),
      'ValidationException',
      "1 validation error detected: Value 'ab' at 'backupName' failed to satisfy constraint: Member must have length greater than or equal to 3",
    );
  });

  it('DescribeBackup and DeleteBackup of an unknown ARN are BackupNotFoundException', async () => {
    const unknown = `${arn.slice(0, -8)}00000000`;
    await rejectsWith(
      ddb.send(new DescribeBackupCommand({ BackupArn: unknown })),
      'BackupNotFoundException',
      `Backup not found: ${unknown}`,
    );
    await rejectsWith(
      ddb.send(new DeleteBackupCommand({ BackupArn: unknown })),
      'BackupNotFoundException',
      `Backup not found: ${unknown}`,
    );
    await rejectsWith(
      ddb.send(new DescribeBackupCommand({ BackupArn: 'arn:short' })),
      'ValidationException',
      "1 validation error detected: Value 'arn:short' at 'backupArn' failed to satisfy constraint: Member must have length greater than or equal to 37",
    );
  });

  it('ListBackups filters by table, time range and type, and pages with ExclusiveStartBackupArn', async () => {
    await createOrders(ddb, 'Other');
    const arns = [arn];
    for (const [table, name] of [
      ['Orders', 'second'],
      ['Other', 'third'],
      ['Orders', 'fourth'],
    ] as const) {
      server.clock.advance(1000);
      const { BackupDetails } = await ddb.send(new CreateBackupCommand({ TableName: table, BackupName: name }));
      arns.push(BackupDetails?.BackupArn as string);
      await backupAvailable(ddb, BackupDetails?.BackupArn as string);
    }
    const all = await ddb.send(new ListBackupsCommand({}));
    assert.deepEqual(
      all.BackupSummaries?.map((s) => s.BackupName),
      ['first', 'second', 'third', 'fourth'],
    );
    assert.equal(all.LastEvaluatedBackupArn, undefined);
    const summary = all.BackupSummaries?.[0];
    assert.equal(summary?.TableName, 'Orders');
    assert.equal(summary?.BackupStatus, 'AVAILABLE');
    assert.equal(summary?.BackupType, 'USER');
    assert.ok(summary?.TableArn?.endsWith(':table/Orders'));

    const orders = await ddb.send(new ListBackupsCommand({ TableName: 'Orders' }));
    assert.deepEqual(
      orders.BackupSummaries?.map((s) => s.BackupName),
      ['first', 'second', 'fourth'],
    );
    const byArn = await ddb.send(new ListBackupsCommand({ TableName: summary?.TableArn }));
    assert.equal(byArn.BackupSummaries?.length, 3);

    const second = all.BackupSummaries?.[1]?.BackupCreationDateTime as Date;
    const fourth = all.BackupSummaries?.[3]?.BackupCreationDateTime as Date;
    // Lower bound inclusive, upper bound exclusive.
    const range = await ddb.send(new ListBackupsCommand({ TimeRangeLowerBound: second, TimeRangeUpperBound: fourth }));
    assert.deepEqual(
      range.BackupSummaries?.map((s) => s.BackupName),
      ['second', 'third'],
    );

    const page1 = await ddb.send(new ListBackupsCommand({ Limit: 3 }));
    assert.deepEqual(
      page1.BackupSummaries?.map((s) => s.BackupName),
      ['first', 'second', 'third'],
    );
    assert.equal(page1.LastEvaluatedBackupArn, arns[2]);
    const page2 = await ddb.send(
      new ListBackupsCommand({ Limit: 3, ExclusiveStartBackupArn: page1.LastEvaluatedBackupArn }),
    );
    assert.deepEqual(
      page2.BackupSummaries?.map((s) => s.BackupName),
      ['fourth'],
    );
    assert.equal(page2.LastEvaluatedBackupArn, undefined);

    assert.equal((await ddb.send(new ListBackupsCommand({ BackupType: 'SYSTEM' }))).BackupSummaries?.length, 0);
    assert.equal((await ddb.send(new ListBackupsCommand({ BackupType: 'ALL' }))).BackupSummaries?.length, 4);
    await rejectsWith(
      ddb.send(new ListBackupsCommand({ Limit: 0 })),
      'ValidationException',
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    await rejectsWith(
      ddb.send(new ListBackupsCommand({ BackupType: 'NONE' as 'ALL' })),
      'ValidationException',
      "1 validation error detected: Value 'NONE' at 'backupType' failed to satisfy constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]",
    );
  });

  it('RestoreTableFromBackup makes a new table CREATING with a RestoreSummary, ACTIVE once every item is in', async () => {
    const { TableDescription } = await ddb.send(
      new RestoreTableFromBackupCommand({ TargetTableName: 'Restored', BackupArn: arn }),
    );
    assert.equal(TableDescription?.TableStatus, 'CREATING');
    assert.equal(TableDescription?.RestoreSummary?.SourceBackupArn, arn);
    assert.ok(TableDescription?.RestoreSummary?.SourceTableArn?.endsWith(':table/Orders'));
    assert.equal(TableDescription?.RestoreSummary?.RestoreInProgress, true);
    assert.ok(TableDescription?.RestoreSummary?.RestoreDateTime instanceof Date);
    const table = await tableActive(ddb, 'Restored');
    assert.equal(table.RestoreSummary?.RestoreInProgress, false);
    assert.equal(table.ItemCount, 30);
    assert.notEqual(table.TableId, TableDescription?.TableId === undefined ? '' : undefined);
    const items = await ddb.send(new ScanCommand({ TableName: 'Restored' }));
    assert.equal(items.Count, 30);
    const gsi = await ddb.send(new ScanCommand({ TableName: 'Restored', IndexName: 'byStatus' }));
    assert.equal(gsi.Count, 30);
    const lsi = await ddb.send(new ScanCommand({ TableName: 'Restored', IndexName: 'byTotal' }));
    assert.equal(lsi.Count, 30);
    assert.deepEqual(
      table.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.ItemCount]),
      [['byStatus', 30]],
    );
    // As DynamoDB: TTL settings are not restored.
    const ttl = await ddb.send(new DescribeTimeToLiveCommand({ TableName: 'Restored' }));
    assert.deepEqual(ttl.TimeToLiveDescription, { TimeToLiveStatus: 'DISABLED' });
  });

  it('restores with index overrides drop the indexes left out; adding or changing one is refused', async () => {
    await ddb.send(
      new RestoreTableFromBackupCommand({
        TargetTableName: 'NoIndexes',
        BackupArn: arn,
        GlobalSecondaryIndexOverride: [],
        LocalSecondaryIndexOverride: [],
        BillingModeOverride: 'PROVISIONED',
        ProvisionedThroughputOverride: { ReadCapacityUnits: 7, WriteCapacityUnits: 3 },
      }),
    );
    const table = await tableActive(ddb, 'NoIndexes');
    assert.equal(table.GlobalSecondaryIndexes, undefined);
    assert.equal(table.LocalSecondaryIndexes, undefined);
    assert.equal(table.ItemCount, 30);
    assert.equal(table.ProvisionedThroughput?.ReadCapacityUnits, 7);
    assert.equal(table.ProvisionedThroughput?.WriteCapacityUnits, 3);
    assert.deepEqual(
      table.AttributeDefinitions?.map((a) => a.AttributeName),
      ['pk', 'sk'],
    );
    await rejectsWith(
      ddb.send(new ScanCommand({ TableName: 'NoIndexes', IndexName: 'byStatus' })),
      'ValidationException',
    );
    await rejectsWith(
      ddb.send(
        new RestoreTableFromBackupCommand({
          TargetTableName: 'Added',
          BackupArn: arn,
          GlobalSecondaryIndexOverride: [
            {
              IndexName: 'byNew',
              KeySchema: [{ AttributeName: 'total', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          ],
        }),
      ),
      'ValidationException',
      'Invalid Request: Index byNew does not match a secondary index that existed in the source table and cannot be created during the restore operation',
    );
    await rejectsWith(
      ddb.send(
        new RestoreTableFromBackupCommand({
          TargetTableName: 'Changed',
          BackupArn: arn,
          GlobalSecondaryIndexOverride: [
            {
              IndexName: 'byStatus',
              KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'KEYS_ONLY' },
            },
          ],
        }),
      ),
      'ValidationException',
      'Invalid Request: Index byStatus does not match a secondary index that existed in the source table and cannot be created during the restore operation',
    );
    await rejectsWith(
      ddb.send(
        new RestoreTableFromBackupCommand({
          TargetTableName: 'Mixed',
          BackupArn: arn,
          ProvisionedThroughputOverride: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
    );
    await rejectsWith(
      ddb.send(new RestoreTableFromBackupCommand({ TargetTableName: 'Orders', BackupArn: arn })),
      'TableAlreadyExistsException',
      'Table already exists: Orders',
    );
    const unknown = `${arn.slice(0, -8)}00000000`;
    await rejectsWith(
      ddb.send(new RestoreTableFromBackupCommand({ TargetTableName: 'Nope', BackupArn: unknown })),
      'BackupNotFoundException',
      `Backup not found: ${unknown}`,
    );
  });

  it('an index override matched by its KeySchema and Projection renames the index; entries are kept', async () => {
    const source = (await ddb.send(new DescribeTableCommand({ TableName: 'Orders' }))).Table;
    const gsi = source?.GlobalSecondaryIndexes?.find((i) => i.IndexName === 'byStatus');
    assert.ok(gsi?.KeySchema && gsi.Projection);
    await ddb.send(
      new RestoreTableFromBackupCommand({
        TargetTableName: 'Renamed',
        BackupArn: arn,
        GlobalSecondaryIndexOverride: [{ IndexName: 'byState', KeySchema: gsi.KeySchema, Projection: gsi.Projection }],
      }),
    );
    const table = await tableActive(ddb, 'Renamed');
    assert.deepEqual(
      table.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.ItemCount]),
      [['byState', 30]],
    );
    const renamed = await ddb.send(new ScanCommand({ TableName: 'Renamed', IndexName: 'byState' }));
    assert.equal(renamed.Count, 30);
    await rejectsWith(
      ddb.send(new ScanCommand({ TableName: 'Renamed', IndexName: 'byStatus' })),
      'ValidationException',
    );
    // One source index cannot stand for two overrides.
    await rejectsWith(
      ddb.send(
        new RestoreTableFromBackupCommand({
          TargetTableName: 'Twice',
          BackupArn: arn,
          GlobalSecondaryIndexOverride: [
            { IndexName: 'byStatus', KeySchema: gsi.KeySchema, Projection: gsi.Projection },
            { IndexName: 'byState', KeySchema: gsi.KeySchema, Projection: gsi.Projection },
          ],
        }),
      ),
      'ValidationException',
      'Invalid Request: Index byState does not match a secondary index that existed in the source table and cannot be created during the restore operation',
    );
  });

  it('DeleteBackup answers the description with status DELETED; the backup is then gone', async () => {
    const { BackupDescription } = await ddb.send(new DeleteBackupCommand({ BackupArn: arn }));
    assert.equal(BackupDescription?.BackupDetails?.BackupStatus, 'DELETED');
    assert.equal(BackupDescription?.SourceTableDetails?.TableName, 'Orders');
    await rejectsWith(ddb.send(new DescribeBackupCommand({ BackupArn: arn })), 'BackupNotFoundException');
    const names = (await ddb.send(new ListBackupsCommand({}))).BackupSummaries?.map((s) => s.BackupName);
    assert.ok(!names?.includes('first'));
  });

  it('an in-memory server keeps no backups; over an engine they are kept there', async () => {
    // Over the engine (SEALDB_TEST_STORAGE) nothing is in memory: tables and backups are rows.
    const memory = await startTestServer({ inMemory: true });
    const client = new DynamoDBClient(memory.clientConfig());
    try {
      await client.send(
        new CreateTableCommand({
          TableName: 'Tab1',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      if (memory.storage) {
        const { BackupDetails } = await client.send(new CreateBackupCommand({ TableName: 'Tab1', BackupName: 'bk1' }));
        await backupAvailable(client, BackupDetails?.BackupArn as string);
      } else {
        await rejectsWith(
          client.send(new CreateBackupCommand({ TableName: 'Tab1', BackupName: 'bk1' })),
          'ContinuousBackupsUnavailableException',
        );
      }
    } finally {
      client.destroy();
      await memory.cleanup();
    }
  });
});
