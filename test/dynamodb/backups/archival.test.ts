import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateBackupCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeBackupCommand,
  DescribeTableCommand,
  GetItemCommand,
  ListBackupsCommand,
  PutItemCommand,
  RestoreTableFromBackupCommand,
} from '@aws-sdk/client-dynamodb';
import { DisableKeyCommand, EnableKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { backupsWithData, placesHolding } from '../../helpers/at-rest.js';
import { keepAliveClient, newConnectionClient } from '../../helpers/clients.js';
import { createKey } from '../../helpers/kms.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { backupAvailable, tableActive } from './helpers.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CANARY = 'canary-7f3d2b9e-plaintext';

async function secureTable(server: TestServer, name: string, items: number) {
  const kms = new KMSClient(server.clientConfig());
  const key = await createKey(kms);
  const ddb = keepAliveClient(server);
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key.id },
    }),
  );
  for (let i = 0; i < items; i++) {
    await ddb.send(
      new PutItemCommand({
        TableName: name,
        Item: { id: { N: String(i) }, v: { S: `${CANARY}-${i}` }, [`${CANARY}-attr`]: { S: 'x' } },
      }),
    );
  }
  return { kms, ddb, key };
}

/** Archival into a real backup, its restore, and backups shredded with their key (files, or engine rows). */
describe('archival backups and crypto-shredding', () => {
  it('archives an inaccessible table into a SYSTEM backup that restores once the key is enabled again', async () => {
    const server = await startTestServer();
    try {
      const { kms, ddb, key } = await secureTable(server, 'Archived', 15);
      await kms.send(new DisableKeyCommand({ KeyId: key.id }));
      server.clock.advance(5 * MINUTE);
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: 'Archived', Key: { id: { N: '1' } } })),
        'AccessDeniedException',
      );
      server.clock.advance(7 * DAY + MINUTE);
      await server.sweep();
      const archiving = (await ddb.send(new DescribeTableCommand({ TableName: 'Archived' }))).Table;
      assert.equal(archiving?.TableStatus, 'ARCHIVING');
      const backupArn = archiving?.ArchivalSummary?.ArchivalBackupArn as string;
      assert.match(backupArn, /:table\/Archived\/backup\/\d{14}-[0-9a-f]{8}$/);
      await server.sweep();
      const archived = (await ddb.send(new DescribeTableCommand({ TableName: 'Archived' }))).Table;
      assert.equal(archived?.TableStatus, 'ARCHIVED');
      assert.equal(archived?.ArchivalSummary?.ArchivalBackupArn, backupArn);

      // A real backup: described, listed as SYSTEM (not among the USER ones by default).
      const { BackupDescription } = await ddb.send(new DescribeBackupCommand({ BackupArn: backupArn }));
      assert.equal(BackupDescription?.BackupDetails?.BackupType, 'SYSTEM');
      assert.equal(BackupDescription?.BackupDetails?.BackupStatus, 'AVAILABLE');
      assert.equal(BackupDescription?.SourceTableDetails?.ItemCount, 15);
      assert.equal(BackupDescription?.SourceTableFeatureDetails?.SSEDescription?.KMSMasterKeyArn, key.arn);
      assert.deepEqual(
        (await ddb.send(new ListBackupsCommand({ BackupType: 'SYSTEM' }))).BackupSummaries?.map((s) => s.BackupArn),
        [backupArn],
      );
      assert.equal((await ddb.send(new ListBackupsCommand({}))).BackupSummaries?.length, 0);

      // Its key is the table's: unusable, so is the backup.
      await rejectsWith(
        ddb.send(new RestoreTableFromBackupCommand({ TargetTableName: 'Unarchived', BackupArn: backupArn })),
        'ValidationException',
        /DisabledException/,
      );
      await kms.send(new EnableKeyCommand({ KeyId: key.id }));
      await server.sweep();
      // DynamoDB keeps an archived table archived; the data comes back through the backup.
      assert.equal(
        (await ddb.send(new DescribeTableCommand({ TableName: 'Archived' }))).Table?.TableStatus,
        'ARCHIVED',
      );
      const fresh = newConnectionClient(server);
      await fresh.send(new RestoreTableFromBackupCommand({ TargetTableName: 'Unarchived', BackupArn: backupArn }));
      const restored = await tableActive(fresh, 'Unarchived');
      assert.equal(restored.ItemCount, 15);
      const item = await fresh.send(new GetItemCommand({ TableName: 'Unarchived', Key: { id: { N: '4' } } }));
      assert.equal(item.Item?.v?.S, `${CANARY}-4`);

      // Or under the original name, once the archived table is deleted.
      await fresh.send(new DeleteTableCommand({ TableName: 'Archived' }));
      await fresh.send(new RestoreTableFromBackupCommand({ TargetTableName: 'Archived', BackupArn: backupArn }));
      assert.equal((await tableActive(fresh, 'Archived')).ItemCount, 15);
      fresh.destroy();
      ddb.destroy();
      kms.destroy();
    } finally {
      await server.cleanup();
    }
  });

  it('deleting the KMS key makes the table backups unreadable for good; no file holds plaintext', async () => {
    const server = await startTestServer();
    try {
      const { kms, ddb, key } = await secureTable(server, 'Shredded', 10);
      const { BackupDetails } = await ddb.send(
        new CreateBackupCommand({ TableName: 'Shredded', BackupName: 'doomed' }),
      );
      const arn = BackupDetails?.BackupArn as string;
      await backupAvailable(ddb, arn);
      // Restorable while the key lives.
      await ddb.send(new RestoreTableFromBackupCommand({ TargetTableName: 'Alive', BackupArn: arn }));
      assert.equal((await tableActive(ddb, 'Alive')).ItemCount, 10);

      // A file of its own, or rows of its own in the engine.
      assert.equal((await backupsWithData(server)).length, 1, 'the backup has data of its own');
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
      server.clock.advance(7 * DAY + MINUTE);
      await server.sweep();
      const fresh = newConnectionClient(server);
      await rejectsWith(
        fresh.send(new RestoreTableFromBackupCommand({ TargetTableName: 'Resurrected', BackupArn: arn })),
        'ValidationException',
        /NotFoundException/,
      );
      await rejectsWith(
        fresh.send(
          new RestoreTableFromBackupCommand({
            TargetTableName: 'Resurrected',
            BackupArn: arn,
            SSESpecificationOverride: { Enabled: false },
          }),
        ),
        'ValidationException',
        /NotFoundException/,
      );
      // Every file, or the engine's whole schema (pg_dump), backups and their catalog included: ciphertext only.
      await server.close();
      assert.deepEqual(await placesHolding(server, [CANARY, 'doomed']), []);
      fresh.destroy();
      ddb.destroy();
      kms.destroy();
    } finally {
      await server.cleanup();
    }
  });
});
