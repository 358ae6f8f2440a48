/** Encrypting under a key's current material version and decrypting with the version a blob names. */
import { open, type ParsedCiphertext, seal } from './ciphertext.js';
import { internalError, invalidCiphertext } from './errors.js';
import type { KmsEnvironment } from './operation.js';
import type { EncryptionContext, KeyRecord } from './types.js';

export interface Sealed {
  readonly ciphertext: Buffer;
  readonly materialId: string;
}

export interface Opened {
  readonly plaintext: Buffer;
  readonly materialId: string;
}

export function encryptUnder(
  env: KmsEnvironment,
  key: KeyRecord,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
): Sealed {
  const version = key.currentVersion;
  const material = env.vault.material(key.keyId, version);
  const record = env.store.getMaterial(key.keyId, version);
  // The current version always exists while the key does; its absence is our fault, not the caller's.
  if (!material || !record) throw internalError();
  return { ciphertext: seal(material, key.keyId, version, plaintext, context), materialId: record.materialId };
}

export function decryptWith(
  env: KmsEnvironment,
  key: KeyRecord,
  parsed: ParsedCiphertext,
  context: EncryptionContext | undefined,
): Opened {
  const material = env.vault.material(key.keyId, parsed.materialVersion);
  const record = env.store.getMaterial(key.keyId, parsed.materialVersion);
  if (!material || !record) throw invalidCiphertext();
  return { plaintext: open(material, parsed, context), materialId: record.materialId };
}
