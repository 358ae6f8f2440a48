// What the WAL commit record (src/storage/commit-counter.ts) adds to each commit: tiny commits to
// a WAL-mode file, timed with and without `committed()` after each, alternating rounds.
//
//   npm run build && node bench/commit-record-cost.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuUsage } from 'node:process';
import Database from 'better-sqlite3-multiple-ciphers';

const { openCommitRecorder } = await import('../dist/src/storage/commit-counter.js');
const scratch = mkdtempSync(join(tmpdir(), 'sealdb-commit-cost-'));
const file = join(scratch, 't.db');
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)');
const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
const value = Buffer.alloc(200, 1);
const recorder = openCommitRecorder(file, 'process');
const COMMITS = 20_000;

function round(withRecord) {
  const before = cpuUsage();
  for (let i = 0; i < COMMITS; i++) {
    insert.run(value);
    if (withRecord) recorder.committed();
  }
  const used = cpuUsage(before);
  return (used.user + used.system) / COMMITS;
}

const results = { without: [], with: [] };
for (let r = 0; r < 6; r++) {
  results.without.push(round(false));
  results.with.push(round(true));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `CPU per commit, median of 6 rounds of ${COMMITS}: without record ${median(results.without).toFixed(1)} µs, with ${median(results.with).toFixed(1)} µs`,
);
recorder.close();
db.close();
rmSync(scratch, { recursive: true, force: true });
