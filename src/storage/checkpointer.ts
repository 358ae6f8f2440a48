/** The main-thread side of the checkpoint worker (see checkpoint-worker.ts). */
import { Worker } from 'node:worker_threads';
import type { CheckpointMessage, CheckpointWorkerData } from './checkpoint-worker.js';
import { pageEncryptionEnabled } from './encrypted-db.js';

/**
 * Under a steady stream of commits passive checkpoints never catch up with the log, so SQLite never
 * starts it over and it grows without bound (5 GB for a 300 MB table). Past this size a commit
 * copies the rest itself and truncates the log (TableFile).
 */
const DEFAULT_WAL_LIMIT_BYTES = 64 * 1024 * 1024;

export class Checkpointer {
  readonly #worker: Worker;
  readonly walLimitBytes: number;

  constructor(options: { readonly walLimitBytes?: number } = {}) {
    this.walLimitBytes = options.walLimitBytes ?? DEFAULT_WAL_LIMIT_BYTES;
    this.#worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: {
        pageEncryption: pageEncryptionEnabled(),
        walLimitBytes: this.walLimitBytes,
      } satisfies CheckpointWorkerData,
    });
    // The worker must never keep the process alive on its own.
    this.#worker.unref();
  }

  /** Starts checkpointing a table file; the key is copied to the worker and zeroed there after use. */
  open(file: string, key: Buffer): void {
    if (checkpointsPaused()) return;
    const copy = new Uint8Array(key);
    this.#post({ type: 'open', file, key: copy }, [copy.buffer]);
  }

  close(file: string): void {
    this.#post({ type: 'close', file });
  }

  /** Runs a last checkpoint of every file and stops the worker. */
  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.#worker.once('message', () => resolve()));
    this.#post({ type: 'stop' });
    await stopped;
    await this.#worker.terminate();
  }

  #post(message: CheckpointMessage, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(message, transfer);
  }
}

/**
 * Test hook for the WAL-integrity test: `SEALDB_TEST_PAUSE_CHECKPOINTS=1` leaves every commit of
 * a table file in its log, as a process killed before its next checkpoint would. Unset in normal
 * operation.
 */
function checkpointsPaused(): boolean {
  return process.env.SEALDB_TEST_PAUSE_CHECKPOINTS === '1';
}
