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

describe('index entries that refer to their item', () => {
  const NONE = Buffer.alloc(0);
  const item = (n: number, body: string) => ({
    hash: 1,
    pk: Buffer.from(`pk-${n}`),
    sk: NONE,
    body: Buffer.from(body),
    size: body.length,
  });
  const entryOf = (n: number, indexKey: string, stored: ReturnType<typeof item>, fresh = false) => ({
    space: 1,
    hash: 2,
    pk: Buffer.from(indexKey),
    sk: NONE,
    tk: Buffer.from(`pk-${n}`),
    body: stored.body,
    size: stored.size,
    item: { hash: stored.hash, pk: stored.pk, sk: stored.sk },
    ...(fresh ? { fresh } : {}),
  });
  const bodiesOf = (space: number, indexKey: string, table: TableFile) =>
    [...table.queryEntries({ space, hash: 2, pk: Buffer.from(indexKey), forward: true })].map((e) => [
      e.tk.toString(),
      e.body.toString(),
      e.size,
    ]);
  const entryBodyRows = (file: string, key: Buffer) => {
    const db = openEncryptedDatabase({ file, key, mustExist: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM entry_bodies').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('keeps no second copy, reads the item as it is now, and leaves it when entries go', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-entry-refs-'));
    const file = join(dir, 't.db');
    const key = randomBytes(32);
    try {
      const table = TableFile.open(file, key);
      const first = item(1, '{"v":"one"}');
      const second = item(2, '{"v":"two!"}');
      table.write([{ put: first }, { put: second }, { putEntry: entryOf(1, 'g', first, true) }]);
      table.write([{ putEntry: entryOf(2, 'g', second, true) }]);
      assert.deepEqual(bodiesOf(1, 'g', table), [
        ['pk-1', '{"v":"one"}', 11],
        ['pk-2', '{"v":"two!"}', 12],
      ]);
      assert.deepEqual(table.spaceStats(1), { itemCount: 2, sizeBytes: 23 });
      // The item replaced in place, its entry rewritten at the same key: the new body, the new size.
      const longer = item(1, '{"v":"one, longer"}');
      table.write([{ put: longer }, { putEntry: entryOf(1, 'g', longer) }]);
      assert.deepEqual(bodiesOf(1, 'g', table)[0], ['pk-1', '{"v":"one, longer"}', 19]);
      assert.deepEqual(table.spaceStats(1), { itemCount: 2, sizeBytes: 31 });
      assert.equal(table.partitionSize(1, first.pk, []), 19);
      // A scan of the keyspace reads the same bodies.
      const scanned = [...table.scanEntries({ space: 1, fromHash: 0, toHash: 2 ** 32 })].map((e) => e.body.toString());
      assert.deepEqual(scanned, ['{"v":"one, longer"}', '{"v":"two!"}']);
      // Deleting an entry, or dropping the keyspace, leaves the items' bodies alone.
      table.deleteEntry({ space: 1, hash: 2, pk: Buffer.from('g'), sk: NONE, tk: Buffer.from('pk-1') });
      assert.deepEqual(table.spaceStats(1), { itemCount: 1, sizeBytes: 12 });
      assert.equal(table.get(1, first.pk, NONE)?.body.toString(), '{"v":"one, longer"}');
      assert.equal(table.dropEntries(1, 10), 1);
      assert.deepEqual(table.spaceStats(1), { itemCount: 0, sizeBytes: 0 });
      assert.equal(table.get(1, second.pk, NONE)?.body.toString(), '{"v":"two!"}');
      assert.deepEqual(table.stats(), { itemCount: 2, sizeBytes: 31 });
      table.close();
      assert.equal(entryBodyRows(file, key), 0, 'no entry wrote a body row of its own');
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a copy for an entry whose item is not stored, and forgets items rolled back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-entry-refs-'));
    const file = join(dir, 't.db');
    const key = randomBytes(32);
    try {
      const table = TableFile.open(file, key);
      const ghost = item(7, '{"v":"ghost"}');
      assert.throws(() =>
        table.transaction(() => {
          table.put(ghost);
          throw new Error('abort');
        }),
      );
      table.putEntry(entryOf(7, 'g', ghost, true));
      assert.deepEqual(bodiesOf(1, 'g', table), [['pk-7', '{"v":"ghost"}', 13]]);
      assert.equal(table.get(1, ghost.pk, NONE), undefined);
      table.close();
      assert.equal(entryBodyRows(file, key), 1);
    } finally {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads, rewrites and deletes the entries of a file written before entries referred to items', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sealdb-entry-legacy-'));
    const file = join(dir, 't.db');
    const key = randomBytes(32);
    try {
      const old = openEncryptedDatabase({ file, key });
      old.exec(`CREATE TABLE item_bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL, size INTEGER NOT NULL);
        CREATE TABLE item_keys (
          hash INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, id INTEGER NOT NULL,
          PRIMARY KEY (hash, pk, sk)) WITHOUT ROWID;
        CREATE TABLE entry_bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL, size INTEGER NOT NULL);
        CREATE TABLE entry_keys (
          space INTEGER NOT NULL, hash INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, tk BLOB NOT NULL,
          id INTEGER NOT NULL, PRIMARY KEY (space, hash, pk, sk, tk)) WITHOUT ROWID;
        CREATE TABLE entry_counters (
          space INTEGER PRIMARY KEY, item_count INTEGER NOT NULL, size_bytes INTEGER NOT NULL);`);
      for (const n of [1, 2, 3]) {
        const body = `{"v":${n}}`;
        old.prepare('INSERT INTO item_bodies (id, body, size) VALUES (?, ?, ?)').run(n, body, body.length);
        old.prepare('INSERT INTO item_keys VALUES (1, ?, ?, ?)').run(Buffer.from(`pk-${n}`), NONE, n);
        // Entry body ids that are also item body ids: a copy must never be taken for a reference.
        old.prepare('INSERT INTO entry_bodies (id, body, size) VALUES (?, ?, ?)').run(n, body, body.length);
        old
          .prepare('INSERT INTO entry_keys VALUES (1, 2, ?, ?, ?, ?)')
          .run(Buffer.from('g'), NONE, Buffer.from(`pk-${n}`), n);
      }
      old.prepare('INSERT INTO entry_counters VALUES (1, 3, 21)').run();
      old.close();

      let table = TableFile.open(file, key);
      assert.deepEqual(bodiesOf(1, 'g', table), [
        ['pk-1', '{"v":1}', 7],
        ['pk-2', '{"v":2}', 7],
        ['pk-3', '{"v":3}', 7],
      ]);
      // The item changes and its entry now refers to it: the old copy goes.
      const changed = item(1, '{"v":"1b"}');
      table.write([{ put: changed }, { putEntry: entryOf(1, 'g', changed) }]);
      // An old entry deleted with its item.
      table.write([
        { delete: { hash: 1, pk: Buffer.from('pk-2'), sk: NONE } },
        { deleteEntry: { space: 1, hash: 2, pk: Buffer.from('g'), sk: NONE, tk: Buffer.from('pk-2') } },
      ]);
      assert.deepEqual(bodiesOf(1, 'g', table), [
        ['pk-1', '{"v":"1b"}', 10],
        ['pk-3', '{"v":3}', 7],
      ]);
      assert.deepEqual(table.spaceStats(1), { itemCount: 2, sizeBytes: 17 });
      table.close();
      assert.equal(entryBodyRows(file, key), 1, "only pk-3's old copy is left");
      table = TableFile.open(file, key);
      assert.deepEqual(bodiesOf(1, 'g', table)[1], ['pk-3', '{"v":3}', 7]);
      assert.equal(table.dropEntries(1, 10), 2);
      assert.equal(table.get(1, Buffer.from('pk-1'), NONE)?.body.toString(), '{"v":"1b"}');
      assert.equal(table.get(1, Buffer.from('pk-3'), NONE)?.body.toString(), '{"v":3}');
      table.close();
      assert.equal(entryBodyRows(file, key), 0);
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
