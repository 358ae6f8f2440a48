// Cost of the WAL commit record (src/storage/commit-counter.ts) per commit (issue 12, item 1).
//
//   npm run build && node bench/commit-record.mjs [--commits N]
//
// One SQLite database in WAL mode (synchronous=NORMAL, as in `process` durability), N small
// one-row commits, in alternating rounds without and with CommitRecorder.committed() after each
// (one 96-byte read of the -shm header, one 48-byte write of <file>-commits). Reported: this
// process's CPU time (user+system) per commit, and the record's own cost, timed around its call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3-multiple-ciphers';

const here = dirname(fileURLToPath(import.meta.url));
const { openCommitRecorder } = await import(join(here, '..', 'dist', 'src', 'storage', 'commit-counter.js'));
const at = process.argv.indexOf('--commits');
const commits = at > 0 ? Number(process.argv[at + 1]) : 20_000;

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-commit-record-'));
const file = join(scratch, 'bench.db');
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)');
const insert = db.prepare('INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)');
const value = Buffer.alloc(200, 7);
const recorder = openCommitRecorder(file, 'process');

let key = 0;
function round(withRecord) {
  let recordNs = 0n;
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < commits; i++) {
    insert.run(key++ % 1000, value);
    if (withRecord) {
      const t0 = process.hrtime.bigint();
      recorder.committed();
      recordNs += process.hrtime.bigint() - t0;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / commits, recordUs: Number(recordNs) / 1000 / commits };
}

round(false);
round(true); // warm-up
const without = [];
const withRecord = [];
for (let r = 0; r < 5; r++) {
  db.pragma('wal_checkpoint(TRUNCATE)');
  without.push(round(false));
  db.pragma('wal_checkpoint(TRUNCATE)');
  withRecord.push(round(true));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuWithout = median(without.map((r) => r.cpuUs));
const cpuWith = median(withRecord.map((r) => r.cpuUs));
console.log(`${commits} commits per round, median of 5 rounds`);
console.log(`  CPU per commit without the record: ${cpuWithout.toFixed(1)} µs`);
console.log(`  CPU per commit with the record:    ${cpuWith.toFixed(1)} µs`);
console.log(
  `  the record's call itself:          ${median(withRecord.map((r) => r.recordUs)).toFixed(2)} µs per commit`,
);
recorder.close();
db.close();
rmSync(scratch, { recursive: true, force: true });
