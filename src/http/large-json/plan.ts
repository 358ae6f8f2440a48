/**
 * How a worker hands a large JSON body back to the main thread. Sending the parsed value itself
 * would not help: structured clone deserialises slower than JSON.parse (measured: 2.2 s against
 * 1.7 s for a 21 MB BatchWriteItem body), all at once. So the worker, which has already checked
 * the body (UTF-8, syntax, depth), sends a plan of byte ranges of the body, each small enough to
 * JSON.parse in well under a millisecond, and the main thread parses them one by one, yielding
 * to other requests in between.
 *
 * What the main thread needs of a body depends on its operation: for an operation the service
 * lacks, nothing but whether the JSON is valid; for one whose service lends the worker its model
 * check, the check's verdict and (only when the input is valid) the checked input, planned from
 * its own JSON text. A huge invalid request so never builds anything on the main thread.
 */
import type { ClonedError, ModelCheckRequest, PreparedWire } from '../../validation/off-thread.js';

/**
 * A value of the body: a byte range parsed as it stands, a scalar too long for one range (decoded
 * by the worker: a structured-clone string is one copy), or a split container.
 */
export type Plan =
  | { readonly r: readonly [number, number] }
  | { readonly d: string | number | boolean | null }
  | { readonly a: readonly Group[] }
  | { readonly o: readonly Group[] };

/**
 * Consecutive array elements or object members, as the byte range from the first one's start to
 * the last one's end (parsed wrapped in `[]` or `{}`), or one large element or member.
 */
export type Group = { readonly g: readonly [number, number] } | { readonly v: Plan; readonly k?: string };

export type Purpose =
  /** The body's value as sent. */
  | { readonly kind: 'value' }
  /** Only whether it is valid JSON (and the tables it names, for the request log). */
  | { readonly kind: 'syntax' }
  /** The model check's verdict, with the checked input when it passes. */
  | { readonly kind: 'check'; readonly check: ModelCheckRequest };

export interface JobRequest {
  readonly id: number;
  readonly purpose: Purpose;
  readonly buffer: ArrayBuffer;
  readonly offset: number;
  readonly length: number;
  readonly maxDepth: number;
  /** Largest byte range handed back to be parsed in one go. */
  readonly partBytes: number;
}

export type JobOutcome =
  | {
      readonly ok: true;
      /** Of the value asked for; over `planBuffer` when the response has one, else over the body. */
      readonly plan: Plan;
      /** tableNamesOf the body as sent (the request log names refused requests' tables too). */
      readonly tableNames: string | undefined;
      /** For a `check` purpose whose check ran: the plan is then of the checked input. */
      readonly verdict?: { readonly valid: true } | { readonly valid: false; readonly error: ClonedError };
      /** What the operation's preparer took out of the checked input (its bodies in `preparedBuffer`). */
      readonly prepared?: PreparedWire;
    }
  | { readonly ok: false; readonly reason: 'utf8' | 'syntax' | 'depth' };

export interface JobResponse {
  readonly id: number;
  /** The body's bytes, transferred back. */
  readonly buffer: ArrayBuffer;
  readonly outcome: JobOutcome;
  /** The JSON text of a checked input, which the plan then covers (transferred). */
  readonly planBuffer?: ArrayBuffer;
  /** The bodies of the prepared items (transferred). */
  readonly preparedBuffer?: ArrayBuffer;
  /** For an invalid verdict: the answer's JSON body (its buffer transferred), and its CRC32. */
  readonly errorBody?: { readonly buffer: ArrayBuffer; readonly crc32: number };
}
