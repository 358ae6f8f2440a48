/**
 * The backup catalog (`backups.db`) keeps the same `<file>-commits` record as the table files,
 * the table catalog and the key store (commit-counter.ts, issue 12 item 1). Without it, one
 * changed byte inside the newest transaction of its write-ahead log looks like the torn tail of
 * a crash: SQLite's recovery drops that transaction, and with it the newest change to the backups,
 * without a word. With it, the server refuses to start, naming the file and how to restore it.
 */
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBackupCommand,
  CreateTableCommand,
  DynamoDBClient,
  ListBackupsCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { COMMIT_RECORD_SUFFIX } from '../../src/storage/commit-counter.js';
import { checkWal } from '../../src/storage/wal-check.js';
import { backupAvailable } from '../dynamodb/backups/helpers.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
const ddb = (endpoint: string) => new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const BACKUPS = ['orders-1', 'orders-2', 'orders-3'];

/** One changed bit in the page of the last frame SQLite would recover: the newest commit's own frame. */
function flipNewestCommit(walFile: string): void {
  const bytes = readFileSync(walFile);
  const { recoveredFrames } = checkWal(walFile);
  assert.ok(recoveredFrames > 0, `${walFile} holds committed frames`);
  const pageSize = bytes.readUInt32BE(8);
  const at = 32 + (recoveredFrames - 1) * (24 + pageSize) + 24 + 100;
  bytes[at] = (bytes[at] as number) ^ 0x10;
  writeFileSync(walFile, bytes);
}

/** What a write cut short by a crash leaves: a frame header of this generation, half a page after it. */
function tornTail(walFile: string): void {
  const bytes = readFileSync(walFile);
  const header = Buffer.from(bytes.subarray(32, 32 + 24));
  header.writeUInt32BE(0, 4);
  appendFileSync(walFile, Buffer.concat([header, Buffer.alloc(bytes.readUInt32BE(8) / 2, 0x5a)]));
}

async function backupNames(endpoint: string): Promise<string[]> {
  const client = ddb(endpoint);
  const { BackupSummaries } = await client.send(new ListBackupsCommand({}));
  client.destroy();
  return (BackupSummaries ?? []).map((b) => b.BackupName as string).sort();
}

for (const durability of ['process', 'fsync'] as const) {
  describe(`backups.db after a kill -9 (${durability} durability)`, () => {
    let scratch: string;
    let rootKey: string;
    let crashed: string;
    const running: SealdbProcess[] = [];

    async function start(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<SealdbProcess> {
      const server = await startSealdbProcess(
        ['--data-dir', dataDir, '--root-key-file', rootKey, '--durability', durability],
        env,
      );
      running.push(server);
      return server;
    }

    function copyWith(name: string, change?: (dir: string) => void): string {
      const dir = join(scratch, name);
      cpSync(crashed, dir, { recursive: true });
      change?.(dir);
      return dir;
    }

    before(async () => {
      scratch = mkdtempSync(join(tmpdir(), `sealdb-backup-commits-${durability}-`));
      rootKey = join(scratch, 'root.key');
      crashed = join(scratch, 'crashed');
      // No checkpoint folds the logs into their files: the backups' records are still only in the log.
      const server = await start(crashed, { SEALDB_TEST_PAUSE_CHECKPOINTS: '1' });
      const client = ddb(server.endpoint);
      await client.send(
        new CreateTableCommand({
          TableName: 'Orders',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await client.send(new PutItemCommand({ TableName: 'Orders', Item: { id: { S: 'o1' } } }));
      for (const BackupName of BACKUPS) {
        const { BackupDetails } = await client.send(new CreateBackupCommand({ TableName: 'Orders', BackupName }));
        // The newest transaction is the last backup's record turning AVAILABLE.
        await backupAvailable(client, BackupDetails?.BackupArn as string);
      }
      client.destroy();
      await server.stop('SIGKILL');
    });

    after(async () => {
      for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop('SIGKILL');
      rmSync(scratch, { recursive: true, force: true });
    });

    it('keeps a commit record beside backups.db, and its log still holds the backups', () => {
      assert.ok(existsSync(join(crashed, `backups.db${COMMIT_RECORD_SUFFIX}`)));
      assert.ok(checkWal(join(crashed, 'backups.db-wal')).recoveredFrames > 0);
    });

    it('recovers every backup from the untouched log', async () => {
      const server = await start(copyWith('untouched'));
      assert.deepEqual(await backupNames(server.endpoint), BACKUPS);
      await server.stop();
    });

    it("a changed byte in backups.db's newest transaction: the server refuses to start, naming the file", async () => {
      // Before the record, the server started on the shortened log (SQLite dropped that transaction silently).
      const dir = copyWith('flipped', (d) => flipNewestCommit(join(d, 'backups.db-wal')));
      await assert.rejects(start(dir), (error: Error) => {
        assert.match(error.message, /exited with 1/);
        assert.match(error.message, /backups\.db is damaged: frame \d+ of its write-ahead log .*backups\.db-wal/);
        assert.match(error.message, /backups\.db-commits records that the log was committed through frame \d+/);
        assert.match(error.message, /Restore .*backups\.db.* from a backup of the data directory/);
        return true;
      });
      assert.ok(existsSync(join(dir, 'backups.db-wal')), 'the log is left in place');
    });

    it('a torn tail of its log stays recoverable, with every backup', async () => {
      const server = await start(copyWith('torn', (d) => tornTail(join(d, 'backups.db-wal'))));
      assert.deepEqual(await backupNames(server.endpoint), BACKUPS);
      await server.stop();
    });
  });
}
