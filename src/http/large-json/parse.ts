/**
 * JSON.parse for request bodies too large to parse on the main thread in one go (JSON.parse
 * runs at roughly 50–150 MB/s on DynamoDB-shaped bodies, so 15 MB held every other client for
 * about a second). A small pool of worker threads checks each body and plans its parse
 * (plan.ts); the main thread then parses the planned ranges, yielding whenever a slice has run
 * for about a millisecond, so a large body delays other requests by a few milliseconds at most.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Slicer } from '../../core/slicer.js';
import { type CheckVerdict, unpackPrepared, verdictOf } from '../../validation/off-thread.js';
import { setOwnEntry } from '../../validation/own-entry.js';
import type { EncodedBody } from '../aws-error.js';
import type { JobOutcome, JobRequest, JobResponse, Plan, Purpose } from './plan.js';

export type { Purpose } from './plan.js';

/** Above this, a body is parsed off the main thread (JSON.parse of 64 KiB takes ~0.5 ms). */
export const OFF_THREAD_JSON_BYTES = 64 * 1024;
/** Largest range parsed on the main thread between two yields. */
const PART_BYTES = 32 * 1024;
/** How long the main thread parses before letting other requests run. */
const SLICE_MS = 1;
const POOL_SIZE = Math.max(1, Math.min(2, availableParallelism()));

export type LargeJson =
  | {
      readonly ok: true;
      /**
       * The value the purpose asks for: the body's; under `check`, the checked input, an empty
       * object standing for the body when the verdict is an error (the worker checks objects
       * only), or null for a body that is no object; under `syntax`, null.
       */
      readonly value: unknown;
      readonly bytes: Buffer;
      /** tableNamesOf the body as sent. */
      readonly tableNames: string | undefined;
      /** Present when the model check ran in the worker. */
      readonly verdict?: CheckVerdict;
    }
  | { readonly ok: false; readonly reason: 'utf8' | 'syntax' | 'depth'; readonly bytes: Buffer };

/**
 * Parses `bytes` as JSON, refusing invalid UTF-8 and nesting deeper than `maxDepth`. Their memory
 * is lent to a worker: use the returned `bytes`, not the Buffer passed in, afterwards.
 */
export async function parseLargeJson(
  bytes: Buffer,
  maxDepth: number,
  purpose: Purpose = { kind: 'value' },
): Promise<LargeJson> {
  const { outcome, bytes: returned, planBytes, preparedBytes, errorBody } = await pool.run(bytes, maxDepth, purpose);
  if (!outcome.ok) return { ok: false, reason: outcome.reason, bytes: returned };
  const { tableNames } = outcome;
  const value = await build(outcome.plan, planBytes ?? returned, new Slicer(SLICE_MS));
  if (!outcome.verdict) return { ok: true, value, bytes: returned, tableNames };
  const verdict = verdictOf(outcome.verdict, outcome.prepared && unpackPrepared(outcome.prepared, preparedBytes));
  if (!verdict.valid && errorBody) verdict.error.encodedBody = errorBody;
  return { ok: true, value: verdict.valid ? value : {}, bytes: returned, tableNames, verdict };
}

async function build(plan: Plan, bytes: Buffer, slicer: Slicer): Promise<unknown> {
  if ('d' in plan) return plan.d;
  if ('r' in plan) {
    await slicer.pause();
    return JSON.parse(bytes.toString('utf8', plan.r[0], plan.r[1]));
  }
  if ('a' in plan) {
    const array: unknown[] = [];
    for (const group of plan.a) {
      if ('g' in group) {
        await slicer.pause();
        const elements = JSON.parse(`[${rangeText(bytes, group)}]`) as unknown[];
        for (const element of elements) array.push(element);
      } else {
        array.push(await build(group.v, bytes, slicer));
      }
    }
    return array;
  }
  const object: Record<string, unknown> = {};
  for (const group of plan.o) {
    if ('g' in group) {
      await slicer.pause();
      const members = JSON.parse(`{${rangeText(bytes, group)}}`) as Record<string, unknown>;
      for (const key of Object.keys(members)) setOwnEntry(object, key, members[key]);
    } else {
      setOwnEntry(object, group.k as string, await build(group.v, bytes, slicer));
    }
  }
  return object;
}

const rangeText = (bytes: Buffer, group: { readonly g: readonly [number, number] }) =>
  bytes.toString('utf8', group.g[0], group.g[1]);

interface PooledWorker {
  readonly worker: Worker;
  readonly pending: Map<number, { resolve: (response: JobResponse) => void; reject: (error: Error) => void }>;
}

class WorkerPool {
  readonly #workers: PooledWorker[] = [];
  #nextId = 1;

  run(
    bytes: Buffer,
    maxDepth: number,
    purpose: Purpose,
  ): Promise<{
    outcome: JobOutcome;
    bytes: Buffer;
    planBytes: Buffer | undefined;
    preparedBytes: Buffer | undefined;
    errorBody: EncodedBody | undefined;
  }> {
    const pooled = this.#pick();
    const id = this.#nextId++;
    // A Buffer that owns its whole ArrayBuffer is moved to the worker and back; a view into a
    // shared one (Node's small-buffer pool, a zlib chunk) is copied rather than detached under its neighbours.
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    const buffer = owned ? (bytes.buffer as ArrayBuffer) : Uint8Array.prototype.slice.call(bytes).buffer;
    const length = bytes.byteLength;
    const job: JobRequest = { id, purpose, buffer, offset: 0, length, maxDepth, partBytes: PART_BYTES };
    return new Promise((resolve, reject) => {
      pooled.pending.set(id, {
        resolve: (response) =>
          resolve({
            outcome: response.outcome,
            bytes: Buffer.from(response.buffer, 0, length),
            planBytes: response.planBuffer ? Buffer.from(response.planBuffer) : undefined,
            preparedBytes: response.preparedBuffer ? Buffer.from(response.preparedBuffer) : undefined,
            errorBody: response.errorBody
              ? { bytes: Buffer.from(response.errorBody.buffer), crc32: response.errorBody.crc32 }
              : undefined,
          }),
        reject,
      });
      // Only a worker with work keeps the process alive.
      if (pooled.pending.size === 1) pooled.worker.ref();
      pooled.worker.postMessage(job, [buffer]);
    });
  }

  #pick(): PooledWorker {
    if (this.#workers.length < POOL_SIZE) return this.#spawn();
    let best = this.#workers[0] as PooledWorker;
    for (const pooled of this.#workers) if (pooled.pending.size < best.pending.size) best = pooled;
    return best;
  }

  #spawn(): PooledWorker {
    const worker = new Worker(new URL('./worker.js', import.meta.url));
    const pooled: PooledWorker = { worker, pending: new Map() };
    this.#workers.push(pooled);
    worker.on('message', (response: JobResponse) => {
      const job = pooled.pending.get(response.id);
      pooled.pending.delete(response.id);
      if (pooled.pending.size === 0) worker.unref();
      job?.resolve(response);
    });
    const fail = (error: Error) => {
      const index = this.#workers.indexOf(pooled);
      if (index >= 0) this.#workers.splice(index, 1);
      for (const job of pooled.pending.values()) job.reject(error);
      pooled.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`JSON worker exited with code ${code}`)));
    // An idle worker must not keep a stopping server's process alive (unref after the listeners, which ref it).
    worker.unref();
    return pooled;
  }
}

const pool = new WorkerPool();
