/**
 * When the checkpoint worker copies a table file's log: the wal-index read it decides by, and
 * a log that stops growing below its limit copied all the same (its pages then sit in the
 * database file, not only in the log).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Checkpointer } from '../../src/storage/checkpointer.js';
import { openEncryptedDatabase } from '../../src/storage/encrypted-db.js';
import { TableFile } from '../../src/storage/table-file.js';
import { walProgress } from '../../src/storage/wal-index.js';

const row = (n: number) => ({
  hash: n % 7,
  pk: Buffer.from(`pk-${n}`),
  sk: Buffer.alloc(0),
  body: randomBytes(900),
  size: 900,
});

/** A table file with its own checkpoint worker in a scratch folder, removed (and the key zeroed) after `test`. */
async function withWorkerTable(
  prefix: string,
  options: { walLimitBytes?: number },
  test: (t: { file: string; key: Buffer; checkpointer: Checkpointer }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const key = randomBytes(32);
  try {
    await test({ file: join(dir, 't.db'), key, checkpointer: new Checkpointer(options) });
  } finally {
    key.fill(0);
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('wal-index progress', () => {
  it('counts the frames of the log and those copied, and starts over with the log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-wal-index-'));
    const file = join(dir, 't.db');
    try {
      assert.equal(walProgress(file), undefined, 'no log yet');
      const db = openEncryptedDatabase({ file, key: Buffer.alloc(32, 9), autoCheckpointPages: 0 });
      db.exec('CREATE TABLE t (v BLOB)');
      for (let i = 0; i < 5; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run(Buffer.alloc(9000, i));
      const written = walProgress(file);
      assert.ok(written && written.frames > 5, `frames: ${JSON.stringify(written)}`);
      assert.equal(written.copied, 0);
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[];
      assert.deepEqual(walProgress(file), { frames: result?.log, copied: result?.checkpointed });
      assert.equal(result?.checkpointed, written.frames);
      // A log copied whole is started over by the next writer.
      db.prepare('INSERT INTO t (v) VALUES (?)').run(Buffer.alloc(10));
      assert.deepEqual(walProgress(file), { frames: 1, copied: 0 });
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('checkpoint worker', () => {
  it('leaves a log started over no larger than its limit on disk (the size check after each commit reads it)', async () => {
    const limit = 1024 * 1024;
    await withWorkerTable('sealdb-ckpt-shrink-', { walLimitBytes: limit }, async ({ file, key, checkpointer }) => {
      const table = TableFile.open(file, key, { checkpointer });
      for (let n = 0; n < 2000; n++) table.put(row(n));
      await table.durable();
      assert.ok(statSync(`${file}-wal`).size > 2 * limit, 'one commit grew the log past its limit');
      let size = statSync(`${file}-wal`).size;
      const started = performance.now();
      for (let n = 0; size > limit && performance.now() - started < 10_000; n++) {
        table.put(row(n));
        await table.durable();
        await new Promise((resolve) => setTimeout(resolve, 20));
        size = statSync(`${file}-wal`).size;
      }
      assert.ok(size <= limit, `the log file stayed at ${size} bytes`);
      table.close();
      await checkpointer.stop();
    });
  });

  it('copies a log still growing below its limit within about a second (its flush to the disk)', async () => {
    await withWorkerTable('sealdb-ckpt-trickle-', {}, async ({ file, key, checkpointer }) => {
      const table = TableFile.open(file, key, { checkpointer });
      // A commit every 20 ms: no 200 ms pass ever finds the log unchanged since the one before.
      let copied = 0;
      const started = performance.now();
      for (let n = 0; copied === 0 && performance.now() - started < 10_000; n++) {
        table.put(row(n));
        await table.durable();
        await new Promise((resolve) => setTimeout(resolve, 20));
        copied = walProgress(file)?.copied ?? 0;
      }
      const waited = performance.now() - started;
      assert.ok(copied > 0, 'the growing log was copied');
      assert.ok(waited < 5_000, `copied after ${Math.round(waited)} ms`);
      table.close();
      await checkpointer.stop();
    });
  });

  it('copies a log below its limit once it stops growing', async () => {
    await withWorkerTable('sealdb-ckpt-quiet-', {}, async ({ file, key, checkpointer }) => {
      const table = TableFile.open(file, key, { checkpointer });
      for (let n = 0; n < 200; n++) table.put(row(n));
      await table.durable();
      const written = walProgress(file);
      assert.ok(written && written.frames > written.copied, 'the commit is in the log');
      assert.ok(written.frames * 8216 < checkpointer.walLimitBytes, 'far below the limit');
      // The worker's passes run on their own timer (200 ms): wait for the one that copies.
      let progress = written;
      for (let waited = 0; progress.copied < progress.frames && waited < 20_000; waited += 50) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        progress = walProgress(file) ?? progress;
      }
      assert.deepEqual(progress, { frames: written.frames, copied: written.frames });
      table.close();
      await checkpointer.stop();
      const reopened = TableFile.open(file, key);
      assert.equal(reopened.stats().itemCount, 200);
      reopened.close();
    });
  });
});
