/**
 * The data key of a store that the root of trust protects directly (the table catalog, the backup
 * catalog): random in memory; on disk, kept in a 0600 key file wrapped (AES-256-GCM) by a key
 * derived from the root for `purpose`, made on first use.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { unwrapKey, wrapKey } from '../encryption/key-wrap.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { DamagedFileError } from './damage.js';
import type { DataDir } from './data-dir.js';

/** Runs `use` with the store's data key; the key and the key-encryption key are zeroed afterwards. */
export function withRootWrappedKey<T>(
  dataDir: DataDir,
  root: RootOfTrust,
  keyFile: string,
  purpose: string,
  use: (key: Buffer) => T,
): T {
  const kek = root.deriveKey(purpose);
  let key: Buffer | undefined;
  try {
    if (dataDir.inMemory) key = randomBytes(32);
    else {
      const keyPath = dataDir.file(keyFile);
      if (existsSync(keyPath)) {
        key = unwrapStored(kek, keyPath, purpose);
      } else {
        key = randomBytes(32);
        writeFileSync(keyPath, `${wrapKey(kek, key, purpose).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      }
    }
    return use(key);
  } finally {
    kek.fill(0);
    key?.fill(0);
  }
}

/**
 * The root key was already checked (root-check.json), so a key file that does not authenticate
 * under it has been changed or cut short: named, with the way back (found by the tamper part of
 * the reliability suite, which met a bare UnwrapError).
 */
function unwrapStored(kek: Buffer, keyPath: string, purpose: string): Buffer {
  try {
    const text = readFileSync(keyPath, 'utf8');
    // Node's base64 decoder skips characters outside the alphabet, and the last character before
    // the padding carries bits it drops: a changed byte (the newline included: sealdb always
    // writes it) can decode to the same bytes, so the line must be exactly the one those bytes
    // encode (tamper seed 1362375125: backups.key flip at 81 ^0xf went undetected).
    const wrapped = Buffer.from(text.trim(), 'base64');
    if (`${wrapped.toString('base64')}\n` !== text) throw new Error('not the base64 line sealdb writes');
    return unwrapKey(kek, wrapped, purpose);
  } catch (error) {
    throw new DamagedFileError(
      keyPath,
      `its wrapped key does not authenticate under the root key. Stop sealdb and restore ${keyPath} from a backup of the data directory`,
      { cause: error },
    );
  }
}
