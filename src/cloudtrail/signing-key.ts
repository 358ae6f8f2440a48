/**
 * The installation's digest signing key: RSA-2048, SHA256withRSA as CloudTrail signs digests.
 * The private key is kept wrapped under a key derived from the root of trust; the public key is
 * exported as PEM beside the trail so that digests can be checked by anyone holding it.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unwrapKey, wrapKey } from '../encryption/key-wrap.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { writeFileDurably } from './durable-fs.js';

export const SIGNATURE_ALGORITHM = 'SHA256withRSA';
export const PUBLIC_KEY_FILE = 'public-key.pem';
export const PRIVATE_KEY_FILE = 'signing-key.json';
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

const RESTORE_SIGNING_KEY =
  'Restore signing-key.json from a backup of this data directory (it is sealed under the root key: only its own copy works). ' +
  'If there is no backup: keep a copy of public-key.pem (it still verifies the digests made so far: ' +
  'sealdb audit verify --public-key <copy>), then move signing-key.json and public-key.pem out of the trail folder; ' +
  'the next start makes a new signing key, which signs the digests from then on.';

/** The sealed signing key cannot be used: not what sealdb wrote, or not the key its trail was signed with. */
export class SigningKeyError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`the audit trail's signing key ${file} ${problem}. sealdb changed nothing. ${RESTORE_SIGNING_KEY}`);
    this.name = 'SigningKeyError';
  }
}

/** A public key file that does not hold an RSA public key (the raw parser error says nothing useful). */
export class PublicKeyFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    remedy: string,
  ) {
    super(`the trail's public key file ${file} ${problem}. ${remedy}`);
    this.name = 'PublicKeyFileError';
  }
}

/** Reads a PEM public key file, naming the file when it is not one (ENOENT is left to the caller). */
export async function readPublicKeyFile(file: string, remedy: string): Promise<KeyObject> {
  const pem = await readFile(file, 'utf8');
  if (pem.trim() === '') throw new PublicKeyFileError(file, 'is empty', remedy);
  if (!pem.includes('-----BEGIN PUBLIC KEY-----') || !pem.includes('-----END PUBLIC KEY-----')) {
    throw new PublicKeyFileError(file, 'is not a PEM public key (truncated or overwritten)', remedy);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw new PublicKeyFileError(file, 'is damaged: its PEM does not decode to a public key', remedy);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new PublicKeyFileError(file, `holds an ${key.asymmetricKeyType} key, not the trail's RSA key`, remedy);
  }
  return key;
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

  /**
   * The key kept in `trailDir`, unsealed and checked (fingerprint, a signature that verifies), or
   * undefined if the trail has none yet. Reads only. Throws `SigningKeyError` when it is unusable.
   */
  static async open(trailDir: string, root: RootOfTrust): Promise<DigestSigner | undefined> {
    const file = join(trailDir, PRIVATE_KEY_FILE);
    const stored = await readStored(file);
    if (!stored) {
      // Both are written together, so a public key alone means the signing key was lost.
      if (await exists(join(trailDir, PUBLIC_KEY_FILE))) {
        throw new SigningKeyError(
          file,
          `is missing, but the trail has a public key (${PUBLIC_KEY_FILE}): its digests were signed with it`,
        );
      }
      return undefined;
    }
    return DigestSigner.unseal(stored, root, file);
  }

  /**
   * A signing key kept elsewhere than a trail folder (engine storage keeps it in the engine, for
   * every node): its stored JSON, unsealed and checked as `open` checks the file's. `label` names
   * where it was read from in errors.
   */
  static fromStored(text: string, root: RootOfTrust, label: string): DigestSigner {
    return DigestSigner.unseal(parseStored(label, text), root, label);
  }

  /** A new signing key and the JSON to keep it in (its private key sealed under the root of trust). */
  static generate(root: RootOfTrust, now: number): { readonly signer: DigestSigner; readonly stored: string } {
    const kek = root.deriveKey(WRAP_PURPOSE);
    try {
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
        return { signer, stored: `${JSON.stringify(record, null, 2)}\n` };
      } finally {
        der.fill(0);
      }
    } finally {
      kek.fill(0);
    }
  }

  private static unseal(stored: StoredSigningKey, root: RootOfTrust, file: string): DigestSigner {
    const kek = root.deriveKey(WRAP_PURPOSE);
    let der: Buffer;
    try {
      der = unwrapKey(kek, Buffer.from(stored.wrappedPrivateKey, 'base64'), aad(stored.fingerprint));
    } catch {
      throw new SigningKeyError(file, 'is damaged: its sealed private key does not authenticate (a byte was changed)');
    } finally {
      kek.fill(0);
    }
    try {
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      } catch {
        throw new SigningKeyError(file, 'is damaged: its private key does not decode');
      }
      if (privateKey.asymmetricKeyType !== 'rsa') {
        throw new SigningKeyError(file, `holds an ${privateKey.asymmetricKeyType} key, not an RSA key`);
      }
      const signer = new DigestSigner(privateKey, Date.parse(stored.createdAt));
      if (signer.fingerprint !== stored.fingerprint) {
        throw new SigningKeyError(file, 'is damaged: its key does not match its fingerprint');
      }
      // Whatever the checks above missed, a digest it signs must verify.
      const probe = 'sealdb signing key check';
      if (!verify('sha256', Buffer.from(probe), signer.publicKey, Buffer.from(signer.sign(probe), 'hex'))) {
        throw new SigningKeyError(file, 'is damaged: a signature it makes does not verify');
      }
      return signer;
    } finally {
      der.fill(0);
    }
  }

  /** Loads the key kept in `trailDir`, or creates (and durably stores) one on first use. */
  static async loadOrCreate(
    trailDir: string,
    root: RootOfTrust,
    now: number,
    onRestored?: (message: string) => void,
  ): Promise<DigestSigner> {
    const existing = await DigestSigner.open(trailDir, root);
    if (existing) {
      await existing.exportPublicKey(trailDir, onRestored);
      return existing;
    }
    const { signer, stored } = DigestSigner.generate(root, now);
    await writeFileDurably(join(trailDir, PRIVATE_KEY_FILE), Buffer.from(stored));
    await signer.exportPublicKey(trailDir);
    return signer;
  }

  /**
   * Rewritten when missing or different, so the exported key always matches the signing key; an
   * existing file that differed (damaged or replaced) is reported through `onRestored`.
   */
  async exportPublicKey(trailDir: string, onRestored?: (message: string) => void): Promise<void> {
    const path = join(trailDir, PUBLIC_KEY_FILE);
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === this.publicKeyPem) return;
    // 0600 like every file in the data directory; `audit export` writes its shareable copy 0644.
    await writeFileDurably(path, Buffer.from(this.publicKeyPem));
    onRestored?.(
      current === undefined
        ? `the trail's public key file ${path} was missing; rewrote it from the signing key`
        : `the trail's public key file ${path} did not hold the signing key's public key (damaged or replaced); ` +
            'rewrote it from the signing key. If it was replaced on purpose, sealdb audit verify reports any digest signed with another key',
    );
  }
}

