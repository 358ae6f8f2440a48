/**
 * The installation's digest signing key: RSA-2048, SHA256withRSA as CloudTrail signs digests.
 * The private key is kept wrapped under a key derived from the root of trust; the public key is
 * exported as PEM beside the trail so that digests can be checked by anyone holding it.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unwrapKey, wrapKey } from '../encryption/key-wrap.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { writeFileDurably } from './durable-fs.js';

export const SIGNATURE_ALGORITHM = 'SHA256withRSA';
export const PUBLIC_KEY_FILE = 'public-key.pem';
const PRIVATE_KEY_FILE = 'signing-key.json';
const WRAP_PURPOSE = 'sealdb/cloudtrail-signing-key/v1';

interface StoredSigningKey {
  version: 1;
  fingerprint: string;
  createdAt: string;
  /** PKCS#8 DER, wrapped with AES-256-GCM (see key-wrap.ts), base64. */
  wrappedPrivateKey: string;
}

/** CloudTrail's public key fingerprint: hex MD5 of the PKCS#1 DER encoding of the RSA public key. */
export function publicKeyFingerprint(publicKey: KeyObject): string {
  return createHash('md5')
    .update(publicKey.export({ type: 'pkcs1', format: 'der' }))
    .digest('hex');
}

export function loadPublicKey(pem: string): KeyObject {
  return createPublicKey(pem);
}

export class DigestSigner {
  readonly #privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly fingerprint: string;
  /** Epoch milliseconds (service clock) when the key was made. */
  readonly createdAt: number;

  private constructor(privateKey: KeyObject, createdAt: number) {
    this.#privateKey = privateKey;
    this.createdAt = createdAt;
    this.publicKey = createPublicKey(privateKey);
    this.fingerprint = publicKeyFingerprint(this.publicKey);
  }

  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /** CloudTrail's `ListPublicKeys` `Value`: the DER-encoded PKCS#1 RSA public key. */
  get publicKeyDer(): Buffer {
    return this.publicKey.export({ type: 'pkcs1', format: 'der' });
  }

  /** Hex SHA256withRSA signature of the UTF-8 signing string. */
  sign(signingString: string): string {
    return sign('sha256', Buffer.from(signingString, 'utf8'), this.#privateKey).toString('hex');
  }

  /** Loads the key kept in `trailDir`, or creates (and durably stores) one on first use. */
  static async loadOrCreate(trailDir: string, root: RootOfTrust, now: number): Promise<DigestSigner> {
    const kek = root.deriveKey(WRAP_PURPOSE);
    try {
      const stored = await readStored(join(trailDir, PRIVATE_KEY_FILE));
      if (stored) {
        const der = unwrapKey(kek, Buffer.from(stored.wrappedPrivateKey, 'base64'), aad(stored.fingerprint));
        try {
          const signer = new DigestSigner(
            createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }),
            Date.parse(stored.createdAt),
          );
          if (signer.fingerprint !== stored.fingerprint)
            throw new Error('the stored signing key does not match its fingerprint');
          await signer.#exportPublicKey(trailDir);
          return signer;
        } finally {
          der.fill(0);
        }
      }
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
      const signer = new DigestSigner(privateKey, now);
      const der = privateKey.export({ type: 'pkcs8', format: 'der' });
      try {
        const record: StoredSigningKey = {
          version: 1,
          fingerprint: signer.fingerprint,
          createdAt: new Date(now).toISOString(),
          wrappedPrivateKey: wrapKey(kek, der, aad(signer.fingerprint)).toString('base64'),
        };
        await writeFileDurably(join(trailDir, PRIVATE_KEY_FILE), Buffer.from(`${JSON.stringify(record, null, 2)}\n`));
      } finally {
        der.fill(0);
      }
      await signer.#exportPublicKey(trailDir);
      return signer;
    } finally {
      kek.fill(0);
    }
  }

  /** Rewritten when missing or different, so the exported key always matches the signing key. */
  async #exportPublicKey(trailDir: string): Promise<void> {
    const path = join(trailDir, PUBLIC_KEY_FILE);
    const current = await readFile(path, 'utf8').catch(() => undefined);
    // 0600 like every file in the data directory; `audit export` writes its shareable copy 0644.
    if (current !== this.publicKeyPem) await writeFileDurably(path, Buffer.from(this.publicKeyPem));
  }
}

const aad = (fingerprint: string): string => `${WRAP_PURPOSE}|${fingerprint}`;

async function readStored(path: string): Promise<StoredSigningKey | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as StoredSigningKey;
  if (parsed.version !== 1 || typeof parsed.wrappedPrivateKey !== 'string' || typeof parsed.fingerprint !== 'string') {
    throw new Error(`${path} is not a sealdb signing key`);
  }
  return parsed;
}
