/**
 * A restore whose process is killed while it fills its table: after a restart the half-filled
 * table is gone (as a failed restore's is), not left CREATING for good, and the same restore can
 * be made again. A real `sealdb start` process, killed with SIGKILL right after
 * RestoreTableFromBackup answered (the fill of 2,000 items of 8 KB goes on in slices for far
 * longer than that).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateBackupCommand,
  CreateTableCommand,
  DescribeBackupCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
  RestoreTableFromBackupCommand,
} from '@aws-sdk/client-dynamodb';
import { type SealdbProcess, startSealdbProcess } from '../../helpers/process.js';

const ITEMS = 2000;

describe('a restore killed mid-fill', () => {
  let scratch: string;
  let args: string[];
  const running: SealdbProcess[] = [];

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sealdb-restore-kill-'));
    args = ['--data-dir', join(scratch, 'data'), '--root-key-file', join(scratch, 'root.key')];
  });
  after(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  const start = async () => {
    const server = await startSealdbProcess(args);
    running.push(server);
    const ddb = new DynamoDBClient({
      endpoint: server.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    });
    return { server, ddb };
  };

  const status = async (ddb: DynamoDBClient, TableName: string) =>
    (await ddb.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus;

  it('leaves no CREATING table behind after a restart, and the restore can be made again', async () => {
    const first = await start();
    await first.ddb.send(
      new CreateTableCommand({
        TableName: 'Source',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const payload = 'p'.repeat(8 * 1024);
    for (let i = 0; i < ITEMS; i += 25) {
      const batch = Array.from({ length: 25 }, (_, j) => ({
        PutRequest: { Item: { id: { S: `item-${i + j}` }, payload: { S: payload } } },
      }));
      await first.ddb.send(new BatchWriteItemCommand({ RequestItems: { Source: batch } }));
    }
    const { BackupDetails } = await first.ddb.send(
      new CreateBackupCommand({ TableName: 'Source', BackupName: 'before-kill' }),
    );
    const BackupArn = BackupDetails?.BackupArn as string;
    for (let i = 0; i < 600; i++) {
      const d = await first.ddb.send(new DescribeBackupCommand({ BackupArn }));
      if (d.BackupDescription?.BackupDetails?.BackupStatus === 'AVAILABLE') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const restored = await first.ddb.send(
      new RestoreTableFromBackupCommand({ BackupArn, TargetTableName: 'Restored' }),
    );
    await first.server.stop('SIGKILL');
    assert.equal(restored.TableDescription?.TableStatus, 'CREATING');
    first.ddb.destroy();

    const second = await start();
    try {
      await assert.rejects(
        second.ddb.send(new DescribeTableCommand({ TableName: 'Restored' })),
        ResourceNotFoundException,
        'the half-filled table of the killed restore is gone',
      );
      await second.ddb.send(new RestoreTableFromBackupCommand({ BackupArn, TargetTableName: 'Restored' }));
      let now = await status(second.ddb, 'Restored');
      for (let i = 0; i < 600 && now === 'CREATING'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        now = await status(second.ddb, 'Restored');
      }
      assert.equal(now, 'ACTIVE');
      const table = (await second.ddb.send(new DescribeTableCommand({ TableName: 'Restored' }))).Table;
      assert.equal(table?.RestoreSummary?.RestoreInProgress, false);
    } finally {
      second.ddb.destroy();
      await second.server.stop('SIGTERM');
    }
  });
});
