/**
 * Runs WAL checkpoints off the event loop. Copying WAL frames into an encrypted database
 * decrypts and re-encrypts every page, so checkpoints run here, on a worker thread with
 * its own connection to each table file, instead of inside a request's commit.
 */
import { existsSync, statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { disablePageEncryptionForBenchmark, openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';

/** A worker thread has its own module state: the benchmark-only switch is handed over. */
export interface CheckpointWorkerData {
  readonly pageEncryption: boolean;
  /** Log size past which the main thread truncates the log (see TableFile) and this worker stands aside. */
  readonly walLimitBytes: number;
}

const settings = workerData as CheckpointWorkerData;
if (settings.pageEncryption === false) disablePageEncryptionForBenchmark();

export type CheckpointMessage =
  | { readonly type: 'open'; readonly file: string; readonly key: Uint8Array }
  | { readonly type: 'close'; readonly file: string }
  | { readonly type: 'stop' };

const INTERVAL_MS = 200;
/** Passes an over-limit log is left to the main thread before this worker copies it anyway (idle writer). */
const STAND_ASIDE_PASSES = 5;
const databases = new Map<string, SqliteDatabase>();
const passesAside = new Map<string, number>();

/**
 * A log past the limit is truncated by the main thread right after one of its commits; a passive
 * checkpoint here at the same time would hold the checkpoint lock and make that attempt fail.
 */
function standAside(file: string): boolean {
  let size = 0;
  try {
    size = statSync(`${file}-wal`).size;
  } catch {
    return false;
  }
  const passes = passesAside.get(file) ?? 0;
  if (size <= settings.walLimitBytes || passes >= STAND_ASIDE_PASSES) {
    passesAside.delete(file);
    return false;
  }
  passesAside.set(file, passes + 1);
  return true;
}

function checkpointAll(): void {
  for (const [file, db] of databases) {
    if (standAside(file)) continue;
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // A file deleted under us: forget it. Anything else (a busy lock) is retried next time.
      if (!existsSync(file)) {
        db.close();
        databases.delete(file);
      }
    }
  }
}

const timer = setInterval(checkpointAll, INTERVAL_MS);

parentPort?.on('message', (message: CheckpointMessage) => {
  if (message.type === 'open') {
    const key = Buffer.from(message.key.buffer, message.key.byteOffset, message.key.byteLength);
    try {
      if (!databases.has(message.file)) {
        databases.set(
          message.file,
          openEncryptedDatabase({ file: message.file, key, mustExist: true, checkWal: false }),
        );
      }
    } catch {
      // The table was deleted before its file reached us: nothing to checkpoint.
    } finally {
      key.fill(0);
    }
  } else if (message.type === 'close') {
    databases.get(message.file)?.close();
    databases.delete(message.file);
  } else {
    clearInterval(timer);
    checkpointAll();
    for (const db of databases.values()) db.close();
    databases.clear();
    parentPort?.postMessage('stopped');
  }
});
