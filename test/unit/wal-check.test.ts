/**
 * The WAL scanner against logs real encrypted databases wrote: copies of the files taken while
 * the database is open stand for what a kill -9 leaves behind.
 */
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEncryptedDatabase, type SqliteDatabase } from '../../src/storage/encrypted-db.js';
import { TableFile } from '../../src/storage/table-file.js';
import { assertWalIntact, checkWal, DamagedWalError } from '../../src/storage/wal-check.js';

const KEY = Buffer.alloc(32, 7);
const HEADER = 32;
const FRAME_HEADER = 24;

describe('WAL check', () => {
  let dir: string;
  let live: SqliteDatabase;
  let frameSize: number;
  const TRANSACTIONS = 20;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sealdb-walcheck-'));
    live = openEncryptedDatabase({ file: join(dir, 'live.db'), key: KEY, autoCheckpointPages: 0 });
    live.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
    for (let i = 0; i < TRANSACTIONS; i++) live.prepare('INSERT INTO t (v) VALUES (?)').run(Buffer.alloc(3000, i));
    frameSize = FRAME_HEADER + readFileSync(join(dir, 'live.db-wal')).readUInt32BE(8);
  });
  after(() => {
    live.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of the live database and its log, with `change` applied to the log's bytes. */
  function crashCopy(name: string, change: (wal: Buffer) => Buffer = (w) => w): string {
    const file = join(dir, `${name}.db`);
    copyFileSync(join(dir, 'live.db'), file);
    writeFileSync(`${file}-wal`, change(Buffer.from(readFileSync(join(dir, 'live.db-wal')))));
    return file;
  }

  const flip = (offset: number) => (wal: Buffer) => {
    wal[offset] = (wal[offset] as number) ^ 0x01;
    return wal;
  };
  const frameOffset = (frame: number) => HEADER + (frame - 1) * frameSize;

  function rowsSqliteRecovers(file: string): number {
    const db = openEncryptedDatabase({ file, key: KEY, checkWal: false });
    try {
      return (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it('passes an intact log, and SQLite recovers every transaction from it', () => {
    const file = crashCopy('intact');
    const report = checkWal(`${file}-wal`);
    assert.equal(report.damage, undefined);
    assert.ok(report.recoveredFrames > TRANSACTIONS);
    assertWalIntact(file);
    assert.equal(rowsSqliteRecovers(file), TRANSACTIONS);
  });

  it('passes a missing or empty log', () => {
    assert.deepEqual(checkWal(join(dir, 'absent.db-wal')), { recoveredFrames: 0 });
    writeFileSync(join(dir, 'empty.db-wal'), '');
    assert.deepEqual(checkWal(join(dir, 'empty.db-wal')), { recoveredFrames: 0 });
  });

  it('refuses a changed byte in the data of an early committed frame', () => {
    const file = crashCopy('early', flip(frameOffset(1) + FRAME_HEADER + 1000));
    assert.throws(
      () => assertWalIntact(file),
      (error: unknown) =>
        error instanceof DamagedWalError &&
        error.file === file &&
        error.damage.frame === 1 &&
        error.damage.commitsAfter >= TRANSACTIONS - 1 &&
        error.message.includes(`${file}-wal`) &&
        /backup/.test(error.message),
    );
  });

  it('refuses a changed byte in a frame header (salt) in the middle of the log', () => {
    const file = crashCopy('salt', flip(frameOffset(5) + 9));
    const report = checkWal(`${file}-wal`);
    assert.equal(report.damage?.frame, 5);
    assert.equal(report.damage?.reason, 'salts');
  });

  it('refuses a damaged log header, which would make SQLite ignore the whole log', () => {
    for (const offset of [1, 12, 17, 26]) {
      const file = crashCopy(`header${offset}`, flip(offset));
      assert.equal(checkWal(`${file}-wal`).damage?.frame, 0, `byte ${offset}`);
    }
  });

  it('keeps a torn tail recoverable: a partial frame, or a full frame of garbage, after the last commit', () => {
    const partial = crashCopy('partial', (wal) =>
      Buffer.concat([wal, wal.subarray(frameOffset(1), frameOffset(1) + FRAME_HEADER), Buffer.alloc(3000, 0xab)]),
    );
    assert.equal(checkWal(`${partial}-wal`).damage, undefined);
    const garbage = crashCopy('garbage');
    const wal = readFileSync(`${garbage}-wal`);
    const frame = Buffer.from(wal.subarray(frameOffset(2), frameOffset(2) + frameSize));
    frame.fill(0x5a, FRAME_HEADER);
    appendFileSync(`${garbage}-wal`, frame);
    assert.equal(checkWal(`${garbage}-wal`).damage, undefined);
    assert.equal(rowsSqliteRecovers(garbage), TRANSACTIONS);
  });

  it('treats damage inside the newest transaction as a torn write (it may have been unfinished)', () => {
    const size = readFileSync(join(dir, 'live.db-wal')).length;
    const file = crashCopy('newest', flip(size - 100));
    assert.equal(checkWal(`${file}-wal`).damage, undefined);
    assert.equal(rowsSqliteRecovers(file), TRANSACTIONS - 1);
  });

  it('is applied by every open of a file, a table file reopened included', () => {
    const file = crashCopy('reopened', flip(frameOffset(2) + FRAME_HEADER + 10));
    assert.throws(() => openEncryptedDatabase({ file, key: KEY }), DamagedWalError);
    assert.throws(() => TableFile.open(file, KEY), DamagedWalError);
    // Refused before SQLite touched it: the log is as it was, for a restore or a closer look.
    assert.equal(checkWal(`${file}-wal`).damage?.frame, 2);
  });

  it('ignores frames of an earlier generation after a restarted log', () => {
    const db = openEncryptedDatabase({ file: join(dir, 'restart.db'), key: KEY, autoCheckpointPages: 0 });
    try {
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
      for (let i = 0; i < 10; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run(Buffer.alloc(3000, i));
      db.pragma('wal_checkpoint(PASSIVE)');
      // The next writer starts the log over (new salts) over the old frames, which stay behind it.
      db.prepare('INSERT INTO t (v) VALUES (?)').run(Buffer.alloc(10, 1));
      const copy = join(dir, 'restart-copy.db');
      copyFileSync(join(dir, 'restart.db'), copy);
      copyFileSync(join(dir, 'restart.db-wal'), `${copy}-wal`);
      assert.equal(checkWal(`${copy}-wal`).damage, undefined);
      assert.equal(rowsSqliteRecovers(copy), 11);
    } finally {
      db.close();
    }
  });
});
