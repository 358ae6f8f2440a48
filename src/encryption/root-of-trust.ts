/**
 * The root of trust: a 256-bit key from a 0600 key file kept outside the data
 * directory, or a passphrase stretched with scrypt. Every other key sealdb keeps
 * at rest is wrapped, directly or indirectly, by keys derived from it.
 */
import { createHash, createHmac, hkdfSync, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { syncDirectorySync, writeFileSyncedSync } from '../storage/synced-files.js';

export type RootKeySource =
  | { readonly kind: 'key-file'; readonly path: string }
  | { readonly kind: 'passphrase'; readonly passphrase: string }
  /** For --in-memory: a key that lives only as long as the process. */
  | { readonly kind: 'ephemeral' };

const CHECK_FILE = 'root-check.json';
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

export class RootKeyMismatchError extends Error {
  constructor(dataDir: string) {
    super(
      `The root key does not match the one the data directory ${dataDir} was created with. ` +
        'Start sealdb with the original root key file or passphrase; nothing in the data directory was read or changed.',
    );
    this.name = 'RootKeyMismatchError';
  }
}

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
  constructor(file: string, problem: string, kind: CheckRecord['kind'] | undefined) {
    const restore = 'Restore it from a backup of the data directory.';
    const keyFile =
      'It holds only a check value of the root key file: if you are sure the root key file is the right one, ' +
      'you may instead delete it, and the next start writes it anew.';
    const passphrase =
      'It holds the salt of the root passphrase, without which the data cannot be read: only a backup restores it.';
    const remedy =
      kind === 'key-file'
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

interface CheckRecord {
  version: 1;
  kind: 'key-file' | 'passphrase';
  scryptSalt?: string;
  check: string;
  /** SHA-256 (hex) of the record without it, to tell a damaged file from a wrong key. */
  sha256?: string;
}

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
    let key: Buffer;
    let salt: Buffer | undefined;
    let created: string | undefined;
    if (source.kind === 'key-file') {
      const file = resolve(source.path);
      if (!existsSync(file) && (existing || DATA_MARKERS.some((name) => existsSync(join(dataDir, name))))) {
        throw new RootKeyMissingError(file, dataDir, existing?.kind);
      }
      ({ key, created } = loadOrCreateKeyFile(file, dataDir));
    } else {
      salt = existing?.scryptSalt ? Buffer.from(existing.scryptSalt, 'base64') : randomBytes(16);
      key = scryptSync(source.passphrase, salt, 32, SCRYPT);
    }
    const root = new RootOfTrust(key, created);
    const check = root.#checkValue();
    if (existing) {
      const expected = Buffer.from(existing.check, 'base64');
      if (existing.kind !== source.kind || expected.length !== check.length || !timingSafeEqual(expected, check)) {
        root.destroy();
        throw new RootKeyMismatchError(dataDir);
      }
    } else {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      const record: CheckRecord = {
        version: 1,
        kind: source.kind,
        ...(salt ? { scryptSalt: salt.toString('base64') } : {}),
        check: check.toString('base64'),
      };
      writeCheckRecord(checkPath, { ...record, sha256: checkSum(record) });
    }
    return root;
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

const isBase64Of = (value: unknown, bytes: number): boolean =>
  typeof value === 'string' &&
  /^[A-Za-z0-9+/]*={0,2}$/.test(value) &&
  Buffer.from(value, 'base64').length === bytes &&
  Buffer.from(value, 'base64').toString('base64') === value;

function readCheckRecord(file: string): CheckRecord {
  const text = readFileSync(file, 'utf8');
  // What the damaged file still says it was made with chooses the advice.
  const kindHint = /"kind"\s*:\s*"(key-file|passphrase)"/.exec(text)?.[1] as CheckRecord['kind'] | undefined;
  const damaged = (problem: string) => new RootCheckDamagedError(file, problem, kindHint);
  if (text.trim() === '') throw damaged('it is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw damaged('it is not valid JSON: truncated or overwritten');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw damaged('it is not a JSON object');
  const record = parsed as Partial<CheckRecord>;
  if (record.version !== 1) throw damaged(`version is ${JSON.stringify(record.version)}, not 1`);
  if (record.kind !== 'key-file' && record.kind !== 'passphrase') {
    throw damaged(`kind is ${JSON.stringify(record.kind)}, not "key-file" or "passphrase"`);
  }
  if (!isBase64Of(record.check, 32)) throw damaged('check is not a base64 32-byte value');
  if (record.kind === 'passphrase' && !isBase64Of(record.scryptSalt, 16)) {
    throw damaged('scryptSalt is not a base64 16-byte value');
  }
  if (record.sha256 !== undefined && record.sha256 !== checkSum(record as CheckRecord)) {
    throw damaged('its SHA-256 does not match its content: a byte was changed');
  }
  return record as CheckRecord;
}

/** Complete or absent after a crash: written under a temporary name, flushed, then renamed. */
function writeCheckRecord(file: string, record: CheckRecord): void {
  const temp = `${file}.tmp`;
  writeFileSyncedSync(temp, `${JSON.stringify(record, null, 2)}\n`, 'w');
  renameSync(temp, file);
  syncDirectorySync(dirname(file));
}
