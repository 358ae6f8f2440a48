/**
 * The copy of a snapshot (snapshot.ts), on a worker thread: reading and decrypting every page of
 * the table and encrypting and writing every page of the backup would otherwise stall requests
 * (the kernel's write-back alone can hold one commit for hundreds of milliseconds). The read
 * transaction is pinned first and the main thread told, so it answers CreateBackup only then.
 */

import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { disablePageEncryptionForBenchmark, openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';

export interface SnapshotWorkerData {
  readonly pageEncryption: boolean;
  readonly source: string;
  readonly target: string;
  /** Copies made for this thread: zeroed here once the files are open. */
  readonly sourceKey: Uint8Array;
  readonly targetKey: Uint8Array;
}

export type SnapshotWorkerMessage =
  | { readonly type: 'pinned' }
  | { readonly type: 'progress'; readonly rows: number }
  | { readonly type: 'done'; readonly rows: number; readonly bytes: number }
  | { readonly type: 'error'; readonly message: string };

const data = workerData as SnapshotWorkerData;
if (data.pageEncryption === false) disablePageEncryptionForBenchmark();
const post = (message: SnapshotWorkerMessage) => parentPort?.postMessage(message);
const ROWS_PER_COMMIT = 5000;

async function run(): Promise<void> {
  const sourceKey = Buffer.from(data.sourceKey.buffer, data.sourceKey.byteOffset, data.sourceKey.byteLength);
  const targetKey = Buffer.from(data.targetKey.buffer, data.targetKey.byteOffset, data.targetKey.byteLength);
  let source: SqliteDatabase | undefined;
  let target: SqliteDatabase | undefined;
  try {
    source = openEncryptedDatabase({
      file: data.source,
      key: sourceKey,
      mustExist: true,
      checkWal: false,
      // Never checkpoints: the table's own connection and checkpointer do.
      autoCheckpointPages: 0,
    });
    source.exec('BEGIN');
    // The first read starts the read transaction: from here on this connection sees one version.
    const schema = source
      .prepare(
        `SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
         ORDER BY type = 'index', rowid`,
      )
      .all() as { type: string; name: string; sql: string }[];
    post({ type: 'pinned' });
    target = openEncryptedDatabase({ file: data.target, key: targetKey });
    // A new file nobody else opens, thrown away if the copy fails or the process dies: no journal,
    // no sync per commit; synced once at the end.
    target.pragma('journal_mode = OFF');
    target.pragma('synchronous = OFF');
    for (const { sql } of schema) target.exec(sql);
    let copied = 0;
    for (const { name } of schema.filter((s) => s.type === 'table')) {
      const columns = (source.prepare(`PRAGMA table_info("${name}")`).all() as unknown[]).length;
      const insert = target.prepare(`INSERT INTO "${name}" VALUES (${Array(columns).fill('?').join(', ')})`);
      target.exec('BEGIN');
      for (const row of source.prepare(`SELECT * FROM "${name}"`).raw(true).iterate() as IterableIterator<unknown[]>) {
        insert.run(...row);
        if (++copied % ROWS_PER_COMMIT === 0) {
          target.exec('COMMIT');
          post({ type: 'progress', rows: copied });
          target.exec('BEGIN');
        }
      }
      target.exec('COMMIT');
    }
    source.exec('COMMIT');
    source.close();
    target.close();
    const handle = await open(data.target, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    post({ type: 'done', rows: copied, bytes: statSync(data.target).size });
  } catch (error) {
    if (target?.open) target.close();
    if (source?.open) source.close();
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  } finally {
    sourceKey.fill(0);
    targetKey.fill(0);
  }
}

void run();
