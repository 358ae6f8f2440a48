/**
 * Consistent copies of an encrypted SQLite file into a new encrypted file under another key,
 * taken without stopping writes. A connection of its own holds one read transaction for the whole
 * copy (WAL mode: the table's writer goes on, the reader keeps seeing the database as it was when
 * the copy began), and rows move in slices of a few milliseconds of work, yielding to the event
 * loop between slices, so no request waits long behind a backup. Both files are ciphertext at
 * every moment: the target is an encrypted database from its first page.
 */
import { rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';

export interface SnapshotOptions {
  readonly source: string;
  readonly sourceKey: Buffer;
  readonly target: string;
  readonly targetKey: Buffer;
  /** The most work one slice does before yielding (default 8 ms). */
  readonly sliceMs?: number;
  /** Told after each slice: rows copied so far. */
  readonly onProgress?: (copied: number) => void;
}

export interface SnapshotResult {
  readonly rows: number;
  /** The size of the finished target file. */
  readonly bytes: number;
}

/**
 * Pins the snapshot before returning (writes committed before the call are in the copy, later
 * ones are not) and opens the target; both keys are used only during this call. The copy then runs
 * in the returned promise.
 */
export function startSnapshot(options: SnapshotOptions): { readonly done: Promise<SnapshotResult> } {
  const source = openEncryptedDatabase({
    file: options.source,
    key: options.sourceKey,
    mustExist: true,
    checkWal: false,
    // Never checkpoints: the table's own connection and checkpointer do.
    autoCheckpointPages: 0,
  });
  let target: SqliteDatabase | undefined;
  try {
    source.exec('BEGIN');
    // The first read starts the read transaction: from here on this connection sees one version.
    const schema = source
      .prepare(
        `SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'
         ORDER BY type = 'index', rowid`,
      )
      .all() as { type: string; name: string; sql: string }[];
    // (No count of the rows here: counting reads, and decrypts, every page of the table at once.)
    const tables = schema.filter((s) => s.type === 'table').map((s) => s.name);
    target = openEncryptedDatabase({ file: options.target, key: options.targetKey });
    // A new file nobody else opens, thrown away if the copy fails (or the process dies: see
    // BackupManager): no journal and no syncs per slice, so each slice's commit only writes its
    // pages, and no checkpoint at the end stalls the loop. It is synced once, off the loop, when done.
    target.pragma('journal_mode = OFF');
    target.pragma('synchronous = OFF');
    for (const { sql } of schema) target.exec(sql);
    const opened = target;
    return { done: copyRows(source, opened, tables, options) };
  } catch (error) {
    target?.close();
    source.close();
    removeFiles(options.target);
    throw error;
  }
}

async function copyRows(
  source: SqliteDatabase,
  target: SqliteDatabase,
  tables: readonly string[],
  options: SnapshotOptions,
): Promise<SnapshotResult> {
  const sliceMs = options.sliceMs ?? 8;
  let copied = 0;
  try {
    for (const name of tables) {
      const columns = (source.prepare(`PRAGMA table_info("${name}")`).all() as unknown[]).length;
      const rows = source.prepare(`SELECT * FROM "${name}"`).raw(true).iterate() as IterableIterator<unknown[]>;
      const insert = target.prepare(`INSERT INTO "${name}" VALUES (${Array(columns).fill('?').join(', ')})`);
      let finished = false;
      while (!finished) {
        const started = performance.now();
        target.exec('BEGIN');
        try {
          for (let n = 0; ; n++) {
            // The clock is read every 16 rows; half the budget for rows, the rest for the commit.
            if ((n & 15) === 15 && performance.now() - started >= sliceMs / 2) break;
            const next = rows.next();
            if (next.done) {
              finished = true;
              break;
            }
            insert.run(...next.value);
            copied++;
          }
          target.exec('COMMIT');
        } catch (error) {
          target.exec('ROLLBACK');
          rows.return?.();
          throw error;
        }
        options.onProgress?.(copied);
        await nextTurn();
      }
    }
    source.exec('COMMIT');
    source.close();
    target.close();
    const handle = await open(options.target, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return { rows: copied, bytes: statSync(options.target).size };
  } catch (error) {
    if (target.open) target.close();
    if (source.open) source.close();
    removeFiles(options.target);
    throw error;
  }
}

/** Removes a backup file and its log. */
export function removeFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}
