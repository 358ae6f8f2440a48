/**
 * The damage the tamper part of the reliability suite (seed 20261202, 1,700 cases) found unreported
 * while every read still answered the undamaged data (issue 17): bytes in a table's free pages, any
 * byte of a `-commits` record, whitespace in root-check.json. Each is now refused, naming the file;
 * and valid files (a WAL-superseded page, a missing record, a record of another boot) raise nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { COMMIT_RECORD_SUFFIX, readCommitRecord } from '../../src/storage/commit-counter.js';
import { DamagedFileError } from '../../src/storage/damage.js';
import { openEncryptedDatabase } from '../../src/storage/encrypted-db.js';
import { checkFilePagesNow } from '../../src/storage/page-auth.js';
import { walPageNumbers } from '../../src/storage/wal-check.js';

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-tamper-regressions-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A database with free pages (rows deleted), closed; its free pages' numbers (not in dbstat). */
function withFreePages(name: string, key: Buffer): { file: string; pages: number; free: number[] } {
  const file = join(scratch, `${name}.db`);
  const db = openEncryptedDatabase({ file, key });
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)');
  const insert = db.prepare('INSERT INTO t (b) VALUES (?)');
  for (let i = 0; i < 600; i++) insert.run(randomBytes(400));
  db.exec('DELETE FROM t WHERE id > 300');
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pages = db.pragma('page_count', { simple: true }) as number;
  const used = new Set((db.prepare('SELECT pageno FROM dbstat').all() as { pageno: number }[]).map((r) => r.pageno));
  db.close();
  const free: number[] = [];
  for (let p = 2; p <= pages; p++) if (!used.has(p)) free.push(p);
  return { file, pages, free };
}

const check = (file: string, key: Buffer, pages: number) =>
  checkFilePagesNow({ file, key, expectedPages: pages, superseded: () => walPageNumbers(`${file}-wal`), live: false });

describe('free pages, which SQLite never reads', () => {
  const key = randomBytes(32);
  const { file, pages, free } = withFreePages('free', key);
  const pristine = readFileSync(file);
  const pageSize = 8192;

  it('a valid file passes the full page check', () => {
    assert.ok(free.length > 5, `free pages: ${free.length}`);
    assert.equal(check(file, key, pages), undefined);
  });

  it("a flipped byte in a free page passes SQLite's own check but not the full page check", () => {
    const page = free[Math.floor(free.length / 2)] as number;
    const bytes = Buffer.from(pristine);
    bytes[(page - 1) * pageSize + 1234] = (bytes[(page - 1) * pageSize + 1234] as number) ^ 0x5a;
    writeFileSync(file, bytes);
    const db = openEncryptedDatabase({ file, key });
    assert.deepEqual(db.pragma('quick_check'), [{ quick_check: 'ok' }], 'SQLite reads no free page');
    assert.equal((db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 300);
    db.close();
    assert.deepEqual(check(file, key, pages), { page, detail: `page ${page} fails its authentication check` });
    // The catalogs' open (checkPages) refuses it, naming the file.
    assert.throws(
      () => openEncryptedDatabase({ file, key, checkPages: true }),
      (error: unknown) => error instanceof DamagedFileError && error.message.includes(file),
    );
  });

  it('trailing free pages cut off at a page boundary are missing pages', () => {
    writeFileSync(file, pristine.subarray(0, (pages - 1) * pageSize));
    assert.match(check(file, key, pages)?.detail ?? '', /cut short \(\d+ page\(s\), but the database has \d+\)/);
    writeFileSync(file, pristine.subarray(0, pages * pageSize - 100));
    assert.match(check(file, key, pages)?.detail ?? '', /is incomplete/);
  });

  it("the plaintext bytes 16..23 of page 1 (outside the cipher's HMAC) are checked too", () => {
    for (const at of [16, 17, 18, 19, 20, 21, 22, 23]) {
      const bytes = Buffer.from(pristine);
      bytes[at] = (bytes[at] as number) ^ 0x01;
      writeFileSync(file, bytes);
      assert.ok(check(file, key, pages), `byte ${at}`);
    }
    writeFileSync(file, pristine);
  });
});

describe('a page whose newest copy is in the write-ahead log', () => {
  it('is exempt (a checkpoint killed mid-write leaves it torn, and copies it again)', () => {
    const key = randomBytes(32);
    const file = join(scratch, 'wal.db');
    const db = openEncryptedDatabase({ file, key, autoCheckpointPages: 0 });
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)');
    db.prepare('INSERT INTO t (b) VALUES (?)').run(randomBytes(100));
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.prepare('UPDATE t SET b = ? WHERE id = 1').run(randomBytes(100));
    const inLog = [...walPageNumbers(`${file}-wal`)].filter((p) => p > 1);
    const pages = db.pragma('page_count', { simple: true }) as number;
    assert.ok(inLog.length > 0);
    const page = inLog[0] as number;
    const bytes = readFileSync(file);
    bytes.fill(0, (page - 1) * 8192 + 4096, page * 8192);
    writeFileSync(file, bytes);
    assert.equal(check(file, key, pages), undefined);
    db.close();
  });
});

describe('the -commits record', () => {
  const database = join(scratch, 'record.db');
  const record = `${database}${COMMIT_RECORD_SUFFIX}`;
  const valid = Buffer.alloc(48);
  valid.writeUInt32BE(0x73646263, 0);
  valid[4] = 1;
  valid.writeUInt32BE(0x11111111, 8);
  valid.writeUInt32BE(0x22222222, 12);
  valid.writeUInt32BE(42, 16);
  valid.fill(0x42, 24, 40);
  valid.writeUInt32BE(crc32(valid.subarray(0, 44)), 44);

  it('a missing record and a whole one of another boot are valid', () => {
    assert.equal(readCommitRecord(database), undefined);
    writeFileSync(record, valid);
    assert.equal(readCommitRecord(database)?.frames, 42);
  });

  it('every single-byte change and every cut (0 to 47 bytes) is refused, naming the record', () => {
    const refused = (bytes: Buffer) => {
      writeFileSync(record, bytes);
      assert.throws(
        () => readCommitRecord(database),
        (error: unknown) => error instanceof DamagedFileError && error.message.includes(record),
      );
    };
    for (let at = 0; at < 48; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const bytes = Buffer.from(valid);
        bytes[at] = (bytes[at] as number) ^ mask;
        refused(bytes);
      }
      refused(valid.subarray(0, at));
    }
  });
});

describe('root-check.json', () => {
  it('every byte changed, as seed 20261202 changed bytes 104 and 105 (inside the name "sha256"), is refused', async () => {
    const { readCheckRecord, sealRecord } = await import('../../src/encryption/root-of-trust.js');
    const file = join(scratch, 'root-check.json');
    const record = sealRecord({ version: 1, kind: 'key-file', check: Buffer.alloc(32, 7).toString('base64') });
    const text = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
    writeFileSync(file, text);
    assert.deepEqual(readCheckRecord(file), record);
    for (let at = 0; at < text.length; at++) {
      for (const mask of [0x01, 0x20, 0xab, 0xec]) {
        const bytes = Buffer.from(text);
        bytes[at] = (bytes[at] as number) ^ mask;
        writeFileSync(file, bytes);
        assert.throws(() => readCheckRecord(file), /the root key check file .* is damaged/, `byte ${at} ^${mask}`);
      }
    }
  });
});
