/**
 * The root of trust: a 256-bit key from a 0600 key file kept outside the data directory, a
 * passphrase stretched with scrypt, or a non-extractable AES-256 key inside a PKCS#11 token.
 *
 * Every other key sealdb keeps at rest is wrapped, directly or indirectly, by keys derived (HKDF)
 * from one 256-bit master key. In a data directory of version 1 (made with a key file or a
 * passphrase) the master key is the root key itself. In version 2 (made with a PKCS#11 root, or
 * after a root rotation) the master key is sealed in `root-check.json` by the root (AES-256-GCM,
 * in the token for PKCS#11), so changing the root re-wraps that one key and nothing else.
 */
import { createHash, createHmac, hkdfSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { syncDirectorySync, writeFileSyncedSync } from '../storage/synced-files.js';
import { UnwrapError, unwrapKey, wrapKey } from './key-wrap.js';
import { Pkcs11Root, type Pkcs11Spec } from './pkcs11-root.js';

export type RootKeySource =
  | { readonly kind: 'key-file'; readonly path: string }
  | { readonly kind: 'passphrase'; readonly passphrase: string }
  /** The PIN comes from the environment (SEALDB_PKCS11_PIN), never a flag. */
  | { readonly kind: 'pkcs11'; readonly spec: Pkcs11Spec; readonly pin: string | undefined }
  /** For --in-memory: a key that lives only as long as the process. */
  | { readonly kind: 'ephemeral' };

export type RootKind = 'key-file' | 'passphrase' | 'pkcs11';

export const CHECK_FILE = 'root-check.json';
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export class RootKeyMismatchError extends Error {
  constructor(dataDir: string, madeWith?: RootKind, given?: RootKind) {
    const kinds =
      madeWith !== undefined && given !== undefined && madeWith !== given
        ? ` Its root is a ${KIND_NAMES[madeWith]}, not a ${KIND_NAMES[given]}.`
        : '';
    super(
      `The root key does not match the one the data directory ${dataDir} was created with.${kinds} ` +
        'Start sealdb with the root it was made with (or last rotated to); nothing in the data directory was read or changed.',
    );
    this.name = 'RootKeyMismatchError';
  }
}

const KIND_NAMES: Record<RootKind, string> = {
  'key-file': 'root key file (--root-key-file)',
  passphrase: `root passphrase (SEALDB_ROOT_PASSPHRASE)`,
  pkcs11: 'PKCS#11 key (--root-pkcs11)',
};

/**
 * The key file is missing but the data directory already holds data made with a root key: a new
 * key could never read it, so none is created.
 */
export class RootKeyMissingError extends Error {
  constructor(keyFile: string, dataDir: string, madeWith: CheckRecord['kind'] | undefined) {
    const remedy =
      madeWith === 'passphrase'
        ? 'It was made with a root passphrase: set SEALDB_ROOT_PASSPHRASE to that passphrase.'
        : 'Start sealdb with the root key file it was made with (--root-key-file or SEALDB_ROOT_KEY_FILE), restored from your backup if need be.';
    super(
      `The root key file ${keyFile} does not exist, but the data directory ${resolve(dataDir)} already holds sealdb data, ` +
        `created with another root key. sealdb did not create a new key and changed nothing. ${remedy} ` +
        'To start afresh with a new root key instead, use a new data directory (--data-dir).',
    );
    this.name = 'RootKeyMissingError';
  }
}

/**
 * `root-check.json` is not what sealdb wrote: truncated, not JSON, fields missing or a byte
 * changed (its checksum catches the last; files written before the checksum only the others).
 */
export class RootCheckDamagedError extends Error {
  constructor(file: string, problem: string, kind: CheckRecord['kind'] | undefined, sealsMasterKey = false) {
    const restore = 'Restore it from a backup of the data directory.';
    const keyFile =
      'It holds only a check value of the root key file: if you are sure the root key file is the right one, ' +
      'you may instead delete it, and the next start writes it anew.';
    const passphrase =
      'It holds the salt of the root passphrase, without which the data cannot be read: only a backup restores it.';
    const sealed =
      "It holds the data directory's master key, sealed by the root, without which the data cannot be read: only a backup restores it.";
    const remedy = sealsMasterKey
      ? `${restore} ${sealed}`
      : kind === 'key-file'
        ? `${restore} ${keyFile}`
        : kind === 'passphrase'
          ? `${restore} ${passphrase}`
          : `${restore} If the data directory was made with a root key file (not a passphrase): ${keyFile} With a passphrase: ${passphrase}`;
    super(
      `the root key check file ${file} is damaged (${problem}). sealdb read no data and changed nothing. ${remedy}`,
    );
    this.name = 'RootCheckDamagedError';
  }
}

/** Files whose presence means the data directory was already used by sealdb. */
const DATA_MARKERS = [CHECK_FILE, 'catalog.db', 'catalog.key', 'kms'];

export interface CheckRecord {
  /** 1: the master key is the root key; 2: the master key is sealed here by the root. */
  version: 1 | 2;
  kind: RootKind;
  scryptSalt?: string;
  /** Version 2: the master key sealed by the root (base64). */
  wrappedMasterKey?: string;
  /** Version 2, PKCS#11: which token and key (the module path may differ between machines). */
  pkcs11?: { token: string; keyLabel: string };
  /** The last root rotation; `audited` turns true once its record is in the audit trail. */
  rotation?: RootRotationRecord;
  /** HMAC of a key derived from the master key: tells a wrong root before any data is read. */
  check: string;
  /** SHA-256 (hex) of the record without it, to tell a damaged file from a wrong key. */
  sha256?: string;
}

export interface RootRotationRecord {
  id: string;
  /** ISO time of the switch. */
  at: string;
  from: RootKind;
  to: RootKind;
  /** The account and region whose trail gets the record. */
  account: string;
  region: string;
  audited: boolean;
}

const masterAad = (kind: RootKind): string => `sealdb-master-key-v2|${kind}`;

export class RootOfTrust {
  #key: Buffer;
  /** The key file this start created (so the operator can be told to back it up), if any. */
  readonly createdKeyFile: string | undefined;
  private constructor(key: Buffer, createdKeyFile?: string) {
    this.#key = key;
    this.createdKeyFile = createdKeyFile;
  }

  /**
   * Loads (or on first start creates) the root key for `dataDir` and checks it against the
   * record the data directory was created with, before any data file is opened.
   */
  static open(source: RootKeySource, dataDir: string | undefined): RootOfTrust {
    if (source.kind === 'ephemeral' || dataDir === undefined) return new RootOfTrust(randomBytes(32));
    const checkPath = join(dataDir, CHECK_FILE);
    const existing = existsSync(checkPath) ? readCheckRecord(checkPath) : undefined;
    if (source.kind === 'key-file' && existing?.kind !== 'pkcs11') {
      const file = resolve(source.path);
      if (!existsSync(file) && (existing || DATA_MARKERS.some((name) => existsSync(join(dataDir, name))))) {
        throw new RootKeyMissingError(file, dataDir, existing?.kind);
      }
    }
    if (existing && existing.kind !== source.kind) {
      throw new RootKeyMismatchError(dataDir, existing.kind, source.kind);
    }
    if (source.kind === 'pkcs11' && !existing && DATA_MARKERS.some((name) => existsSync(join(dataDir, name)))) {
      throw new RootKeyMismatchError(dataDir, undefined, 'pkcs11');
    }
    const opened = openRootKey(source, dataDir, existing?.scryptSalt);
    try {
      let master: Buffer;
      if (existing?.version === 2) {
        master = opened.unwrap(
          Buffer.from(existing.wrappedMasterKey ?? '', 'base64'),
          masterAad(existing.kind),
          dataDir,
        );
      } else if (existing || source.kind !== 'pkcs11') {
        master = opened.rawKey(dataDir);
      } else {
        master = randomBytes(32);
      }
      const root = new RootOfTrust(master, opened.createdKeyFile);
      const check = root.#checkValue();
      if (existing) {
        const expected = Buffer.from(existing.check, 'base64');
        if (expected.length !== check.length || !timingSafeEqual(expected, check)) {
          root.destroy();
          throw new RootKeyMismatchError(dataDir);
        }
      } else {
        mkdirSync(dataDir, { recursive: true, mode: 0o700 });
        const record: CheckRecord =
          source.kind === 'pkcs11'
            ? {
                version: 2,
                kind: 'pkcs11',
                wrappedMasterKey: opened.wrap(master, masterAad('pkcs11')).toString('base64'),
                pkcs11: { token: source.spec.token, keyLabel: source.spec.keyLabel },
                check: check.toString('base64'),
              }
            : {
                version: 1,
                kind: source.kind,
                ...(opened.salt ? { scryptSalt: opened.salt.toString('base64') } : {}),
                check: check.toString('base64'),
              };
        writeCheckRecord(checkPath, sealRecord(record));
      }
      return root;
    } finally {
      opened.close();
    }
  }

  /** The master key, for a root rotation to seal under the new root. The caller zeroes the copy. */
  masterKeyCopy(): Buffer {
    if (this.#key.length === 0) throw new Error('root of trust destroyed');
    return Buffer.from(this.#key);
  }

  /** A purpose-bound subkey (HKDF-SHA256). The caller owns and zeroes the returned buffer. */
  deriveKey(purpose: string): Buffer {
    if (this.#key.length === 0) throw new Error('root of trust destroyed');
    return Buffer.from(hkdfSync('sha256', this.#key, Buffer.from('sealdb-root-v1'), Buffer.from(purpose), 32));
  }

  destroy(): void {
    this.#key.fill(0);
    this.#key = Buffer.alloc(0);
  }

  #checkValue(): Buffer {
    const k = this.deriveKey('sealdb/root-check');
    try {
      return createHmac('sha256', k).update('sealdb root key check').digest();
    } finally {
      k.fill(0);
    }
  }
}

/**
 * A root key ready to seal or open the master key: the key bytes (key file, passphrase) or an
 * open session on the token (PKCS#11). `close` zeroes or logs out.
 */
export interface OpenedRootKey {
  readonly kind: RootKind;
  readonly createdKeyFile: string | undefined;
  /** Passphrase: the scrypt salt used. */
  readonly salt: Buffer | undefined;
  /** Version 1: the root key is the master key (a copy the caller owns). */
  rawKey(dataDir: string): Buffer;
  wrap(master: Buffer, aad: string): Buffer;
  /** Throws RootKeyMismatchError (or a Pkcs11RootError naming the key) when it does not open. */
  unwrap(wrapped: Buffer, aad: string, dataDir: string): Buffer;
  close(): void;
}

/** Opens (creating a missing key file) the root key of `source`; `salt` for a passphrase seen before. */
export function openRootKey(
  source: Exclude<RootKeySource, { kind: 'ephemeral' }>,
  dataDir: string,
  salt?: string,
): OpenedRootKey {
  if (source.kind === 'pkcs11') {
    const token = Pkcs11Root.open(source.spec, source.pin);
    return {
      kind: 'pkcs11',
      createdKeyFile: undefined,
      salt: undefined,
      rawKey: () => {
        throw new Error('a PKCS#11 root key never leaves the token');
      },
      wrap: (master, aad) => token.wrap(master, aad),
      unwrap: (wrapped, aad) => token.unwrap(wrapped, aad),
      close: () => token.close(),
    };
  }
  let key: Buffer;
  let created: string | undefined;
  let usedSalt: Buffer | undefined;
  if (source.kind === 'key-file') {
    ({ key, created } = loadOrCreateKeyFile(resolve(source.path), dataDir));
  } else {
    usedSalt = salt ? Buffer.from(salt, 'base64') : randomBytes(16);
    key = scryptSync(source.passphrase, usedSalt, 32, SCRYPT);
  }
  return {
    kind: source.kind,
    createdKeyFile: created,
    salt: usedSalt,
    rawKey: () => Buffer.from(key),
    wrap: (master, aad) => wrapKey(key, master, aad),
    unwrap: (wrapped, aad, dir) => {
      try {
        return unwrapKey(key, wrapped, aad);
      } catch (error) {
        if (error instanceof UnwrapError) throw new RootKeyMismatchError(dir);
        throw error;
      }
    },
    close: () => key.fill(0),
  };
}

export function defaultRootKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || '.', '.config');
  return join(base, 'sealdb', 'root.key');
}

function loadOrCreateKeyFile(file: string, dataDir: string): { key: Buffer; created?: string } {
  if (file.startsWith(`${resolve(dataDir)}/`)) {
    throw new Error(`the root key file must live outside the data directory (${file})`);
  }
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const key = randomBytes(32);
    writeFileSync(file, key, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return { key, created: file };
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`the root key file ${file} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  const key = readFileSync(file);
  if (key.length !== 32) throw new Error(`the root key file ${file} must hold exactly 32 bytes`);
  return { key };
}

const checkSum = ({ sha256: _, ...record }: CheckRecord): string =>
  createHash('sha256').update(JSON.stringify(record)).digest('hex');

export const sealRecord = (record: CheckRecord): CheckRecord => ({ ...record, sha256: checkSum(record) });

const isBase64Of = (value: unknown, bytes: number): boolean =>
  typeof value === 'string' &&
  /^[A-Za-z0-9+/]*={0,2}$/.test(value) &&
  Buffer.from(value, 'base64').length === bytes &&
  Buffer.from(value, 'base64').toString('base64') === value;

/** The members a record may have (an unknown one, e.g. a renamed `sha256`, would slip past the checksum). */
const RECORD_MEMBERS = new Set([
  'version',
  'kind',
  'scryptSalt',
  'wrappedMasterKey',
  'pkcs11',
  'rotation',
  'check',
  'sha256',
]);

export function readCheckRecord(file: string): CheckRecord {
  const bytes = readFileSync(file);
  const text = bytes.toString('utf8');
  // What the damaged file still says it was made with chooses the advice.
  const kindHint = /"kind"\s*:\s*"(key-file|passphrase|pkcs11)"/.exec(text)?.[1] as CheckRecord['kind'] | undefined;
  const sealsMasterKey = kindHint === 'pkcs11' || /"version"\s*:\s*2/.test(text) || text.includes('wrappedMasterKey');
  const damaged = (problem: string) => new RootCheckDamagedError(file, problem, kindHint, sealsMasterKey);
  if (text.trim() === '') throw damaged('it is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw damaged('it is not valid JSON: truncated or overwritten');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw damaged('it is not a JSON object');
  const record = parsed as Partial<CheckRecord>;
  const unknown = Object.keys(record).find((name) => !RECORD_MEMBERS.has(name));
  if (unknown !== undefined) throw damaged(`it has a member sealdb never writes (${JSON.stringify(unknown)})`);
  if (record.version !== 1 && record.version !== 2) {
    throw damaged(`version is ${JSON.stringify(record.version)}, not 1 or 2`);
  }
  if (record.version === 1 && record.kind !== 'key-file' && record.kind !== 'passphrase') {
    throw damaged(`kind is ${JSON.stringify(record.kind)}, not "key-file" or "passphrase"`);
  }
  if (record.version === 2 && record.kind !== 'key-file' && record.kind !== 'passphrase' && record.kind !== 'pkcs11') {
    throw damaged(`kind is ${JSON.stringify(record.kind)}, not "key-file", "passphrase" or "pkcs11"`);
  }
  if (!isBase64Of(record.check, 32)) throw damaged('check is not a base64 32-byte value');
  if (record.kind === 'passphrase' && !isBase64Of(record.scryptSalt, 16)) {
    throw damaged('scryptSalt is not a base64 16-byte value');
  }
  if (record.version === 2 && (typeof record.wrappedMasterKey !== 'string' || record.wrappedMasterKey.length < 40)) {
    throw damaged('wrappedMasterKey is missing');
  }
  if (record.sha256 !== undefined && record.sha256 !== checkSum(record as CheckRecord)) {
    throw damaged('its SHA-256 does not match its content: a byte was changed');
  }
  // The checksum covers the fields, not the text around them (whitespace, escapes): the file must
  // also be exactly what writeCheckRecord writes of them, so that no byte of it can change unseen.
  // Compared as bytes: bytes that are not UTF-8 decode to U+FFFD, which would re-serialise alike.
  if (!bytes.equals(Buffer.from(checkRecordText(record as CheckRecord), 'utf8'))) {
    throw damaged('its text is not in the form sealdb writes (a byte outside the values was changed)');
  }
  return record as CheckRecord;
}

/** The one text sealdb writes for a record (readCheckRecord refuses any other). */
const checkRecordText = (record: CheckRecord): string => `${JSON.stringify(record, null, 2)}\n`;

/**
 * Complete or absent after a crash: written under a temporary name, flushed, then renamed.
 * `step` is told each point (a rotation's crash-test hook).
 */
export function writeCheckRecord(file: string, record: CheckRecord, step: (name: string) => void = () => {}): void {
  const temp = `${file}.tmp`;
  writeFileSyncedSync(temp, checkRecordText(record), 'w');
  step('temp-written');
  renameSync(temp, file);
  step('renamed');
  syncDirectorySync(dirname(file));
  step('synced');
}
