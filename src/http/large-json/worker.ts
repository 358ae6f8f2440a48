/**
 * Checks a large JSON body off the main thread (UTF-8, syntax, nesting depth) and cuts it into
 * byte ranges the main thread can parse a few at a time (see plan.ts).
 */
import { isUtf8 } from 'node:buffer';
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import {
  BACKSLASH,
  CLOSE_ARRAY,
  CLOSE_OBJECT,
  COMMA,
  isSpace,
  OPEN_ARRAY,
  OPEN_OBJECT,
  QUOTE,
} from '../../core/json-bytes.js';
import { type InputPreparer, packPrepared, reviveError, runModelCheck } from '../../validation/off-thread.js';
import { errorJson } from '../aws-error.js';
import { tableNamesOf } from '../request-log.js';
import type { Group, JobOutcome, JobRequest, JobResponse, Plan, Purpose } from './plan.js';

export interface Analysis {
  readonly outcome: JobOutcome;
  /** The checked input's JSON text, which the outcome's plan covers. */
  readonly planBytes?: Buffer;
  /** The answer's body for an invalid verdict: serialising megabytes of message is work too. */
  readonly errorBody?: { readonly bytes: Buffer; readonly crc32: number };
  /** The bodies of the outcome's prepared items. */
  readonly preparedBytes?: Buffer;
}

export function analyse(
  bytes: Buffer,
  maxDepth: number,
  partBytes: number,
  purpose: Purpose,
  preparer?: InputPreparer,
): Analysis {
  // Never decoded lossily: an invalid sequence would be stored as U+FFFD.
  if (!isUtf8(bytes)) return { outcome: { ok: false, reason: 'utf8' } };
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { outcome: { ok: false, reason: 'syntax' } };
  }
  if (depthOf(bytes) > maxDepth) return { outcome: { ok: false, reason: 'depth' } };
  const tableNames = tableNamesOf(value);
  // The answer to a body that is no JSON object does not depend on it (a message-less
  // SerializationException, or the unknown operation): nothing of it is rebuilt.
  if (purpose.kind === 'syntax' || (purpose.kind === 'check' && !isPlainObject(value))) {
    return { outcome: { ok: true, plan: { d: null }, tableNames } };
  }
  if (purpose.kind === 'check') {
    let result: ReturnType<typeof runModelCheck> | undefined;
    try {
      result = runModelCheck(purpose.check, value as Record<string, unknown>, preparer);
    } catch {
      // Not a client's mistake: the main thread checks the body itself, and meets it there.
    }
    if (result && !result.valid) {
      const bytes = Buffer.from(errorJson(reviveError(result.error)), 'utf8');
      const errorBody = { bytes, crc32: crc32(bytes) };
      // The answer is errorBody: the error itself need not carry a message of megabytes across.
      const { message } = result.error;
      const error = message.length > 1024 ? { ...result.error, message: `${message.slice(0, 1024)}…` } : result.error;
      return { outcome: { ok: true, plan: { d: null }, tableNames, verdict: { valid: false, error } }, errorBody };
    }
    if (result) {
      // The checked input goes back the way the body would: as text the main thread parses in slices.
      const planBytes = Buffer.from(JSON.stringify(result.checked), 'utf8');
      const plan = new Planner(planBytes, partBytes).value();
      const verdict = { valid: true } as const;
      if (!result.prepared) return { outcome: { ok: true, plan, tableNames, verdict }, planBytes };
      const { wire, bytes: preparedBytes } = packPrepared(result.prepared);
      return {
        outcome: { ok: true, plan, tableNames, verdict, prepared: wire },
        planBytes,
        ...(preparedBytes ? { preparedBytes } : {}),
      };
    }
  }
  return { outcome: { ok: true, plan: new Planner(bytes, partBytes).value(), tableNames } };
}

const isPlainObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Nesting depth of valid JSON: the deepest bracket outside strings. */
function depthOf(bytes: Buffer): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c === QUOTE) {
      for (i++; bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) i++;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > deepest) deepest = depth;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
    }
  }
  return deepest;
}

/** Walks JSON already known to be valid (and at most maxDepth deep, so recursion is safe). */
class Planner {
  #at = 0;
  constructor(
    private readonly bytes: Buffer,
    private readonly partBytes: number,
  ) {}

