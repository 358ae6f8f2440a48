import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeBackupCommand,
  DynamoDBClient,
  ListBackupsCommand,
  PutItemCommand,
  RestoreTableFromBackupCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { allItems, enablePitr } from '../pitr/helpers.js';
import { tableActive } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;

/**
 * A deleted table's PITR history: "If you delete a table with point-in-time recovery enabled, a
 * system backup is automatically created and is retained for 35 days … table-name$DeletedTableBackup"
 * (DynamoDB Developer Guide, "Before you begin using point-in-time recovery").
 */
describe('deleting a table with point-in-time recovery enabled', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const create = (name: string) =>
    ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  const fill = async (name: string, n: number) => {
    for (let i = 0; i < n; i++) {
      await ddb.send(new PutItemCommand({ TableName: name, Item: { id: { S: `k${i}` }, v: { N: String(i) } } }));
    }
  };
  const systemBackups = async (name: string) =>
    (await ddb.send(new ListBackupsCommand({ TableName: name, BackupType: 'SYSTEM' }))).BackupSummaries ?? [];

  it('keeps a SYSTEM backup named <table>$DeletedTableBackup, expiring 35 days on, that restores the table as it was', async () => {
    await create('Gone');
    await enablePitr(ddb, 'Gone');
    await fill('Gone', 12);
    const before = await allItems(ddb, 'Gone');
    const deletedAt = server.clock.now();
    await ddb.send(new DeleteTableCommand({ TableName: 'Gone' }));

    const [summary, ...more] = await systemBackups('Gone');
    assert.equal(more.length, 0);
    assert.equal(summary?.BackupName, 'Gone$DeletedTableBackup');
    assert.equal(summary?.BackupType, 'SYSTEM');
    assert.equal(summary?.BackupStatus, 'AVAILABLE');
    const created = summary?.BackupCreationDateTime?.getTime() as number;
    assert.ok(created >= deletedAt - 1000 && created <= server.clock.now(), `created ${created}`);
    assert.equal(summary?.BackupExpiryDateTime?.getTime(), created + 35 * DAY);
    // Not a USER backup: the default listing leaves it out.
    assert.deepEqual((await ddb.send(new ListBackupsCommand({ TableName: 'Gone' }))).BackupSummaries, []);
    const { BackupDescription } = await ddb.send(new DescribeBackupCommand({ BackupArn: summary?.BackupArn }));
    assert.equal(BackupDescription?.SourceTableDetails?.ItemCount, 12);
    assert.equal(BackupDescription?.BackupDetails?.BackupExpiryDateTime?.getTime(), created + 35 * DAY);

    // "Restore the deleted table": under its own name again, with every item it had.
    await ddb.send(new RestoreTableFromBackupCommand({ BackupArn: summary?.BackupArn, TargetTableName: 'Gone' }));
    await tableActive(ddb, 'Gone');
    assert.deepEqual(await allItems(ddb, 'Gone'), before);
  });

  it('no system backup for a table without PITR; the backup goes once 35 days have passed', async () => {
    await create('Plain');
    await fill('Plain', 3);
    await ddb.send(new DeleteTableCommand({ TableName: 'Plain' }));
    assert.deepEqual(await systemBackups('Plain'), []);

    await create('Expiring');
    await enablePitr(ddb, 'Expiring');
    await fill('Expiring', 3);
    await ddb.send(new DeleteTableCommand({ TableName: 'Expiring' }));
    const [summary] = await systemBackups('Expiring');
    assert.ok(summary?.BackupArn);
    server.clock.advance(35 * DAY - 60_000);
    await server.sweep();
    assert.equal((await systemBackups('Expiring')).length, 1, 'kept for 35 days');
    server.clock.advance(2 * 60_000);
    await server.sweep();
    assert.deepEqual(await systemBackups('Expiring'), []);
    await rejectsWith(
      ddb.send(new DescribeBackupCommand({ BackupArn: summary.BackupArn })),
      'BackupNotFoundException',
      `Backup not found: ${summary.BackupArn}`,
    );
  });
});
