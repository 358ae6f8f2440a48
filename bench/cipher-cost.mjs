#!/usr/bin/env node
// CPU per 8 KiB page of each page cipher SQLite3 Multiple Ciphers offers (issue 16: the write
// levers). For every configuration, on a fresh file with sealdb's page size and WAL settings:
//   write       20,000 rows of 1 KB in transactions of 25 (a bulk load), per WAL frame written
//   checkpoint  PRAGMA wal_checkpoint(TRUNCATE) of that log, per frame copied (decrypt + encrypt)
//   cold read   a new connection with a small cache reading every row, per database page read
// CPU is this process's user + system time (process.cpuUsage; all of it is synchronous SQLite
// work); the configurations run round-robin, --rounds times, and the median is reported, with the
// cost beyond the plaintext file beside it.
//
//   node bench/cipher-cost.mjs [--rounds 3] [--rows 20000] [--out bench/results]
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3-multiple-ciphers';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    rows: { type: 'string', default: '20000' },
    out: { type: 'string', default: path.join(benchDir, 'results') },
  },
});
const PAGE = 8192;
const ROWS = Number(o.rows);
// name, authenticated, pragmas set before the key (none: plaintext)
const CONFIGS = [
  ['plaintext (no cipher)', false, null],
  ['sqlcipher AES-256-CBC + HMAC-SHA512 (sealdb today)', true, ["cipher='sqlcipher'", 'hmac_algorithm=2']],
  ['sqlcipher AES-256-CBC + HMAC-SHA256', true, ["cipher='sqlcipher'", 'hmac_algorithm=1']],
  ['sqlcipher AES-256-CBC + HMAC-SHA1', true, ["cipher='sqlcipher'", 'hmac_algorithm=0']],
  ['aes256cbc (wxSQLite3 AES-256-CBC, no authentication)', false, ["cipher='aes256cbc'"]],
  ['aegis AEGIS-256 (AES round function, AEAD)', true, ["cipher='aegis'", 'algorithm=4']],
  ['aegis AEGIS-256X2', true, ["cipher='aegis'", 'algorithm=5']],
  ['aegis AEGIS-128L', true, ["cipher='aegis'", 'algorithm=1']],
  ['chacha20 ChaCha20-Poly1305', true, ["cipher='chacha20'"]],
  ['ascon128 Ascon-128', true, ["cipher='ascon128'"]],
];
const KEY = `x'${'5a'.repeat(32)}'`;

function open(file, pragmas, cacheKiB) {
  const db = new Database(file);
  if (pragmas) {
    for (const p of pragmas) db.pragma(p);
    db.key(Buffer.from(KEY, 'latin1'));
  }
  db.pragma(`page_size = ${PAGE}`);
  db.prepare('SELECT count(*) FROM sqlite_master').get();
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`cache_size = -${cacheKiB}`);
  return db;
}
const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function measure(pragmas) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sealdb-cipher-'));
  const file = path.join(dir, 't.db');
  try {
    let db = open(file, pragmas, 64 * 1024);
    db.exec('CREATE TABLE b (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    db.pragma('wal_checkpoint(TRUNCATE)');
    const insert = db.prepare('INSERT INTO b (body) VALUES (?)');
    const batch = db.transaction((rows) => {
      for (const r of rows) insert.run(r);
    });
    const bodies = Array.from({ length: 25 }, (_, i) => Buffer.alloc(1024, i + 1));
    let t = cpuUs();
    for (let i = 0; i < ROWS; i += 25) batch(bodies);
    const writeUs = cpuUs() - t;
    const frames = (statSync(`${file}-wal`).size - 32) / (PAGE + 24);
    t = cpuUs();
    db.pragma('wal_checkpoint(TRUNCATE)');
    const checkpointUs = cpuUs() - t;
    const pages = db.pragma('page_count', { simple: true });
    db.close();
    db = open(file, pragmas, 256);
    t = cpuUs();
    db.prepare('SELECT sum(length(body)) FROM b').get();
    const readUs = cpuUs() - t;
    db.close();
    return { write: writeUs / frames, checkpoint: checkpointUs / frames, read: readUs / pages, frames, pages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = CONFIGS.map(() => []);
for (let r = 0; r < Number(o.rounds); r++) {
  CONFIGS.forEach(([name, , pragmas], i) => {
    runs[i].push(measure(pragmas));
    process.stderr.write(`round ${r + 1}: ${name} done\n`);
  });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const rows = CONFIGS.map(([name, auth], i) => ({
  name,
  authenticated: auth,
  write: median(runs[i].map((x) => x.write)),
  checkpoint: median(runs[i].map((x) => x.checkpoint)),
  read: median(runs[i].map((x) => x.read)),
  frames: runs[i][0].frames,
  pages: runs[i][0].pages,
}));
const base = rows[0];
const cpuHasAes = /^flags\s*:.*\baes\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
const f = (x) => x.toFixed(2);
const lines = [
  '# Page cipher cost per 8 KiB page (SQLite3 Multiple Ciphers)',
  '',
  `${new Date().toISOString()} · ${os.cpus()[0]?.model}, ${os.cpus().length} cores · Node ${process.version} · ${new Database(':memory:').prepare('SELECT sqlite3mc_version() v').get().v}`,
  '',
  `Command: \`node bench/cipher-cost.mjs --rounds ${o.rounds} --rows ${ROWS}\` (median of the rounds; CPU µs per page, and in brackets beyond plaintext).`,
  '',
  '| cipher | authenticated | write µs/frame | checkpoint µs/frame | cold read µs/page |',
  '|---|---|---|---|---|',
  ...rows.map(
    (x) =>
      `| ${x.name} | ${x.authenticated ? 'yes' : 'no'} | ${f(x.write)} (+${f(x.write - base.write)}) | ${f(x.checkpoint)} (+${f(x.checkpoint - base.checkpoint)}) | ${f(x.read)} (+${f(x.read - base.read)}) |`,
  ),
  '',
  `Write: ${ROWS} rows of 1 KB in transactions of 25 (${base.frames} WAL frames); checkpoint: that log copied into the file (SQLite3MC decrypts each frame and encrypts it again); cold read: a new connection with a 256 KiB cache reading every row (${base.pages} pages).`,
  // The amalgamation forces SQLITE3MC_OMIT_AES_HARDWARE_SUPPORT only under __WASM__; a native x86-64 build
  // compiles the AES-NI code path (aesEncryptCBC holds aesenc) and picks it at run time (aesHardwareCheck, cpuid).
  `AES: ${cpuHasAes ? 'the CPU reports AES-NI and' : 'the CPU does not report AES-NI, so'} SQLite3MC's native build ${cpuHasAes ? 'uses it for AES-256-CBC (runtime cpuid check; the SQLITE3MC_OMIT_AES_HARDWARE_SUPPORT define in its amalgamation applies to WASM builds only)' : 'runs its software AES'}; CBC encryption is serial (one block after another), decryption is not, hence write ≫ read. The HMAC-SHA512 is SQLite3MC's own software SHA-512 (sha512_transf), the larger share of the sqlcipher cost.`,
  '',
];
mkdirSync(o.out, { recursive: true });
writeFileSync(path.join(o.out, 'cipher-cost.md'), `${lines.join('\n')}\n`);
writeFileSync(path.join(o.out, 'cipher-cost.json'), `${JSON.stringify(rows, null, 2)}\n`);
console.log(lines.join('\n'));
