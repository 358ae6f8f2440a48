/**
 * AES-256-GCM key wrapping: `version(1) | iv(12) | ciphertext | tag(16)`, with
 * caller-supplied additional authenticated data binding the wrapped key to its use.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class UnwrapError extends Error {
  constructor() {
    super('wrapped key does not authenticate under this key and context');
    this.name = 'UnwrapError';
  }
}

export function wrapKey(kek: Buffer, plaintextKey: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintextKey), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]);
}

export function unwrapKey(kek: Buffer, wrapped: Buffer, aad: string): Buffer {
  if (wrapped.length < 1 + IV_BYTES + TAG_BYTES || wrapped[0] !== VERSION) throw new UnwrapError();
  const iv = wrapped.subarray(1, 1 + IV_BYTES);
  const tag = wrapped.subarray(wrapped.length - TAG_BYTES);
  const body = wrapped.subarray(1 + IV_BYTES, wrapped.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', kek, iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new UnwrapError();
  }
}
