/**
 * Runs WAL checkpoints off the event loop. Copying WAL frames into an encrypted database
 * decrypts and re-encrypts every page, so checkpoints run here, on a worker thread with
 * its own connection to each table file, instead of inside a request's commit.
 *
 * Under a steady stream of commits a passive checkpoint never finds the log fully copied when the
 * next writer starts, so SQLite never starts the log over and it grows without bound. Once this
 * worker has copied (nearly) everything of a large log it restarts it, or, when it cannot get the
 * writer's lock, tells the main thread, whose next commit copies the few frames written since and
 * restarts the log (TableFile): the expensive copying stays here, the main thread's share is a
 * few frames.
 */
import { existsSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { disablePageEncryptionForBenchmark, openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';
import { type PageCheckRequest, startPageCheck, stopPageChecks } from './page-check-worker.js';
import { walProgress } from './wal-index.js';

/** A worker thread has its own module state: the benchmark-only switch is handed over. */
export interface CheckpointWorkerData {
  readonly pageEncryption: boolean;
  /** A log of at least this many frames is restarted once copied (see TableFile). */
  readonly restartFrames: number;
}

const settings = workerData as CheckpointWorkerData;
if (settings.pageEncryption === false) disablePageEncryptionForBenchmark();

export type CheckpointMessage =
  | { readonly type: 'open'; readonly file: string; readonly key: Uint8Array }
  | { readonly type: 'close'; readonly file: string }
  | PageCheckRequest
  | { readonly type: 'stop' };

/** To the main thread: the log of `file` is copied but for frames written in the last moments. */
export interface CaughtUpMessage {
  readonly type: 'caught-up';
  readonly file: string;
}

const INTERVAL_MS = 200;
/**
 * Passive checkpoints in a row per file and pass: each copies what was written while the one
 * before ran, so the rest left to the main thread shrinks with every round.
 */
const CATCH_UP_ROUNDS = 4;
/** Frames a round may have copied and still count as caught up (~0.5 MB of 8 KiB pages). */
const CAUGHT_UP_FRAMES = 64;
/** How long a restart waits for the main thread's write transaction to end. */
const RESTART_WAIT_MS = 20;
const databases = new Map<string, SqliteDatabase>();
/**
 * The longest a committed frame waits to be copied. In `process` durability a checkpoint is what
 * flushes the log to the disk (synchronous NORMAL), and the README promises that within about a
 * second: a log still growing below its limit is copied at least this often.
 */
const MAX_COPY_DELAY_MS = 1000;
/** Per file: the log's frame count at the last pass, and when its log was last copied (or found copied). */
const passes = new Map<string, { frames: number; copiedAt: number }>();

interface CheckpointResult {
  readonly busy: number;
  readonly log: number;
  readonly checkpointed: number;
}

function checkpoint(db: SqliteDatabase, mode: 'PASSIVE' | 'RESTART'): CheckpointResult {
  return (db.pragma(`wal_checkpoint(${mode})`) as CheckpointResult[])[0] as CheckpointResult;
}

/**
 * Copies the log into the database; a large log is then started over. A restart needs the
 * writer's lock while it copies the last frames, so it is tried here only once a round of passive
 * copying has left little (the main thread then waits at most that long to begin its next write);
 * when the lock stays taken, the main thread's next commit restarts the log itself.
 */
function checkpointFile(file: string, db: SqliteDatabase): void {
  let previous = checkpoint(db, 'PASSIVE');
  for (let round = 1; round < CATCH_UP_ROUNDS; round++) {
    // A small log, or one a reader keeps from being copied whole: nothing to restart yet.
    if (previous.busy !== 0 || previous.log < settings.restartFrames || previous.checkpointed < previous.log) return;
    const next = checkpoint(db, 'PASSIVE');
    // This round copied only what was written while the last one ran: little is left.
    if (next.busy === 0 && next.checkpointed === next.log && next.log - previous.log <= CAUGHT_UP_FRAMES) {
      db.pragma(`busy_timeout = ${RESTART_WAIT_MS}`);
      try {
        if (checkpoint(db, 'RESTART').busy === 0) return;
      } finally {
        db.pragma('busy_timeout = 0');
      }
      parentPort?.postMessage({ type: 'caught-up', file } satisfies CaughtUpMessage);
      return;
    }
    previous = next;
  }
}

/**
 * Whether a file's log is worth copying in this pass. Each copy decrypts and re-encrypts the
 * newest version of every page written since the last one, so a page rewritten by many commits
 * (an index leaf, a key page of random keys) costs one copy per pass that finds it changed. A log
 * still growing is so left to grow for up to MAX_COPY_DELAY_MS, or to its limit (then copied at
 * every pass until it is started over, as before); one that has stopped growing for a pass is
 * copied at once.
 */
function due(file: string): boolean {
  const progress = walProgress(file);
  if (!progress) return true;
  const now = performance.now();
  const last = passes.get(file);
  const copied = progress.copied >= progress.frames;
  // A log at its limit is copied at every pass until it is started over (checkpointFile).
  const copy =
    !copied &&
    (progress.frames >= settings.restartFrames ||
      progress.frames === last?.frames ||
      now - (last?.copiedAt ?? 0) >= MAX_COPY_DELAY_MS);
  passes.set(file, { frames: progress.frames, copiedAt: copied || copy ? now : (last?.copiedAt ?? now) });
  return copy;
}

function checkpointAll(): void {
  for (const [file, db] of databases) {
    try {
      if (due(file)) checkpointFile(file, db);
    } catch {
      // A file deleted under us: forget it. Anything else (a busy lock) is retried next time.
      if (!existsSync(file)) {
        db.close();
        databases.delete(file);
        passes.delete(file);
      }
    }
  }
}

const timer = setInterval(checkpointAll, INTERVAL_MS);

parentPort?.on('message', (message: CheckpointMessage) => {
  if (message.type === 'check') {
    startPageCheck(message, (answer) => parentPort?.postMessage(answer));
  } else if (message.type === 'open') {
    const key = Buffer.from(message.key.buffer, message.key.byteOffset, message.key.byteLength);
    try {
      if (!databases.has(message.file)) {
        const db = openEncryptedDatabase({ file: message.file, key, mustExist: true, checkWal: false });
        // Never waits for a lock but when restarting a log (checkpointFile).
        db.pragma('busy_timeout = 0');
        databases.set(message.file, db);
      }
    } catch {
      // The table was deleted before its file reached us: nothing to checkpoint.
    } finally {
      key.fill(0);
    }
  } else if (message.type === 'close') {
    databases.get(message.file)?.close();
    databases.delete(message.file);
    passes.delete(message.file);
  } else {
    stopPageChecks();
    clearInterval(timer);
    for (const db of databases.values()) {
      try {
        checkpoint(db, 'PASSIVE');
      } catch {
        // A file deleted under us has nothing left to copy.
      }
      db.close();
    }
    databases.clear();
    parentPort?.postMessage('stopped');
  }
});
