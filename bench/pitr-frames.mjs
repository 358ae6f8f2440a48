// WAL frames and CPU per group commit of the PITR write pattern, on SQLite alone (no server):
// the item tables and a record log as table-file.ts and record-log.ts make them, sqlcipher pages of
// 8 KiB, G item updates of ~1 KB per commit (9 by default, as bench/pitr.mjs's groups have).
//   node bench/pitr-frames.mjs plain|pitr|nosave|small|append|segment [G=9] [rounds=3000] [random|seq]
// plain: item updates only; pitr: + a ~1 KB change record each, in a savepoint with the item;
// nosave: the same without that savepoint; small: + a 30-byte record (a change naming its body);
// append: the body stored once: each put appends a new body row, points the item's key row at it
// and logs a 30-byte record naming it (old bodies kept, as a log naming them would need them);
// segment: the ~1 KB records kept out of the file's pages: a 30-byte record names each, and a
// commit's records are sealed together (AES-256-GCM, fresh IV) and appended to a file of their own.
// random: the G keys of a commit are spread over the table; seq: consecutive keys, whose bodies
// sit side by side (bench/pitr.mjs's 16 workers write key-n, key-n+1, ...).

import { createCipheriv, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3-multiple-ciphers';

const mode = process.argv[2] ?? 'plain';
const G = Number(process.argv[3] ?? 9);
const ROUNDS = Number(process.argv[4] ?? 3000);
const ORDER = process.argv[5] ?? 'random';
const dir = mkdtempSync(join(tmpdir(), 'h15a-micro-'));
const file = join(dir, 'db');
const db = new Database(file);
db.pragma(`cipher='sqlcipher'`);
db.key(Buffer.from(`x'${randomBytes(32).toString('hex')}'`));
db.pragma('page_size = 8192');
db.prepare('SELECT count(*) FROM sqlite_master').get();
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
db.pragma('cache_size = -16384');
db.exec(`CREATE TABLE item_bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL, size INTEGER NOT NULL);
CREATE TABLE item_keys (hash INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (hash, pk, sk)) WITHOUT ROWID;
CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER, s INTEGER); INSERT INTO counters VALUES (0,0,0);
CREATE TABLE record_log_1 (position INTEGER PRIMARY KEY, body BLOB NOT NULL);`);
const body = Buffer.from(JSON.stringify({ pk: { S: 'key-1234' }, n: { N: '12345' }, payload: { S: 'x'.repeat(900) } }));
const ins = db.prepare('INSERT INTO item_bodies (body,size) VALUES (?,?)');
const insk = db.prepare('INSERT INTO item_keys VALUES (?,?,?,?)');
db.transaction(() => {
  for (let i = 0; i < 2000; i++)
    insk.run(
      (i * 2654435761) % 4294967296,
      Buffer.from(`key-${i}`),
      Buffer.alloc(0),
      ins.run(body, body.length).lastInsertRowid,
    );
})();
const get = db
  .prepare(
    'SELECT k.id, b.body, b.size FROM item_keys k CROSS JOIN item_bodies b ON b.id = k.id WHERE k.hash=? AND k.pk=? AND k.sk=?',
  )
  .raw(true);
const upd = db.prepare('UPDATE item_bodies SET body=?, size=? WHERE id=?');
const cnt = db.prepare('UPDATE counters SET n=n+?, s=s+? WHERE id=0');
const app = db.prepare('INSERT INTO record_log_1 (position, body) VALUES (?,?)');
const repoint = db.prepare('UPDATE item_keys SET id=? WHERE hash=? AND pk=? AND sk=?');
const putAppended = db.transaction((i) => {
  const hash = (i * 2654435761) % 4294967296;
  const pk = Buffer.from(`key-${i}`);
  get.get(hash, pk, Buffer.alloc(0));
  body.writeUInt32BE(k, 30);
  const id = ins.run(body, body.length).lastInsertRowid;
  repoint.run(id, hash, pk, Buffer.alloc(0));
  cnt.run(0, 1);
  app.run(pos++, Buffer.alloc(30));
});
const put = db.transaction((i) => {
  const r = get.get((i * 2654435761) % 4294967296, Buffer.from(`key-${i}`), Buffer.alloc(0));
  body.writeUInt32BE(k, 30);
  upd.run(body, body.length, r[0]);
  cnt.run(0, 1);
});
const outer = db.transaction((fn) => fn());
const segmentKey = randomBytes(32);
const segment = openSync(join(dir, 'segment'), 'a');
const sealed = [];
/** The commit's records in one AES-256-GCM message (IV, tag, ciphertext), appended before COMMIT. */
const appendSegment = () => {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', segmentKey, iv);
  const text = cipher.update(Buffer.concat(sealed));
  cipher.final();
  writeSync(segment, Buffer.concat([iv, cipher.getAuthTag(), text]));
  sealed.length = 0;
};
let pos = 0,
  k = 0;
const begin = db.prepare('BEGIN IMMEDIATE'),
  commit = db.prepare('COMMIT');
const round = () => {
  begin.run();
  for (let j = 0; j < G; j++) {
    const i = ORDER === 'seq' ? k++ % 2000 : (k++ * 7919) % 2000;
    if (mode === 'plain') put(i);
    else if (mode === 'pitr')
      outer(() => {
        put(i);
        app.run(pos++, Buffer.concat([Buffer.alloc(20), body]));
      });
    else if (mode === 'nosave') {
      put(i);
      app.run(pos++, Buffer.concat([Buffer.alloc(20), body]));
    } else if (mode === 'append') putAppended(i);
    else if (mode === 'segment')
      outer(() => {
        put(i);
        app.run(pos++, Buffer.alloc(30));
        sealed.push(Buffer.concat([Buffer.alloc(20), body]));
      });
    else if (mode === 'small') {
      put(i);
      app.run(pos++, Buffer.alloc(30));
    }
  }
  if (sealed.length > 0) appendSegment();
  commit.run();
};
for (let r = 0; r < 300; r++) round();
db.pragma('wal_checkpoint(TRUNCATE)');
const c0 = process.cpuUsage();
for (let r = 0; r < ROUNDS; r++) {
  round();
  if (r % 500 === 499) {
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
}
const c = process.cpuUsage(c0);
// frames per commit measured separately
db.pragma('wal_checkpoint(TRUNCATE)');
for (let r = 0; r < 200; r++) round();
const frames = (statSync(`${file}-wal`).size - 32) / (8192 + 24) / 200;
console.log(
  mode,
  'G',
  G,
  ORDER,
  'cpu µs/write',
  ((c.user + c.system) / ROUNDS / G).toFixed(1),
  'frames/commit',
  frames.toFixed(2),
);
db.close();
closeSync(segment);
rmSync(dir, { recursive: true });
