/**
 * Encryption at rest of the trail's files. Audit records hold no customer data by design, but
 * encryption-context values name tables and accounts, and sealdb keeps every byte on disk
 * encrypted, so each file is sealed with AES-256-GCM under its own key, derived from the root of
 * trust and the file's path (a swapped or renamed file no longer opens).
 *
 * Hashes and signatures in digests cover the *plaintext* CloudTrail content, so unsealing is all
 * an export needs: the exported tree verifies with the public key alone, as CloudTrail's does.
 *
 * Closed file:  magic(8) | version(1) | headerLength(4) | header JSON | iv(12) | ciphertext | tag(16)
 *               (the header is authenticated, not encrypted: it carries a digest's signature)
 * Open hour:    a sequence of frames (frames.ts), each sealed on its own under the file's key.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { RootOfTrust } from '../encryption/root-of-trust.js';

const MAGIC = Buffer.from('SEALDBCT', 'ascii');
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FILE_KEY_PURPOSE = 'sealdb/cloudtrail-files/v1';

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

/** Metadata stored beside the content, e.g. a digest's `signature` (S3 object metadata in CloudTrail). */
export type SealHeader = Readonly<Record<string, string>>;

export interface Unsealed {
  readonly header: SealHeader;
  readonly content: Buffer;
}

export class TrailCipher {
  #base: Buffer;

  constructor(root: RootOfTrust) {
    this.#base = root.deriveKey(FILE_KEY_PURPOSE);
  }

  seal(path: string, content: Buffer, header: SealHeader = {}): Buffer {
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(headerBytes.length);
    const prefix = Buffer.concat([MAGIC, Buffer.of(VERSION), length, headerBytes]);
    const iv = randomBytes(IV_BYTES);
    const body = this.#withKey(`closed|${path}`, (key) => {
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(prefix);
      return Buffer.concat([cipher.update(content), cipher.final(), cipher.getAuthTag()]);
    });
    return Buffer.concat([prefix, iv, body]);
  }

  unseal(path: string, sealed: Buffer): Unsealed {
    const fixed = MAGIC.length + 1 + 4;
    if (sealed.length < fixed + IV_BYTES + TAG_BYTES || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new SealError('not a sealed sealdb trail file');
    }
    if (sealed[MAGIC.length] !== VERSION) throw new SealError(`unknown sealed file version ${sealed[MAGIC.length]}`);
    const headerLength = sealed.readUInt32BE(MAGIC.length + 1);
    const prefixEnd = fixed + headerLength;
    if (sealed.length < prefixEnd + IV_BYTES + TAG_BYTES) throw new SealError('sealed file is truncated');
    const prefix = sealed.subarray(0, prefixEnd);
    const iv = sealed.subarray(prefixEnd, prefixEnd + IV_BYTES);
    const tag = sealed.subarray(sealed.length - TAG_BYTES);
    const body = sealed.subarray(prefixEnd + IV_BYTES, sealed.length - TAG_BYTES);
    const content = this.#withKey(`closed|${path}`, (key) => {
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(prefix);
      decipher.setAuthTag(tag);
      try {
        return Buffer.concat([decipher.update(body), decipher.final()]);
      } catch {
        throw new SealError('content does not authenticate (altered, truncated, moved, or sealed under another key)');
      }
    });
    let header: SealHeader;
    try {
      header = JSON.parse(prefix.subarray(fixed).toString('utf8')) as SealHeader;
    } catch {
      throw new SealError('sealed file header is not JSON');
    }
    return { header, content };
  }

  /** The key of the open hour file at `path` (see frames.ts); the caller zeroes it when done. */
  frameKey(path: string): Buffer {
    return this.#withKey(`open|${path}`, (key) => Buffer.from(key));
  }

  destroy(): void {
    this.#base.fill(0);
    this.#base = Buffer.alloc(0);
  }

  /** A per-file key: GCM's random-IV limit then applies per file, not to the whole trail's lifetime. */
  #withKey<T>(info: string, use: (key: Buffer) => T): T {
    if (this.#base.length === 0) throw new Error('trail cipher destroyed');
    const key = Buffer.from(hkdfSync('sha256', this.#base, Buffer.alloc(0), Buffer.from(info, 'utf8'), 32));
    try {
      return use(key);
    } finally {
      key.fill(0);
    }
  }
}
