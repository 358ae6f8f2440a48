/**
 * `--durability fsync`: a table file's commits reach stable storage before they are
 * acknowledged. SQLite commits with synchronous=NORMAL (no fsync, so the event loop never
 * waits on the disk) and this flushes the file's write-ahead log afterwards, on libuv's thread
 * pool, once per group commit. A flushed WAL holds every committed frame, which is what
 * synchronous=FULL would have guaranteed.
 */
import { close, fsync, fsyncSync, openSync } from 'node:fs';
import path from 'node:path';
import type { CommitRecorder } from './commit-counter.js';
import { syncDirectorySync } from './synced-files.js';

/** `process`: acknowledged writes survive a crash of the sealdb process. `fsync`: also power loss. */
export type Durability = 'process' | 'fsync';

export const DURABILITY_MODES: readonly Durability[] = ['process', 'fsync'];

/** Control-plane files (catalog, key store) are written rarely: they simply flush at every commit. */
export function syncMode(durability: Durability | undefined): 'NORMAL' | 'FULL' {
  return durability === 'fsync' ? 'FULL' : 'NORMAL';
}

export class WalSync {
  #fd: number | undefined;
  #pending = 0;
  #closed = false;

  /**
   * @param onSync told after each flush (a metric).
   * @param commits recorded after each flush: what the log held when the flush began is durable.
   */
  constructor(
    private readonly databaseFile: string,
    private readonly onSync?: () => void,
    private readonly commits?: CommitRecorder,
  ) {}

  /** Flushes the WAL without blocking the event loop. */
  flush(): Promise<void> {
    const fd = this.#open();
    const position = this.commits?.position();
    this.#pending++;
    return new Promise<void>((resolve, reject) => {
      fsync(fd, (error) => {
        this.#pending--;
        if (this.#closed && this.#pending === 0) this.#release();
        if (error) reject(error);
        else {
          this.commits?.record(position);
          this.onSync?.();
          resolve();
        }
      });
    });
  }

  /** Flushes the WAL now: for protocol steps that must be durable before the next begins. */
  flushNow(): void {
    const position = this.commits?.position();
    fsyncSync(this.#open());
    this.commits?.record(position);
    this.onSync?.();
  }

  /** Closes the log's descriptor once flushes in progress have finished. */
  close(): void {
    this.#closed = true;
    if (this.#pending === 0) this.#release();
  }

  #open(): number {
    if (this.#fd === undefined) {
      this.#fd = openSync(`${this.databaseFile}-wal`, 'r');
      // The log may have just been created: its directory entry must be durable too.
      syncDirectorySync(path.dirname(this.databaseFile));
    }
    return this.#fd;
  }

  #release(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) close(fd, () => undefined);
  }
}
