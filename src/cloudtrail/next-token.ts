/**
 * LookupEvents pagination tokens: opaque to clients, authenticated (HMAC) so that a forged or
 * altered token is refused, and bound to the account and the request parameters, because
 * CloudTrail refuses a token "previously used in a request with different parameters".
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Where the previous page stopped: the last event returned, as (hour, index within the hour). */
export interface TrailPosition {
  readonly hour: number;
  readonly index: number;
}

const TAG_BYTES = 16;

export class NextTokenCodec {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = Buffer.from(key);
  }

  encode(position: TrailPosition, binding: string): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, h: position.hour, i: position.index }), 'utf8');
    return `${payload.toString('base64url')}.${this.#tag(payload, binding).toString('base64url')}`;
  }

  /** The position, or undefined for anything this codec did not issue for the same binding. */
  decode(token: string, binding: string): TrailPosition | undefined {
    const [body, tag, extra] = token.split('.');
    if (!body || !tag || extra !== undefined) return undefined;
    const payload = Buffer.from(body, 'base64url');
    const given = Buffer.from(tag, 'base64url');
    const expected = this.#tag(payload, binding);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const parsed = JSON.parse(payload.toString('utf8')) as { v?: unknown; h?: unknown; i?: unknown };
    if (parsed.v !== 1 || !Number.isSafeInteger(parsed.h) || !Number.isSafeInteger(parsed.i)) return undefined;
    return { hour: parsed.h as number, index: parsed.i as number };
  }

  destroy(): void {
    this.#key.fill(0);
  }

  #tag(payload: Buffer, binding: string): Buffer {
    return createHmac('sha256', this.#key)
      .update(payload)
      .update('\n')
      .update(binding, 'utf8')
      .digest()
      .subarray(0, TAG_BYTES);
  }
}
