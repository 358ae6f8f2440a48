/**
 * Consistent copies of an encrypted SQLite file into a new encrypted file under another key,
 * taken without stopping writes. A connection of its own holds one read transaction for the whole
 * copy (WAL mode: the table's writer goes on, the reader keeps seeing the database as it was when
 * the copy began). The copy runs on a worker thread (snapshot-worker.ts), so requests never wait
 * behind it. Both files are ciphertext at every moment: the target is an encrypted database from
 * its first page.
 */
import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { asDamage, DamagedFileError, naming } from './damage.js';
import { openEncryptedDatabase, pageEncryptionEnabled, type SqliteDatabase, WrongKeyError } from './encrypted-db.js';
import { describePageProblem } from './page-auth.js';
import type { PageChecker } from './page-checker.js';
import type { SnapshotWorkerData, SnapshotWorkerMessage } from './snapshot-worker.js';
import type { ItemKey, StoredItem } from './table-file.js';

export interface SnapshotOptions {
  readonly source: string;
  readonly sourceKey: Buffer;
  readonly target: string;
  readonly targetKey: Buffer;
  /** Told as rows are copied. */
  readonly onProgress?: (copied: number) => void;
}

export interface SnapshotResult {
  readonly rows: number;
  /** The size of the finished target file. */
  readonly bytes: number;
}

export interface Snapshot {
  /**
   * Resolves once the snapshot is pinned: writes committed before startSnapshot are in it, writes
   * after `pinned` are not.
   */
  readonly pinned: Promise<void>;
  readonly done: Promise<SnapshotResult>;
}

/** Both keys are copied for the worker during this call; the caller zeroes its own. */
export function startSnapshot(options: SnapshotOptions): Snapshot {
  const workerData: SnapshotWorkerData = {
    pageEncryption: pageEncryptionEnabled(),
    source: options.source,
    target: options.target,
    sourceKey: new Uint8Array(options.sourceKey),
    targetKey: new Uint8Array(options.targetKey),
  };
  const worker = new Worker(new URL('./snapshot-worker.js', import.meta.url), { workerData });
  // The structured clone has been made: these copies are no longer needed here.
  workerData.sourceKey.fill(0);
  workerData.targetKey.fill(0);
  let pinnedResolve: () => void = () => undefined;
  let pinnedReject: (error: Error) => void = () => undefined;
  const pinned = new Promise<void>((resolve, reject) => {
    pinnedResolve = resolve;
    pinnedReject = reject;
  });
  const done = new Promise<SnapshotResult>((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      removeFiles(options.target);
      pinnedReject(error);
      reject(error);
    };
    worker.on('message', (message: SnapshotWorkerMessage) => {
      if (message.type === 'pinned') pinnedResolve();
      else if (message.type === 'progress') options.onProgress?.(message.rows);
      else if (message.type === 'error') fail(new Error(`backup copy failed: ${message.message}`));
      else {
        settled = true;
        resolve({ rows: message.rows, bytes: message.bytes });
      }
    });
    worker.on('error', (error) => fail(error));
    worker.on('exit', (code) => fail(new Error(`backup copy stopped (worker exit ${code})`)));
  });
  // Callers that only await `done` must not see `pinned` rejected unhandled.
  pinned.catch(() => undefined);
  return { pinned, done };
}

/**
 * The items of a backup file, in key order (the table file's layout: see TableFile). Read on a
 * connection of its own, without TableFile's open-time work (its counters check reads every page).
 * With a checker, every page of the file is also authenticated in the background (a restore reads
 * only the item pages; the index and stream pages it rebuilds would go unchecked): `verified`
 * rejects, naming the file, when one is not what sealdb wrote.
 */
export function openBackupItems(
  file: string,
  key: Buffer,
  checker?: PageChecker,
): { items: IterableIterator<StoredItem>; close(): void; verified?: Promise<void> } {
  // Damage is named (the restore's failure report says which backup file to replace).
  let db: ReturnType<typeof openEncryptedDatabase>;
  try {
    db = naming(file, () => openEncryptedDatabase({ file, key, mustExist: true, autoCheckpointPages: 0 }));
  } catch (error) {
    // The data key authenticated under the backup's record: a first page it does not open is damaged.
    if (error instanceof WrongKeyError) {
      throw new DamagedFileError(file, 'its first page fails its authentication check', { cause: error });
    }
    throw error;
  }
  try {
    let verified: Promise<void> | undefined;
    if (checker) {
      // Before the items' statement starts: it keeps the connection busy until it ends.
      const expected = naming(file, () => db.pragma('page_count', { simple: true }) as number);
      verified = checker.check(file, key, expected, false).then((outcome) => {
        if (outcome.problem) throw new DamagedFileError(file, describePageProblem(outcome.problem));
      });
      // Awaited by the restore at its end; one that failed earlier has reported already.
      verified.catch(() => undefined);
    }
    const rows = naming(file, () => snapshotItems(db));
    function* items(): IterableIterator<StoredItem> {
      try {
        yield* rows;
      } catch (error) {
        throw asDamage(file, error);
      }
    }
    return {
      items: items(),
      close: () => {
        rows.return?.();
        db.close();
      },
      ...(verified ? { verified } : {}),
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** The items of an open snapshot or backup file, in key order. */
export function snapshotItems(db: SqliteDatabase): IterableIterator<StoredItem> {
  return db
    .prepare(
      'SELECT k.hash AS hash, k.pk AS pk, k.sk AS sk, b.body AS body, b.size AS size ' +
        'FROM item_keys k CROSS JOIN item_bodies b ON b.id = k.id ORDER BY k.hash, k.pk, k.sk',
    )
    .iterate() as IterableIterator<StoredItem>;
}

/** Looks items up by key in a snapshot or backup file (one prepared statement for every lookup). */
export function snapshotLookup(db: SqliteDatabase): (key: ItemKey) => StoredItem | undefined {
  const statement = db.prepare(
    'SELECT k.hash AS hash, k.pk AS pk, k.sk AS sk, b.body AS body, b.size AS size ' +
      'FROM item_keys k CROSS JOIN item_bodies b ON b.id = k.id WHERE k.hash = ? AND k.pk = ? AND k.sk = ?',
  );
  return (key) => statement.get(key.hash, key.pk, key.sk) as StoredItem | undefined;
}

/** Removes a backup file and its log. */
export function removeFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}

/**
 * The items of a live table file as they are now, for an export read in slices: a connection of
 * its own holds one read transaction (WAL mode), pinned before this returns, so writes committed
 * after it are not seen however long the reading takes.
 */
export function openPinnedItems(file: string, key: Buffer): { items: IterableIterator<StoredItem>; close(): void } {
  // The table's own connection checked the log when it opened the file.
  const db = openEncryptedDatabase({ file, key, mustExist: true, autoCheckpointPages: 0, checkWal: false });
  try {
    db.exec('BEGIN');
    // The first read starts the read transaction: the snapshot is fixed from here on.
    db.prepare('SELECT count(*) FROM item_keys').get();
    const items = snapshotItems(db);
    return {
      items,
      close: () => {
        items.return?.();
        db.exec('ROLLBACK');
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
