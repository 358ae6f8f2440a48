/**
 * The envelope sealdb writes each exported file in when the export asks for
 * `S3SseAlgorithm: KMS`: the file's bytes (exactly what an unsealed export would hold, e.g. the
 * gzip of the data lines) encrypted with AES-256-GCM under a data key from KMS GenerateDataKey,
 * with the encryption context S3 uses for SSE-KMS objects (`aws:s3:arn` = the object's ARN).
 *
 *   offset 0   8 bytes   magic "SDBXSEAL"
 *          8   1 byte    format version (1)
 *          9   4 bytes   header length N, unsigned big-endian
 *         13   N bytes   header, UTF-8 JSON: {"alg":"AES-256-GCM","keyId":<KMS key ARN>,
 *                        "encryptionContext":{...},"encryptedDataKey":<base64>,"iv":<base64, 12 bytes>}
 *     13 + N   …         ciphertext
 *   last 16    16 bytes  GCM authentication tag
 *
 * The first 13 + N bytes are the GCM additional data, so the header cannot be changed either.
 * `sealdb export open <file>` (and ImportTable) decrypt it with one KMS Decrypt of
 * encryptedDataKey under encryptionContext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const ENVELOPE_MAGIC = Buffer.from('SDBXSEAL', 'ascii');
const VERSION = 1;
const TAG_BYTES = 16;
const PREFIX_BYTES = ENVELOPE_MAGIC.length + 1 + 4;

export interface EnvelopeHeader {
  readonly alg: 'AES-256-GCM';
  readonly keyId: string;
  readonly encryptionContext: Record<string, string>;
  readonly encryptedDataKey: string;
  readonly iv: string;
}

export const isSealed = (data: Uint8Array): boolean =>
  data.length >= PREFIX_BYTES && Buffer.from(data.buffer, data.byteOffset, 8).equals(ENVELOPE_MAGIC);

/** Seals `plaintext` with `dataKey` (32 bytes; the caller zeroes it). */
export function seal(plaintext: Buffer, dataKey: Buffer, header: Omit<EnvelopeHeader, 'alg' | 'iv'>): Buffer {
  const iv = randomBytes(12);
  const full: EnvelopeHeader = { alg: 'AES-256-GCM', ...header, iv: iv.toString('base64') };
  const headerBytes = Buffer.from(JSON.stringify(full), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  ENVELOPE_MAGIC.copy(prefix, 0);
  prefix.writeUInt8(VERSION, 8);
  prefix.writeUInt32BE(headerBytes.length, 9);
  const aad = Buffer.concat([prefix, headerBytes]);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([aad, body, cipher.getAuthTag()]);
}

export class EnvelopeError extends Error {}

/** The header of a sealed file (not yet authenticated: that happens in `open`). */
export function envelopeHeader(data: Buffer): { header: EnvelopeHeader; aadLength: number } {
  if (!isSealed(data)) throw new EnvelopeError('not a sealdb export envelope (no SDBXSEAL magic)');
  const version = data.readUInt8(8);
  if (version !== VERSION) throw new EnvelopeError(`unknown envelope version ${version}`);
  const length = data.readUInt32BE(9);
  if (PREFIX_BYTES + length + TAG_BYTES > data.length) throw new EnvelopeError('the envelope is cut short');
  let header: EnvelopeHeader;
  try {
    header = JSON.parse(data.subarray(PREFIX_BYTES, PREFIX_BYTES + length).toString('utf8')) as EnvelopeHeader;
  } catch {
    throw new EnvelopeError('the envelope header is not JSON');
  }
  if (header.alg !== 'AES-256-GCM' || typeof header.encryptedDataKey !== 'string' || typeof header.iv !== 'string') {
    throw new EnvelopeError('the envelope header is not one sealdb writes');
  }
  return { header, aadLength: PREFIX_BYTES + length };
}

/** Opens a sealed file with its data key (from KMS Decrypt of header.encryptedDataKey). */
export function open(data: Buffer, dataKey: Buffer): Buffer {
  const { header, aadLength } = envelopeHeader(data);
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(header.iv, 'base64'));
  decipher.setAAD(data.subarray(0, aadLength));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(aadLength, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new EnvelopeError('the sealed file does not authenticate (damaged, or another key)');
  }
}
