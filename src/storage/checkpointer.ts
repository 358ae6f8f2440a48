/** The main-thread side of the checkpoint worker (see checkpoint-worker.ts). */
import { Worker } from 'node:worker_threads';
import type { CaughtUpMessage, CheckpointMessage, CheckpointWorkerData } from './checkpoint-worker.js';
import { pageEncryptionEnabled } from './encrypted-db.js';
import type { PageCheckAnswer } from './page-check-worker.js';
import { PageChecker } from './page-checker.js';

/**
 * A log this large is started over once the worker has copied it (8 KiB pages, plus frame
 * headers). A still-growing log is copied at this size or once a second, whichever comes first
 * (checkpoint-worker.ts), so a page rewritten by many commits (index and key leaves under random
 * keys) is decrypted and re-encrypted once per copy; 64 MiB (~2,000 PutItems on a table with two
 * GSIs) is at most that much disk per busy table (twice that if the worker cannot keep up, see TableFile).
 */
const DEFAULT_WAL_LIMIT_BYTES = 64 * 1024 * 1024;
const FRAME_BYTES = 8192 + 24;

export class Checkpointer {
  readonly #worker: Worker;
  /** The log size past which it is restarted (see TableFile); the last resort is a multiple of it. */
  readonly walLimitBytes: number;
  readonly #caughtUp = new Map<string, () => void>();
  /** Full page checks of table and backup files, run on this worker's thread between checkpoints. */
  readonly pageChecker: PageChecker;

  constructor(options: { readonly walLimitBytes?: number } = {}) {
    this.walLimitBytes = options.walLimitBytes ?? DEFAULT_WAL_LIMIT_BYTES;
    this.#worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: {
        pageEncryption: pageEncryptionEnabled(),
        restartFrames: Math.max(1, Math.floor(this.walLimitBytes / FRAME_BYTES)),
      } satisfies CheckpointWorkerData,
    });
    this.pageChecker = new PageChecker((request, transfer) => this.#post(request, transfer));
    this.#worker.on('message', (message: CaughtUpMessage | PageCheckAnswer | 'stopped') => {
      if (typeof message !== 'object') return;
      if (message.type === 'caught-up') this.#caughtUp.get(message.file)?.();
      else if (message.type === 'done') this.pageChecker.answered(message);
    });
    this.#worker.on('exit', () => this.pageChecker.stop('the checkpoint worker stopped'));
    // The worker must never keep the process alive on its own.
    this.#worker.unref();
  }

  /**
   * Starts checkpointing a table file; the key is copied to the worker and zeroed there after use.
   * `onCaughtUp` is told when the worker has copied all but the newest frames of a large log.
   */
  open(file: string, key: Buffer, onCaughtUp: () => void = () => undefined): void {
    if (checkpointsPaused()) return;
    this.#caughtUp.set(file, onCaughtUp);
    const copy = new Uint8Array(key);
    this.#post({ type: 'open', file, key: copy }, [copy.buffer]);
  }

  close(file: string): void {
    this.#caughtUp.delete(file);
    this.#post({ type: 'close', file });
  }

  /** Runs a last checkpoint of every file and stops the worker. */
  async stop(): Promise<void> {
    const stopped = new Promise<void>((resolve) => {
      const on = (message: unknown) => {
        if (message !== 'stopped') return;
        this.#worker.off('message', on);
        resolve();
      };
      this.#worker.on('message', on);
    });
    this.pageChecker.stop();
    // Kept alive until the last checkpoint is done (the caught-up listener does not hold the loop).
    this.#worker.ref();
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
