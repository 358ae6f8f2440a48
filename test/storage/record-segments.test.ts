import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DamagedFileError } from '../../src/storage/damage.js';
import { openEncryptedDatabase } from '../../src/storage/encrypted-db.js';
import { segmentFolder } from '../../src/storage/record-segments.js';
import { TableFile } from '../../src/storage/table-file.js';
import { filesContaining } from '../helpers/files.js';

const LOG = 3;
const body = (n: number) => Buffer.from(`record-canary-${n}-${'r'.repeat(200 + (n % 13))}`);
const bodies = (table: TableFile, from = 0, below = Number.MAX_SAFE_INTEGER) =>
  [...table.records(LOG, from, below)].map((r) => [r.position, r.body.toString()] as const);

/** A table file in a scratch folder, its key, and its segment files. */
function scratch(): { file: string; key: Buffer; segments: () => string[]; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sealdb-segments-'));
  const file = join(dir, 't.db');
  const key = randomBytes(32);
  return {
    file,
    key,
    segments: () => {
      try {
        return readdirSync(segmentFolder(file))
          .sort()
          .map((n) => join(segmentFolder(file), n));
      } catch {
        return [];
      }
    },
    done: () => {
      key.fill(0);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('record segments (log record bodies outside the table file)', () => {
  it('keeps bodies sealed beside the file, names them by ~20-byte rows, and reads them back across a reopen', () => {
    const s = scratch();
    try {
      let table = TableFile.open(s.file, s.key);
      // 230 records: most moved to the log's table in batches, the newest still staged in the
      // counters row; reads merge both.
      for (let n = 0; n < 230; n++) {
        table.appendRecord({ log: LOG, position: n, body: body(n) });
        if (n % 10 === 9) table.commitNow();
      }
      // Read in the same transaction before its COMMIT (the chunk not yet written), then after.
      table.appendRecord({ log: LOG, position: 230, body: body(230) });
      assert.equal(bodies(table, 230).at(0)?.[1], body(230).toString());
      table.commitNow();
      const expected = Array.from({ length: 231 }, (_, n) => [n, body(n).toString()] as const);
      assert.deepEqual(bodies(table), expected);
      assert.deepEqual(bodies(table, 5, 8), expected.slice(5, 8));
      assert.deepEqual(bodies(table, 180, 200), expected.slice(180, 200));
      assert.equal(table.lastRecord(LOG, 20), 19);
      assert.equal(table.lastRecord(LOG, Number.MAX_SAFE_INTEGER), 230);
      assert.equal(
        table.recordBytes(LOG),
        expected.reduce((sum, [, b]) => sum + b.length, 0),
      );
      table.close();
      assert.equal(s.segments().length, 1);
      assert.deepEqual(filesContaining(join(s.file, '..'), 'record-canary'), [], 'no body in plaintext on disk');
      // The table file holds the rows only: far less than the bodies.
      const db = openEncryptedDatabase({ file: s.file, key: s.key });
      const rowBytes = db
        .prepare(`SELECT payload FROM dbstat WHERE name = 'record_refs_${LOG}' AND aggregate = TRUE`)
        .get() as {
        payload: number;
      };
      db.close();
      assert.ok(rowBytes.payload > 0 && rowBytes.payload < 231 * 24, `row bytes ${rowBytes.payload}`);

      table = TableFile.open(s.file, s.key);
      assert.deepEqual(bodies(table), expected);
      table.appendRecord({ log: LOG, position: 231, body: body(231) });
      table.commitNow();
      assert.equal(s.segments().length, 2, 'each process writes a segment of its own');
      assert.deepEqual(bodies(table, 229), [...expected.slice(229), [231, body(231).toString()]]);
      table.close();
    } finally {
      s.done();
    }
  });

  it('drops what a rolled-back savepoint appended, and removes segments once trims have emptied them', () => {
    const s = scratch();
    try {
      let table = TableFile.open(s.file, s.key);
      table.appendRecord({ log: LOG, position: 0, body: body(0) });
      assert.throws(() =>
        table.transaction(() => {
          table.appendRecord({ log: LOG, position: 1, body: body(1) });
          throw new Error('abort');
        }),
      );
      table.appendRecord({ log: LOG, position: 2, body: body(2) });
      table.commitNow();
      assert.deepEqual(bodies(table), [
        [0, body(0).toString()],
        [2, body(2).toString()],
      ]);
      table.close();
      table = TableFile.open(s.file, s.key);
      table.appendRecord({ log: LOG, position: 3, body: body(3) });
      table.commitNow();
      const [first, second] = s.segments();
      assert.ok(first && second);
      assert.equal(table.trimRecords(LOG, 3, 100), 2);
      table.commitNow();
      assert.deepEqual(s.segments(), [second], 'the emptied segment went once the trim committed');
      assert.deepEqual(bodies(table), [[3, body(3).toString()]]);
      assert.equal(table.dropRecords(LOG, 100), 1);
      table.commitNow();
      assert.deepEqual(s.segments(), [], 'a dropped log leaves no segment');
      assert.deepEqual(bodies(table), []);
      table.close();
    } finally {
      s.done();
    }
  });

  it('reports a changed, cut or missing segment as damage naming it, never as other data', () => {
    const cases: [string, (segment: string) => void][] = [
      [
        'a flipped byte',
        (segment) => {
          const bytes = readFileSync(segment);
          bytes[bytes.length - 40] = (bytes[bytes.length - 40] as number) ^ 0x10;
          writeFileSync(segment, bytes);
        },
      ],
      ['a cut', (segment) => truncateSync(segment, statSync(segment).size - 30)],
      [
        'a flipped header byte',
        (segment) => {
          const bytes = readFileSync(segment);
          bytes[20] = (bytes[20] as number) ^ 1;
          writeFileSync(segment, bytes);
        },
      ],
      ['a missing segment', (segment) => rmSync(segment)],
    ];
    for (const [what, damage] of cases) {
      const s = scratch();
      try {
        let table = TableFile.open(s.file, s.key);
        for (let n = 0; n < 5; n++) table.appendRecord({ log: LOG, position: n, body: body(n) });
        table.close();
        const [segment] = s.segments();
        assert.ok(segment);
        damage(segment);
        table = TableFile.open(s.file, s.key);
        assert.throws(
          () => bodies(table),
          (error: unknown) =>
            error instanceof DamagedFileError && error.file === s.file && error.message.includes(segment),
          what,
        );
        table.close();
      } finally {
        s.done();
      }
    }
  });

  it('still reads and appends to a log a file kept inline (files made before segments)', () => {
    const s = scratch();
    try {
      const db = openEncryptedDatabase({ file: s.file, key: s.key });
      db.exec(`CREATE TABLE record_log_${LOG} (position INTEGER PRIMARY KEY, body BLOB NOT NULL)`);
      db.prepare(`INSERT INTO record_log_${LOG} (position, body) VALUES (?, ?)`).run(0, body(0));
      db.close();
      const table = TableFile.open(s.file, s.key);
      table.appendRecord({ log: LOG, position: 1, body: body(1) });
      table.commitNow();
      assert.deepEqual(bodies(table), [
        [0, body(0).toString()],
        [1, body(1).toString()],
      ]);
      assert.deepEqual(s.segments(), []);
      table.close();
    } finally {
      s.done();
    }
  });

  it('keeps an in-memory table file off the disk', () => {
    const key = randomBytes(32);
    const table = TableFile.open(':memory:', key);
    for (let n = 0; n < 3; n++) table.appendRecord({ log: LOG, position: n, body: body(n) });
    table.commitNow();
    assert.deepEqual(
      bodies(table),
      [0, 1, 2].map((n) => [n, body(n).toString()] as const),
    );
    table.close();
  });
});

describe('record segments after kill -9', () => {
  it('keeps every committed record, whole and in order, and none of a commit that did not happen', async () => {
    const s = scratch();
    try {
      const tableFile = new URL('../../src/storage/table-file.js', import.meta.url).href;
      // Commits of 7 records each, as fast as it can; each committed position is printed after its commit.
      const child = spawn(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const { TableFile } = await import(${JSON.stringify(tableFile)});
           const table = TableFile.open(process.argv[1], Buffer.from(process.argv[2], 'hex'));
           for (let n = 0; ; n++) {
             table.appendRecord({ log: ${LOG}, position: n, body: Buffer.from('record-canary-' + n + '-' + 'r'.repeat(200 + (n % 13))) });
             if (n % 7 === 6) { table.commitNow(); process.stdout.write(n + '\\n'); }
             if (n % 700 === 0) await new Promise((r) => setImmediate(r));
           }`,
          s.file,
          s.key.toString('hex'),
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      let printed = -1;
      await new Promise<void>((resolve, reject) => {
        child.on('error', reject);
        child.stdout.on('data', (chunk: Buffer) => {
          const last = Number(chunk.toString().trim().split('\n').at(-1));
          if (Number.isFinite(last)) printed = Math.max(printed, last);
          // Past several batches of staged rows and into a second segment's worth of writes.
          if (printed >= 3000 && !child.killed) {
            child.kill('SIGKILL');
            resolve();
          }
        });
      });
      await new Promise((resolve) => child.once('exit', resolve));
      const table = TableFile.open(s.file, s.key);
      const records = bodies(table);
      table.close();
      assert.ok(records.length > printed, `${records.length} records, ${printed + 1} acknowledged`);
      assert.equal(records.length % 7, 0, 'whole commits only');
      records.forEach(([position, text], n) => {
        assert.equal(position, n);
        assert.equal(text, body(n).toString());
      });
    } finally {
      s.done();
    }
  });
});
