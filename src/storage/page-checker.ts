/**
 * The main-thread side of the full page checks (page-check-worker.ts), which run on the
 * checkpoint worker's thread while requests go on. `stop` drops what is still running (it runs
 * again when the file is next opened).
 */
import { pageEncryptionEnabled } from './encrypted-db.js';
import type { PageProblem } from './page-auth.js';
import type { PageCheckAnswer, PageCheckRequest } from './page-check-worker.js';

export interface PageCheckOutcome {
  /** Set when the file's bytes are not what sealdb wrote. */
  readonly problem?: PageProblem;
  /** The check did not run to its end (stopped, or an I/O error): nothing is known either way. */
  readonly incomplete?: string;
}

/** How requests reach the worker thread (the checkpoint worker's port). */
export type PageCheckPost = (request: PageCheckRequest, transfer: ArrayBuffer[]) => void;

export class PageChecker {
  #nextId = 1;
  readonly #pending = new Map<number, (outcome: PageCheckOutcome) => void>();
  #idle: { promise: Promise<void>; resolve: () => void } | undefined;
  #stopped = false;

  constructor(private readonly post: PageCheckPost) {}

  /**
   * Checks every page of `file` under its data key (copied for the worker during this call; the
   * caller zeroes its own). `expectedPages`: SQLite's page_count for it right now.
   */
  check(file: string, key: Buffer, expectedPages: number, live: boolean): Promise<PageCheckOutcome> {
    if (this.#stopped) return Promise.resolve({ incomplete: 'the server is stopping' });
    // The benchmark's plaintext pages carry no HMAC to check.
    if (!pageEncryptionEnabled()) return Promise.resolve({});
    const id = this.#nextId++;
    const copy = new Uint8Array(key);
    const outcome = new Promise<PageCheckOutcome>((resolve) => this.#pending.set(id, resolve));
    this.post({ type: 'check', id, file, key: copy, expectedPages, live }, [copy.buffer]);
    return outcome;
  }

  /** The worker's answer to a check. */
  answered(message: PageCheckAnswer): void {
    this.#settle(message.id, {
      ...(message.problem ? { problem: message.problem } : {}),
      ...(message.error !== undefined ? { incomplete: message.error } : {}),
    });
  }

  /** Resolves once every check asked for so far has ended (a test hook). */
  idle(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    if (!this.#idle) {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#idle = { promise, resolve };
    }
    return this.#idle.promise;
  }

  /** Ends every check still waiting as incomplete (the worker drops them when it stops). */
  stop(why = 'the server is stopping'): void {
    this.#stopped = true;
    for (const id of [...this.#pending.keys()]) this.#settle(id, { incomplete: why });
  }

  #settle(id: number, outcome: PageCheckOutcome): void {
    const resolve = this.#pending.get(id);
    if (!resolve) return;
    this.#pending.delete(id);
    resolve(outcome);
    if (this.#pending.size === 0 && this.#idle) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }
}
