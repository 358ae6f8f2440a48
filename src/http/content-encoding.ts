/**
 * Request bodies sent with a `Content-Encoding` (the SDKs' request compression, e.g. botocore's
 * `request_min_compression_size_bytes`, smithy's requestCompression). The size limit applies to
 * the decoded bytes: decoding stops as soon as it is passed, so a tiny gzip bomb cannot make the
 * server buffer gigabytes. SigV4 signs the body as sent, so callers verify signatures over the
 * raw bytes, not over what this returns.
 */
import { promisify } from 'node:util';
import { gunzip, inflate, inflateRaw } from 'node:zlib';

export type DecodedBody =
  | { readonly ok: true; readonly body: Buffer }
  | { readonly ok: false; readonly reason: 'unsupported' | 'corrupt'; readonly coding: string }
  | { readonly ok: false; readonly reason: 'too-large' };

export const ACCEPTED_CONTENT_ENCODINGS = 'gzip, deflate';

type Decoder = (input: Buffer, limit: number) => Promise<Buffer>;

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);
const inflateRawAsync = promisify(inflateRaw);

const gzipDecoder: Decoder = (input, limit) => gunzipAsync(input, { maxOutputLength: limit });

/**
 * HTTP's `deflate` is meant to be zlib-wrapped (RFC 9110 §8.4.1.2), but some clients send raw
 * deflate; the two-byte zlib header (RFC 1950 §2.2) tells them apart.
 */
const deflateDecoder: Decoder = (input, limit) => {
  const b0 = input[0] ?? 0;
  const b1 = input[1] ?? 0;
  const zlibWrapped = input.length >= 2 && (b0 & 0x0f) === 8 && (b0 * 256 + b1) % 31 === 0;
  return (zlibWrapped ? inflateAsync : inflateRawAsync)(input, { maxOutputLength: limit });
};

const DECODERS: ReadonlyMap<string, Decoder | undefined> = new Map([
  ['gzip', gzipDecoder],
  // RFC 9110 §8.4.1.3: recipients should treat x-gzip as gzip.
  ['x-gzip', gzipDecoder],
  ['deflate', deflateDecoder],
  ['identity', undefined],
]);

/** Undoes every coding in `header` (applied in the listed order, so undone in reverse). */
export async function decodeBody(raw: Buffer, header: string, limit: number): Promise<DecodedBody> {
  const codings = header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '');
  for (const coding of codings) {
    if (!DECODERS.has(coding)) return { ok: false, reason: 'unsupported', coding };
  }
  let body = raw;
  for (let i = codings.length - 1; i >= 0; i--) {
    const coding = codings[i] as string;
    const decoder = DECODERS.get(coding);
    if (!decoder) continue;
    try {
      body = await decoder(body, limit);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') return { ok: false, reason: 'too-large' };
      return { ok: false, reason: 'corrupt', coding };
    }
  }
  return { ok: true, body };
}