  value(): Plan {
    this.#skipSpace();
    const start = this.#at;
    const c = this.bytes[start];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) return this.#container(c === OPEN_OBJECT);
    if (c === QUOTE) this.#skipString();
    else while (this.#at < this.bytes.length && !isScalarEnd(this.bytes[this.#at])) this.#at++;
    const end = this.#at;
    if (end - start <= this.partBytes) return { r: [start, end] };
    return { d: JSON.parse(this.bytes.toString('utf8', start, end)) as string | number | boolean | null };
  }

  #container(isObject: boolean): Plan {
    const bytes = this.bytes;
    const start = this.#at++;
    const groups: Group[] = [];
    let groupStart = -1;
    let groupEnd = -1;
    this.#skipSpace();
    if (bytes[this.#at] === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
      this.#at++;
      return { r: [start, this.#at] };
    }
    for (;;) {
      this.#skipSpace();
      const memberStart = this.#at;
      let keyEnd = memberStart;
      if (isObject) {
        this.#skipString();
        keyEnd = this.#at;
        this.#skipSpace();
        this.#at++; // the colon
      }
      const value = this.value();
      const memberEnd = this.#at;
      if ('r' in value) {
        if (groupStart >= 0 && memberEnd - groupStart > this.partBytes) {
          groups.push({ g: [groupStart, groupEnd] });
          groupStart = -1;
        }
        if (groupStart < 0) groupStart = memberStart;
        groupEnd = memberEnd;
      } else {
        if (groupStart >= 0) groups.push({ g: [groupStart, groupEnd] });
        groupStart = -1;
        groups.push(
          isObject ? { k: JSON.parse(bytes.toString('utf8', memberStart, keyEnd)) as string, v: value } : { v: value },
        );
      }
      this.#skipSpace();
      if (bytes[this.#at++] !== COMMA) break; // the closing bracket
    }
    const end = this.#at;
    if (end - start <= this.partBytes) return { r: [start, end] };
    if (groupStart >= 0) groups.push({ g: [groupStart, groupEnd] });
    return isObject ? { o: groups } : { a: groups };
  }

  #skipSpace(): void {
    while (isSpace(this.bytes[this.#at])) this.#at++;
  }

  /** From an opening quote to just past its closing one. */
  #skipString(): void {
    const bytes = this.bytes;
    let i = this.#at + 1;
    while (bytes[i] !== QUOTE) i += bytes[i] === BACKSLASH ? 2 : 1;
    this.#at = i + 1;
  }
}

const isScalarEnd = (c: number | undefined) =>
  c === COMMA || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isSpace(c) || c === undefined;

/** Per module URL: its preparer (null: it has none, or it failed to load — the main thread then checks). */
const preparers = new Map<string, Promise<InputPreparer | null>>();

function preparerOf(purpose: Purpose): Promise<InputPreparer | null> {
  const url = purpose.kind === 'check' ? purpose.check.preparerUrl : undefined;
  if (url === undefined) return Promise.resolve(null);
  let loaded = preparers.get(url);
  if (!loaded) {
    loaded = import(url).then(
      (module: { prepareInput?: InputPreparer }) => module.prepareInput ?? null,
      () => null,
    );
    preparers.set(url, loaded);
  }
  return loaded;
}

function answer(job: JobRequest, preparer: InputPreparer | null): void {
  const bytes = Buffer.from(job.buffer, job.offset, job.length);
  const analysis = analyse(bytes, job.maxDepth, job.partBytes, job.purpose, preparer ?? undefined);
  const { outcome, planBytes, errorBody, preparedBytes } = analysis;
  // Large results are moved, not copied: Buffer.from(string) of this size owns its ArrayBuffer.
  const planBuffer = planBytes && ownBuffer(planBytes);
  const errorBuffer = errorBody && ownBuffer(errorBody.bytes);
  const preparedBuffer = preparedBytes && ownBuffer(preparedBytes);
  const response: JobResponse = {
    id: job.id,
    buffer: job.buffer,
    outcome,
    ...(planBuffer ? { planBuffer } : {}),
    ...(preparedBuffer ? { preparedBuffer } : {}),
    ...(errorBuffer ? { errorBody: { buffer: errorBuffer, crc32: errorBody.crc32 } } : {}),
  };
  const transfer = [job.buffer, planBuffer, preparedBuffer, errorBuffer].filter((b) => b !== undefined);
  parentPort?.postMessage(response, transfer);
}

// Jobs are answered in the order they came (a preparer's first load is the only wait).
let queue: Promise<void> = Promise.resolve();
parentPort?.on('message', (job: JobRequest) => {
  queue = queue.then(() => preparerOf(job.purpose)).then((preparer) => answer(job, preparer));
});

function ownBuffer(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  return Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
}
