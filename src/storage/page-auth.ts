/**
 * Authenticates every page of an encrypted database file from its bytes on disk (issue 17).
 *
 * SQLite3 Multiple Ciphers checks a page's HMAC only when SQLite reads the page, and SQLite never
 * reads a free page (the pages of deleted and moved rows, kept for reuse) nor, in a backup, the
 * pages of index entries and stream records a restore rebuilds. A changed byte there harmed no
 * data but was tampering no read would ever report. This reads the file itself and checks each
 * page's HMAC as the cipher would, so damage anywhere in the file is found and named.
 *
 * The page format is SQLite3MC's `sqlcipher` scheme in its version-4 defaults, as this build has
 * it (deps/sqlite3/sqlite3.c of better-sqlite3-multiple-ciphers, GenerateKeySQLCipherCipher,
 * EncryptPageSQLCipherCipher, DecryptPageSQLCipherCipher; legacy mode off):
 * - a raw 256-bit key (the `x'..'` form: no passphrase KDF); the file's first 16 bytes are the
 *   salt; the HMAC key is PBKDF2-HMAC-SHA512(key, salt XOR 0x3a each byte, 2 iterations, 32 bytes);
 * - each page ends with 80 reserved bytes: a 16-byte IV, then HMAC-SHA512 (64 bytes) over the
 *   page's bytes up to the reserved area, the IV and the page number (4 bytes, little-endian);
 * - page 1 keeps its first 24 bytes out of the cipher: the salt, then bytes 16..23 of SQLite's
 *   header (page size, format versions, reserved bytes, payload fractions) in plaintext. Those 8
 *   bytes are not under the HMAC, so they are compared with the only values sealdb's files have.
 */
import { createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const SALT_BYTES = 16;
const HMAC_SALT_MASK = 0x3a;
const FAST_KDF_ITERATIONS = 2;
const IV_BYTES = 16;
const HMAC_BYTES = 64;
export const RESERVED_BYTES = IV_BYTES + HMAC_BYTES;
const PAGE1_PLAINTEXT_BYTES = 24;
/**
 * Bytes 18..23 of SQLite's header (https://www.sqlite.org/fileformat2.html#the_database_header):
 * write and read version 2 (every sealdb file is in WAL mode), 80 reserved bytes per page, and the
 * payload fractions 64, 32, 32 that the format fixes.
 */
const PAGE1_HEADER_TAIL = Buffer.from([2, 2, RESERVED_BYTES, 64, 32, 32]);

/** What is wrong with a file's pages, in words for the operator. */
export interface PageProblem {
  /** 1-based page number (0: the file as a whole). */
  readonly page: number;
  readonly detail: string;
}

/** The page size a file's first page declares, or undefined when that header is not sealdb's. */
export function pageSizeOf(firstBytes: Buffer): number | undefined {
  if (firstBytes.length < PAGE1_PLAINTEXT_BYTES) return undefined;
  const raw = firstBytes.readUInt16BE(16);
  const size = raw === 1 ? 65536 : raw;
  if (size < 512 || size > 65536 || (size & (size - 1)) !== 0) return undefined;
  return size;
}

/** Checks the pages of one file; the key is copied into the derived HMAC key only. */
export class PageAuthenticator {
  readonly #hmacKey: Buffer;
  readonly pageSize: number;
  readonly #number = Buffer.alloc(4);

  private constructor(hmacKey: Buffer, pageSize: number) {
    this.#hmacKey = hmacKey;
    this.pageSize = pageSize;
  }

  /**
   * For a file whose first page is `firstPage` (at least its first 24 bytes): a problem when that
   * page's plaintext header is not what sealdb writes (then no page can be checked).
   */
  static forFile(key: Buffer, firstPage: Buffer): PageAuthenticator | PageProblem {
    const pageSize = pageSizeOf(firstPage);
    if (pageSize === undefined || !firstPage.subarray(18, 24).equals(PAGE1_HEADER_TAIL)) {
      return { page: 1, detail: "the plaintext part of its first page's header is not what sealdb writes" };
    }
    const salt = Buffer.from(firstPage.subarray(0, SALT_BYTES));
    for (let i = 0; i < salt.length; i++) salt[i] = (salt[i] as number) ^ HMAC_SALT_MASK;
    return new PageAuthenticator(pbkdf2Sync(key, salt, FAST_KDF_ITERATIONS, 32, 'sha512'), pageSize);
  }

  /** Whether `page` (exactly one page of bytes) is page `number` as the key holder wrote it. */
  authentic(page: Buffer, number: number): boolean {
    if (page.length !== this.pageSize) return false;
    const n = this.pageSize - RESERVED_BYTES;
    const from = number === 1 ? PAGE1_PLAINTEXT_BYTES : 0;
    this.#number.writeUInt32LE(number >>> 0, 0);
    const mac = createHmac('sha512', this.#hmacKey)
      .update(page.subarray(from, n + IV_BYTES))
      .update(this.#number)
      .digest();
    const ok = timingSafeEqual(mac, page.subarray(n + IV_BYTES, n + IV_BYTES + HMAC_BYTES));
    if (ok && number === 1)
      return page.subarray(18, 24).equals(PAGE1_HEADER_TAIL) && pageSizeOf(page) === this.pageSize;
    return ok;
  }

  destroy(): void {
    this.#hmacKey.fill(0);
  }
}

export interface FilePagesCheck {
  readonly file: string;
  readonly key: Buffer;
  /** The pages the database has (SQLite's page_count, its log included): none may be missing. */
  readonly expectedPages: number;
  /**
   * The pages whose newest version is in the write-ahead log (walPageNumbers). Asked again each
   * time a page fails, for a file in use: a checkpoint may be writing that very page.
   */
  readonly superseded: () => ReadonlySet<number>;
  /** The file is in use (a table's): a failing page is read again before it counts. */
  readonly live: boolean;
}

/** Pages read per step (and per system call): 512 KiB of 8 KiB pages. */
const PAGES_PER_STEP = 64;
/** Rounds of (ask the log, read again) before a failing page of a file in use counts as damaged. */
const LIVE_RETRIES = 3;

/**
 * Checks every page of a file, one step of PAGES_PER_STEP pages per `next()` (so a caller can
 * pace the work and stop it); the generator's return value is the first problem, or undefined.
 * A page whose newest version is in the log is exempt: its copy in the file is never read again.
 */
export function* checkFilePages(check: FilePagesCheck): Generator<void, PageProblem | undefined> {
  let fd: number;
  try {
    fd = openSync(check.file, 'r');
  } catch (error) {
    // A table deleted since the check was asked for: nothing left to check.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let auth: PageAuthenticator | undefined;
  try {
    const size = fstatSync(fd).size;
    let superseded = check.superseded();
    if (size === 0) {
      for (let p = 1; p <= check.expectedPages; p++) {
        if (!superseded.has(p))
          return { page: 0, detail: `it is empty, but the database has ${check.expectedPages} page(s)` };
      }
      return undefined;
    }
    const head = Buffer.alloc(PAGE1_PLAINTEXT_BYTES);
    if (readSync(fd, head, 0, head.length, 0) < head.length) {
      return { page: 0, detail: `it is cut short (${size} bytes, less than a page)` };
    }
    const made = PageAuthenticator.forFile(check.key, head);
    if (!(made instanceof PageAuthenticator)) return made;
    auth = made;
    const pageSize = auth.pageSize;
    const wholePages = Math.floor(size / pageSize);
    if (size % pageSize !== 0 && !superseded.has(wholePages + 1)) {
      return { page: wholePages + 1, detail: `it is cut short (${size} bytes: page ${wholePages + 1} is incomplete)` };
    }
    for (let p = wholePages + 1; p <= check.expectedPages; p++) {
      if (!superseded.has(p)) {
        return {
          page: p,
          detail: `it is cut short (${wholePages} page(s), but the database has ${check.expectedPages})`,
        };
      }
    }
    const batch = Buffer.alloc(PAGES_PER_STEP * pageSize);
    for (let first = 1; first <= wholePages; first += PAGES_PER_STEP) {
      const count = Math.min(PAGES_PER_STEP, wholePages - first + 1);
      const got = readAt(fd, batch, count * pageSize, (first - 1) * pageSize);
      for (let i = 0; i < count; i++) {
        const p = first + i;
        const page = batch.subarray(i * pageSize, (i + 1) * pageSize);
        if (i * pageSize + pageSize <= got && auth.authentic(page, p)) continue;
        if (superseded.has(p)) continue;
        if (!check.live) return { page: p, detail: `page ${p} fails its authentication check` };
        // A checkpoint copying this page from the log while it was read leaves a torn read: ask
        // the log again first (a page still in it is exempt), then read again (a checkpoint
        // that has since finished and let the log start over has written the page whole).
        let ok = false;
        const single = Buffer.alloc(pageSize);
        for (let round = 0; round < LIVE_RETRIES && !ok; round++) {
          if (round > 0) yield;
          superseded = check.superseded();
          ok =
            superseded.has(p) ||
            (readAt(fd, single, pageSize, (p - 1) * pageSize) === pageSize && auth.authentic(single, p));
        }
        if (!ok) return { page: p, detail: `page ${p} fails its authentication check` };
      }
      yield;
    }
    return undefined;
  } finally {
    auth?.destroy();
    closeSync(fd);
  }
}

function readAt(fd: number, target: Buffer, length: number, position: number): number {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, target, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Runs a whole check at once (small files, or a file nothing else writes). */
export function checkFilePagesNow(check: FilePagesCheck): PageProblem | undefined {
  const steps = checkFilePages(check);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** The operator's words for a problem, naming the file. */
export function describePageProblem(problem: PageProblem): string {
  return `${problem.detail} (found by the full page check at open: the bytes on disk are not what sealdb wrote)`;
}
