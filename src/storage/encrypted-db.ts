/**
 * Opens SQLite3 Multiple Ciphers databases with the `sqlcipher` cipher
 * (AES-256-CBC, random IV per page write, HMAC-SHA512 per page) under a raw
 * 256-bit key, so that every page, WAL frame and journal on disk is ciphertext.
 */
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3-multiple-ciphers';
import { asDamage, DamagedFileError, isDamage } from './damage.js';
import { checkFilePagesNow, describePageProblem } from './page-auth.js';
import { assertWalIntact, walPageNumbers } from './wal-check.js';

export type SqliteDatabase = Database.Database;

/** The file exists but the key does not open it (or it was tampered with). */
export class WrongKeyError extends Error {
  constructor(readonly file: string) {
    super(`cannot decrypt ${file}: wrong key or damaged file`);
    this.name = 'WrongKeyError';
  }
}

export interface OpenOptions {
  /** `':memory:'` keeps everything off the disk (for --in-memory). */
  readonly file: string;
  readonly key: Buffer;
  readonly readonly?: boolean;
  /** Page cache size in KiB (SQLite's default is 2 MiB). */
  readonly cacheKiB?: number;
  /** Refuse to create the file (a second connection to an existing database). */
  readonly mustExist?: boolean;
  /** WAL pages before a commit checkpoints; 0 when another connection checkpoints instead. */
  readonly autoCheckpointPages?: number;
  /** FULL flushes the log at every commit (power-loss safe); NORMAL survives a process crash. */
  readonly synchronous?: 'NORMAL' | 'FULL';
  /**
   * False for a second connection of this process (the checkpoint worker): the first one has
   * checked the log and may be writing to it, so a scan could see frames from two generations.
   */
  readonly checkWal?: boolean;
  /**
   * Reads every page once at open (PRAGMA quick_check), so damage to a page no query has read
   * yet stops the open, naming the file. For the small stores read at startup (catalogs, key
   * store), whose damage must never surface later as a missing table or key.
   */
  readonly checkPages?: boolean;
}

let pageEncryption = true;

/**
 * For the benchmark harness only (bench/sealdb-unencrypted.mjs), to measure what encryption
 * costs against the same server without it. Deliberately not reachable from the CLI, the
 * environment or the config file: a running sealdb never writes plaintext pages.
 */
export function disablePageEncryptionForBenchmark(): void {
  pageEncryption = false;
}

export function pageEncryptionEnabled(): boolean {
  return pageEncryption;
}

export function openEncryptedDatabase(options: OpenOptions): SqliteDatabase {
  const { file, key, readonly = false, cacheKiB, mustExist = false, autoCheckpointPages, synchronous } = options;
  if (key.length !== 32) throw new Error('database keys are 256 bits');
  // Before SQLite's recovery, which would end at a damaged frame and drop every commit after it.
  if (file !== ':memory:' && options.checkWal !== false) assertWalIntact(file);
  if (file !== ':memory:' && !readonly) ownerOnly(file, !mustExist);
  const db = new Database(file, { readonly, fileMustExist: readonly || mustExist });
  try {
    if (file !== ':memory:' && pageEncryption) {
      db.pragma(`cipher='sqlcipher'`);
      // The x'..' form is the raw-key syntax: it skips the passphrase KDF. The buffer is zeroed
      // right after use; the key never exists as an immutable JS string.
      const rawKey = Buffer.alloc(67);
      rawKey.write("x'", 0, 'latin1');
      writeHex(key, rawKey, 2);
      rawKey.write("'", 66, 'latin1');
      try {
        db.key(rawKey);
      } finally {
        rawKey.fill(0);
      }
    }
    // Only takes effect when the file is created. SQLite reads overflow pages straight from the
    // file, bypassing the page cache, so a row larger than its page's local payload is decrypted
    // again on every read. 8 KiB pages keep item bodies up to ~8 KB within cached pages.
    if (!readonly) db.pragma('page_size = 8192');
    // Reading the schema is the first access that needs the key: a wrong key fails here
    // (SQLITE_NOTADB) before anything is written.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode: a committed transaction survives a process crash; only power loss
      // may lose the last transactions (FULL, or a WalSync after commit, covers that).
      db.pragma(`synchronous = ${synchronous ?? 'NORMAL'}`);
    }
    db.pragma('temp_store = MEMORY');
    if (cacheKiB !== undefined) db.pragma(`cache_size = -${Math.floor(cacheKiB)}`);
    if (autoCheckpointPages !== undefined) db.pragma(`wal_autocheckpoint = ${Math.floor(autoCheckpointPages)}`);
    if (options.checkPages && file !== ':memory:') checkEveryPage(db, file, key);
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code === 'SQLITE_NOTADB') throw new WrongKeyError(file);
    // SQLite's "database disk image is malformed" does not say which file (e.g. one cut short).
    if (isDamage(error)) throw asDamage(file, error);
    throw error;
  }
}

/**
 * SQLite's quick_check reads every page of every b-tree, but not the free pages (those of deleted
 * rows): their bytes are authenticated from the file itself (page-auth.ts). Nothing else writes
 * the file during this call, so a page that fails is damaged unless the log holds its newest copy.
 */
function checkEveryPage(db: SqliteDatabase, file: string, key: Buffer): void {
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok');
  const restore = `Stop sealdb and restore ${file} from a backup of the data directory`;
  if (problems.length > 0) {
    throw new DamagedFileError(file, `its pages fail SQLite's check (${problems.join('; ')}). ${restore}`);
  }
  if (!pageEncryption) return;
  const problem = checkFilePagesNow({
    file,
    key,
    expectedPages: db.pragma('page_count', { simple: true }) as number,
    superseded: () => walPageNumbers(`${file}-wal`),
    live: false,
  });
  if (problem) throw new DamagedFileError(file, `${describePageProblem(problem)}. ${restore}`);
}

/**
 * SQLite creates a database 0644 (less the umask) but its -wal and -shm files with the database
 * file's own mode: creating the file 0600 first makes all three owner-only. Files left looser by
 * an older sealdb are tightened on open.
 */
function ownerOnly(file: string, create: boolean): void {
  if (create && !existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    if (existsSync(path) && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  }
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/** Hex-encodes into a caller-owned buffer so key material never becomes an (unzeroable) string. */
function writeHex(source: Buffer, target: Buffer, offset: number): void {
  for (let i = 0; i < source.length; i++) {
    const byte = source[i] as number;
    target[offset + 2 * i] = HEX_DIGITS[byte >> 4] as number;
    target[offset + 2 * i + 1] = HEX_DIGITS[byte & 15] as number;
  }
}
