/** The main-thread side of the checkpoint worker (see checkpoint-worker.ts). */
import { Worker } from 'node:worker_threads';
import type { CheckpointMessage, CheckpointWorkerData } from './checkpoint-worker.js';
import { pageEncryptionEnabled } from './encrypted-db.js';

export class Checkpointer {
  readonly #worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
    workerData: { pageEncryption: pageEncryptionEnabled() } satisfies CheckpointWorkerData,
  });

  constructor() {
    // The worker must never keep the process alive on its own.
    this.#worker.unref();
  }

  /** Starts checkpointing a table file; the key is copied to the worker and zeroed there after use. */
  open(file: string, key: Buffer): void {
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
