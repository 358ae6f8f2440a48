import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Checkpointer } from '../../src/storage/checkpointer.js';
import { openEncryptedDatabase } from '../../src/storage/encrypted-db.js';
import { TableFile } from '../../src/storage/table-file.js';

const row = (n: number, size: number) => ({
  hash: n % 7,
  pk: Buffer.from(`pk-${n}`),
  sk: Buffer.alloc(0),
  body: Buffer.from(`{"n":${n}}`),
  size,
});

describe('table file counters', () => {
  it('keeps item count and size exact through puts, replacements, deletes, rollbacks and reopening', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-table-file-'));
    const file = join(dir, 't.db');
    const key = randomBytes(32);
    try {
      let table = TableFile.open(file, key);
      for (let n = 0; n < 10; n++) table.put(row(n, 100));
      assert.deepEqual(table.stats(), { itemCount: 10, sizeBytes: 1000 });
      table.put(row(3, 250));
      assert.deepEqual(table.stats(), { itemCount: 10, sizeBytes: 1150 });
      table.delete(row(4, 0).hash, row(4, 0).pk, row(4, 0).sk);
      table.delete(row(99, 0).hash, row(99, 0).pk, row(99, 0).sk);
      assert.deepEqual(table.stats(), { itemCount: 9, sizeBytes: 1050 });
      assert.throws(() =>
        table.transaction(() => {
          table.put(row(50, 500));
          table.delete(row(5, 0).hash, row(5, 0).pk, row(5, 0).sk);
          throw new Error('abort');
        }),
      );
      assert.deepEqual(
        table.stats(),
        { itemCount: 9, sizeBytes: 1050 },
        'a rolled-back transaction leaves the counters',
      );
      table.close();
      table = TableFile.open(file, key);
      assert.deepEqual(table.stats(), { itemCount: 9, sizeBytes: 1050 });
      let scanned = 0;
      for (const _ of table.scan({ fromHash: 0, toHash: 2 ** 32 })) scanned++;
      assert.equal(scanned, 9);
      table.close();
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has its WAL checkpointed by the worker thread, not by commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-checkpoint-'));
    const file = join(dir, 't.db');
    const key = randomBytes(32);
    const checkpointer = new Checkpointer();
    try {
      const table = TableFile.open(file, key, { checkpointer });
      const before = statSync(file).size;
      for (let n = 0; n < 300; n++) table.put({ ...row(n, 1000), body: randomBytes(1000) });
      table.commitNow();
      assert.ok(statSync(`${file}-wal`).size > 300 * 1000, 'commits only append to the WAL');
      let after = statSync(file).size;
      for (let i = 0; i < 100 && after <= before + 300 * 1000; i++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        after = statSync(file).size;
      }
      assert.ok(after > before + 300 * 1000, `the worker copied the WAL into the database (${before} → ${after})`);
      table.close();
      await checkpointer.stop();
      assert.equal(existsSync(`${file}-wal`), false, 'the last connection to close removed the WAL');
      const reopened = TableFile.open(file, key);
      assert.deepEqual(reopened.stats(), { itemCount: 300, sizeBytes: 300_000 });
      reopened.close();
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('table file layout', () => {
  it('moves the items of a file in the earlier one-table layout over when it opens it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-legacy-'));
    const file = join(dir, 't.db');
    const key = randomBytes(32);
    try {
      const legacy = openEncryptedDatabase({ file, key });
      legacy.exec(`CREATE TABLE items (
        hash INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, body BLOB NOT NULL, size INTEGER NOT NULL,
        PRIMARY KEY (hash, pk, sk)) WITHOUT ROWID`);
      const insert = legacy.prepare('INSERT INTO items VALUES (?, ?, ?, ?, ?)');
      for (let n = 0; n < 40; n++)
        insert.run(n % 7, Buffer.from(`pk-${n}`), Buffer.alloc(0), Buffer.from(`{"n":${n}}`), n);
      legacy.close();

      const table = TableFile.open(file, key);
      assert.deepEqual(table.stats(), { itemCount: 40, sizeBytes: (39 * 40) / 2 });
      assert.equal(table.get(12 % 7, Buffer.from('pk-12'), Buffer.alloc(0))?.body.toString(), '{"n":12}');
      const scanned = [...table.scan({ fromHash: 0, toHash: 2 ** 32 })];
      assert.equal(scanned.length, 40);
      const order = scanned.map((r) => [r.hash, r.pk.toString()]);
      const sorted = [...order].sort((a, b) =>
        a[0] === b[0]
          ? Buffer.compare(Buffer.from(a[1] as string), Buffer.from(b[1] as string))
          : (a[0] as number) - (b[0] as number),
      );
      assert.deepEqual(order, sorted, 'scan keeps key order');
      // New writes land after the moved rows without colliding with their body ids.
      table.put(row(100, 5));
      table.delete(3 % 7, Buffer.from('pk-3'), Buffer.alloc(0));
      table.commitNow();
      assert.equal(table.stats().itemCount, 40);
      assert.equal(table.get(12 % 7, Buffer.from('pk-12'), Buffer.alloc(0))?.body.toString(), '{"n":12}');
      assert.equal(table.get(100 % 7, Buffer.from('pk-100'), Buffer.alloc(0))?.body.toString(), '{"n":100}');
      table.close();
      const reopened = TableFile.open(file, key);
      assert.equal(reopened.stats().itemCount, 40);
      reopened.close();
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('table file log size', () => {
  it('stays bounded under a steady stream of commits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-wal-bound-'));
    const file = join(dir, 't.db');
    const key = randomBytes(32);
    const checkpointer = new Checkpointer({ walLimitBytes: 1024 * 1024 });
    try {
      const table = TableFile.open(file, key, { checkpointer });
      let largest = 0;
      // ~100 MB of log without a limit: random 1 KB rows dirty a page each.
      for (let commit = 0, n = 0; commit < 600; commit++) {
        // One group commit per turn, never a pause long enough for a passive checkpoint to catch up.
        for (let i = 0; i < 20; i++, n++) table.put({ ...row(n % 5000, 1000), body: randomBytes(1000) });
        await table.durable();
        largest = Math.max(largest, statSync(`${file}-wal`).size);
      }
      // A commit may find the checkpoint lock taken and leave the truncation to a later one.
      assert.ok(largest < 8 * 1024 * 1024, `the log peaked at ${largest} bytes`);
      assert.equal(table.stats().itemCount, 5000);
      table.close();
      await checkpointer.stop();
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('table file durability', () => {
  async function withFile(fn: (file: string, key: Buffer) => Promise<void>) {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-durability-'));
    const key = randomBytes(32);
    try {
      await fn(join(dir, 't.db'), key);
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('fsync: one WAL flush per group commit, finished before the group is acknowledged', async () => {
    await withFile(async (file, key) => {
      let syncs = 0;
      const table = TableFile.open(file, key, { durability: 'fsync', onWalSync: () => syncs++ });
      for (let n = 0; n < 50; n++) table.put(row(n, 10));
      const syncsWhenAcknowledged = await table.durable().then(() => syncs);
      assert.equal(syncsWhenAcknowledged, 1, '50 writes of one event-loop turn share one flush');
      assert.equal(table.stats().itemCount, 50);

      table.put(row(50, 10));
      await new Promise((resolve) => setImmediate(resolve));
      // The group has committed but its flush may still run: durable() must still wait for it.
      const later = await table.durable().then(() => syncs);
      assert.equal(later, 2);

      table.transaction(() => table.put(row(51, 10)));
      table.commitNow();
      assert.equal(syncs, 3, 'commitNow flushes before it returns (ordered protocol steps)');
      table.close();
      const reopened = TableFile.open(file, key);
      assert.equal(reopened.stats().itemCount, 52);
      reopened.close();
    });
  });

  it('process: commits never flush the WAL themselves', async () => {
    await withFile(async (file, key) => {
      let syncs = 0;
      const table = TableFile.open(file, key, { durability: 'process', onWalSync: () => syncs++ });
      for (let n = 0; n < 20; n++) table.put(row(n, 10));
      await table.durable();
      table.put(row(20, 10));
      table.commitNow();
      assert.equal(syncs, 0);
      assert.equal(table.stats().itemCount, 21);
      table.close();
    });
  });
});