const aad = (fingerprint: string): string => `${WRAP_PURPOSE}|${fingerprint}`;

async function exists(path: string): Promise<boolean> {
  return readFile(path).then(
    () => true,
    () => false,
  );
}

async function readStored(path: string): Promise<StoredSigningKey | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parseStored(path, text);
}

function parseStored(path: string, text: string): StoredSigningKey {
  if (text.trim() === '') throw new SigningKeyError(path, 'is empty');
  let parsed: Partial<StoredSigningKey>;
  try {
    parsed = JSON.parse(text) as Partial<StoredSigningKey>;
  } catch {
    throw new SigningKeyError(path, 'is damaged: it is not valid JSON (truncated or overwritten)');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SigningKeyError(path, 'is damaged: it is not a JSON object');
  }
  if (parsed.version !== 1)
    throw new SigningKeyError(path, `is damaged: its version is ${JSON.stringify(parsed.version)}, not 1`);
  for (const field of ['fingerprint', 'createdAt', 'wrappedPrivateKey'] as const) {
    if (typeof parsed[field] !== 'string') throw new SigningKeyError(path, `is damaged: it has no ${field}`);
  }
  if (Number.isNaN(Date.parse(parsed.createdAt as string))) {
    throw new SigningKeyError(path, 'is damaged: its createdAt is not a time');
  }
  // Whitespace, and the bits base64 drops from the last character before its padding, change no
  // parsed value: only the exact text `generate` wrote is the key sealdb made.
  const record = parsed as StoredSigningKey;
  const written: StoredSigningKey = {
    version: 1,
    fingerprint: record.fingerprint,
    createdAt: record.createdAt,
    wrappedPrivateKey: Buffer.from(record.wrappedPrivateKey, 'base64').toString('base64'),
  };
  if (`${JSON.stringify(written, null, 2)}\n` !== text) {
    throw new SigningKeyError(path, 'is damaged: it is not the text sealdb wrote (a byte was changed)');
  }
  return record;
}
