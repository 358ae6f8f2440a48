/**
 * Runs full page checks (page-auth.ts) off the event loop, on the checkpoint worker's thread (one
 * thread for both: a thread of its own would cost every server start another Node isolate): a
 * table file's every page is read and authenticated once after it is opened, a backup's while a
 * restore from it runs. One file at a time, each in steps paced to half of the thread's time, so
 * a large file takes its time, neither core is held for long, and checkpoints run between steps.
 */
import { checkFilePages, type PageProblem } from './page-auth.js';
import { walPageNumbers } from './wal-check.js';

export interface PageCheckRequest {
  readonly type: 'check';
  readonly id: number;
  readonly file: string;
  /** Zeroed here once the HMAC key is derived from it. */
  readonly key: Uint8Array;
  readonly expectedPages: number;
  /** In use by a connection that writes (a table's file): see FilePagesCheck.live. */
  readonly live: boolean;
}

export interface PageCheckAnswer {
  readonly type: 'done';
  readonly id: number;
  readonly problem?: PageProblem;
  /** The check could not run to its end (an I/O error): nothing is known either way. */
  readonly error?: string;
}

/** This thread's share while checking: a step, then a rest as long as the step took. */
const REST_FACTOR = 1;

const queue: PageCheckRequest[] = [];
let running = false;
let stopped = false;
let answer: (message: PageCheckAnswer) => void = () => undefined;

async function run(request: PageCheckRequest): Promise<void> {
  const key = Buffer.from(request.key.buffer, request.key.byteOffset, request.key.byteLength);
  let steps: ReturnType<typeof checkFilePages> | undefined;
  try {
    steps = checkFilePages({
      file: request.file,
      key,
      expectedPages: request.expectedPages,
      live: request.live,
      superseded: () => (request.live ? walPageNumbers(`${request.file}-wal`) : new Set()),
    });
    for (;;) {
      // The thread is stopping: the check is dropped (it runs again when the file is next opened).
      if (stopped) {
        steps.return(undefined);
        answer({ type: 'done', id: request.id, error: 'stopped' });
        return;
      }
      const started = performance.now();
      const step = steps.next();
      // The HMAC key is derived on the first step: the data key is no longer needed.
      key.fill(0);
      if (step.done) {
        answer({ type: 'done', id: request.id, ...(step.value ? { problem: step.value } : {}) });
        return;
      }
      const took = performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, Math.max(1, took * REST_FACTOR)));
    }
  } catch (error) {
    steps?.return(undefined);
    answer({ type: 'done', id: request.id, error: error instanceof Error ? error.message : String(error) });
  } finally {
    key.fill(0);
  }
}

async function drain(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let next = queue.shift(); next; next = queue.shift()) await run(next);
  } finally {
    running = false;
  }
}

/** Queues a check; `reply` gets its answer (the thread's port). */
export function startPageCheck(message: PageCheckRequest, reply: (message: PageCheckAnswer) => void): void {
  answer = reply;
  if (stopped) {
    reply({ type: 'done', id: message.id, error: 'stopped' });
    return;
  }
  queue.push(message);
  void drain();
}

/** Ends the check running now at its next step and drops those waiting. */
export function stopPageChecks(): void {
  stopped = true;
  for (const request of queue.splice(0)) {
    request.key.fill(0);
    answer({ type: 'done', id: request.id, error: 'stopped' });
  }
}
