/** One sealdb process per data directory: a second start fails at once, a killed holder's lock is taken over. */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { LOCK_FILE } from '../../src/storage/data-dir-lock.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';
import { startTestServer } from '../helpers/server.js';

const CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
const kmsAt = (endpoint: string) =>
  new KMSClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });

let scratch: string;
let dataDir: string;
let args: string[];

before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'sealdb-lock-'));
  dataDir = join(scratch, 'data');
  args = ['--data-dir', dataDir, '--root-key-file', join(scratch, 'keys', 'root.key')];
});
after(() => rmSync(scratch, { recursive: true, force: true }));

const lockHolder = (): number => (JSON.parse(readFileSync(join(dataDir, LOCK_FILE), 'utf8')) as { pid: number }).pid;

describe('two processes on one data directory', () => {
  test('the second fails at once, naming the holder and the data directory; the first keeps serving', async () => {
    const first = await startSealdbProcess(args);
    try {
      const kms = kmsAt(first.endpoint);
      await kms.send(new CreateKeyCommand({}));
      // Stopped at once if it starts anyway (today's bug), so the test fails instead of hanging.
      const refused = await startSealdbProcess(args).then(
        async (second) => {
          await second.stop('SIGKILL');
          return undefined;
        },
        (error: Error) => error,
      );
      assert.ok(refused, 'a second process started on the same data directory');
      assert.match(refused.message, /sealdb exited with 1/);
      assert.ok(
        refused.message.includes(`is in use by another sealdb process (PID ${first.child.pid}`),
        refused.message,
      );
      assert.ok(refused.message.includes(resolve(dataDir)), refused.message);
      assert.ok(refused.message.includes(join(resolve(dataDir), LOCK_FILE)), refused.message);
      const { Keys } = await kms.send(new ListKeysCommand({}));
      assert.equal(Keys?.length, 1, 'the refused start changed nothing');
      kms.destroy();
      assert.equal(lockHolder(), first.child.pid);
    } finally {
      assert.equal(await first.stop(), 0);
    }
    assert.equal(existsSync(join(dataDir, LOCK_FILE)), false, 'a clean stop releases the lock');
  });

  test('after kill -9 the next start takes the stale lock over', async () => {
    let killed: SealdbProcess | undefined = await startSealdbProcess(args);
    let again: SealdbProcess | undefined;
    try {
      const kms = kmsAt(killed.endpoint);
      await kms.send(new CreateKeyCommand({}));
      kms.destroy();
      await killed.stop('SIGKILL');
      assert.equal(lockHolder(), killed.child.pid, 'kill -9 leaves its lock behind');
      killed = undefined;
      again = await startSealdbProcess(args);
      assert.equal(lockHolder(), again.child.pid);
      const client = kmsAt(again.endpoint);
      const { Keys } = await client.send(new ListKeysCommand({}));
      client.destroy();
      assert.equal(Keys?.length, 2, 'the keys made before the kill are all there');
    } finally {
      killed?.child.kill('SIGKILL');
      if (again) assert.equal(await again.stop(), 0);
    }
  });

  test('a lock whose PID now belongs to another process (PID reuse) is stale', async () => {
    // A live PID (this test runner) with a start time that is not its own: what a reused PID looks like.
    writeFileSync(
      join(dataDir, LOCK_FILE),
      `${JSON.stringify({ pid: process.pid, procStart: '1', host: hostname(), dir: 'reused', startedAt: 'earlier' })}\n`,
    );
    const child = await startSealdbProcess(args);
    try {
      assert.equal(lockHolder(), child.child.pid);
    } finally {
      assert.equal(await child.stop(), 0);
    }
  });

  test('a damaged lock file is refused with a message naming it', async () => {
    writeFileSync(join(dataDir, LOCK_FILE), '{"pid": 12');
    try {
      await assert.rejects(startSealdbProcess(args), (error: Error) => {
        assert.ok(
          error.message.includes(`the lock file ${join(resolve(dataDir), LOCK_FILE)} is damaged`),
          error.message,
        );
        assert.match(error.message, /delete the lock file/);
        return true;
      });
    } finally {
      rmSync(join(dataDir, LOCK_FILE));
    }
  });
});

describe('in-process servers (the test helper)', () => {
  test('a second server in the same process is refused; close releases; a copied data directory starts', async () => {
    const first = await startTestServer();
    try {
      await assert.rejects(
        startTestServer({ dataDir: first.dataDir, rootKeyFile: first.rootKeyFile }),
        /is in use by another sealdb process .*It is this process/,
      );
      // A copy taken while it runs carries the lock file, which does not lock the copy.
      const copy = join(first.scratch, 'copy');
      cpSync(first.dataDir, copy, { recursive: true });
      const onCopy = await startTestServer({ dataDir: copy, rootKeyFile: first.rootKeyFile, scratch: first.scratch });
      await onCopy.close();
      assert.equal(existsSync(join(copy, LOCK_FILE)), false);
      await first.close();
      const reopened = await startTestServer({
        dataDir: first.dataDir,
        rootKeyFile: first.rootKeyFile,
        scratch: first.scratch,
      });
      await reopened.close();
    } finally {
      await first.cleanup();
    }
  });

  test('the in-memory mode takes no lock', async () => {
    const a = await startTestServer({ inMemory: true });
    try {
      assert.equal(existsSync(join(a.dataDir, LOCK_FILE)), false);
    } finally {
      await a.cleanup();
    }
  });
});
