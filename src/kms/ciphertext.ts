/**
 * sealdb's KMS ciphertext blob (design.md §3). Integers are big-endian:
 *
 *   offset  size  field
 *   0       1     format version (1)
 *   1       16    key id (UUID bytes), so Decrypt finds the key without a KeyId
 *   17      4     key material version, so old ciphertexts decrypt after rotation
 *   21      12    random IV
 *   33      n     AES-256-GCM ciphertext
 *   33+n    16    GCM tag
 *
 * AAD = the 33 header bytes followed by the canonical encryption context, so a changed header,
 * a missing, extra or changed context pair, or any flipped byte fails authentication.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { invalidCiphertext } from './errors.js';
import { bytesToUuid, uuidToBytes } from './key-ids.js';
import type { EncryptionContext } from './types.js';

const FORMAT_VERSION = 1;
const KEY_ID_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + KEY_ID_BYTES + 4 + IV_BYTES;

export interface CiphertextHeader {
  readonly keyId: string;
  readonly materialVersion: number;
}

export interface ParsedCiphertext extends CiphertextHeader {
  readonly header: Buffer;
  readonly body: Buffer;
  readonly tag: Buffer;
}

/**
 * Length-prefixed pairs sorted by the UTF-8 bytes of their keys: pair order does not matter,
 * and no choice of keys and values can make two different contexts encode alike.
 */
export function canonicalEncryptionContext(context: EncryptionContext | undefined): Buffer {
  const pairs = Object.entries(context ?? {}).map(
    ([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const,
  );
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u32(pairs.length)];
  for (const [k, v] of pairs) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

export function seal(
  material: Buffer,
  keyId: string,
  materialVersion: number,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
): Buffer {
  const header = Buffer.concat([
    Buffer.of(FORMAT_VERSION),
    uuidToBytes(keyId),
    u32(materialVersion),
    randomBytes(IV_BYTES),
  ]);
  const cipher = createCipheriv('aes-256-gcm', material, header.subarray(HEADER_BYTES - IV_BYTES));
  cipher.setAAD(Buffer.concat([header, canonicalEncryptionContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

/** Reads the clear header; anything that is not one of our blobs is an InvalidCiphertextException. */
export function parseCiphertext(blob: Buffer): ParsedCiphertext {
  if (blob.length < HEADER_BYTES + TAG_BYTES || blob[0] !== FORMAT_VERSION) throw invalidCiphertext();
  return {
    keyId: bytesToUuid(blob.subarray(1, 1 + KEY_ID_BYTES)),
    materialVersion: blob.readUInt32BE(1 + KEY_ID_BYTES),
    header: blob.subarray(0, HEADER_BYTES),
    body: blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES),
    tag: blob.subarray(blob.length - TAG_BYTES),
  };
}

export function open(material: Buffer, parsed: ParsedCiphertext, context: EncryptionContext | undefined): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', material, parsed.header.subarray(HEADER_BYTES - IV_BYTES));
  decipher.setAAD(Buffer.concat([parsed.header, canonicalEncryptionContext(context)]));
  decipher.setAuthTag(parsed.tag);
  const plaintext = decipher.update(parsed.body);
  try {
    decipher.final();
  } catch {
    // Unauthenticated output must not outlive the failed check.
    plaintext.fill(0);
    throw invalidCiphertext();
  }
  return plaintext;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}
