/**
 * Finds damage to the committed history in a SQLite write-ahead log before SQLite opens it.
 *
 * SQLite's WAL recovery keeps the frames up to the first one whose checksum (or salt) does not
 * match and treats everything after it as never written. That is right for a torn tail, which
 * a crash leaves behind, but one changed byte in an early frame silently drops every transaction
 * committed after it. Checksums are cumulative, each frame's seeded by the checksum stored in
 * the frame before it, so a frame after a bad one can still be checked on its own: a commit frame
 * of this log's generation that checks out after a failed frame proves the failed frame was
 * part of committed history, not a torn write.
 *
 * Layout (https://www.sqlite.org/fileformat2.html#walformat): a 32-byte header (magic, format,
 * page size, checkpoint sequence, salt-1, salt-2, checksum-1, checksum-2), then frames of a
 * 24-byte header (page number, database size after commit or 0, salt-1, salt-2, checksum-1,
 * checksum-2) and one page. Header fields are big-endian; the checksum reads the data as 32-bit
 * words in the byte order the magic names.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { COMMIT_RECORD_SUFFIX, readCommitRecord, recordedFrames } from './commit-counter.js';
import { DamagedFileError } from './damage.js';

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;
const WAL_FORMAT = 3007000;
/** Frames read per system call: the log is streamed, never loaded whole. */
const BATCH_BYTES = 1 << 20;

export interface WalDamage {
  /** 1-based number of the first frame SQLite's recovery would stop at; 0 for the log's header. */
  readonly frame: number;
  /** Why it fails: the checksum, the salts, the log's own header, or `missing` (no commit frame checks out after it). */
  readonly reason: string;
  /** Committed transactions after it that would have been dropped (0 when only the commit record shows it). */
  readonly commitsAfter: number;
  /** The last frame the commit record (commit-counter.ts) says was committed, when that shows the loss. */
  readonly recordedFrames?: number;
}

export interface WalReport {
  /** Frames of this generation SQLite will recover (up to the last good commit frame). */
  readonly recoveredFrames: number;
  /** Set when committed history would be lost: the file must not be opened. */
  readonly damage?: WalDamage;
  /** The salts of a log whose header checks out: its generation. */
  readonly salts?: readonly [number, number];
  /** The first frame SQLite's recovery stops at, damaged or torn. */
  readonly firstFailure?: { readonly frame: number; readonly reason: string };
}

/** A table file, the catalog or the key store whose log would lose committed transactions. */
export class DamagedWalError extends DamagedFileError {
  constructor(
    file: string,
    readonly damage: WalDamage,
  ) {
    const what =
      damage.frame === 0
        ? `the header of its write-ahead log ${file}-wal fails its checksum`
        : damage.reason === 'missing'
          ? `the committed history in its write-ahead log ${file}-wal ends at frame ${damage.frame - 1}`
          : `frame ${damage.frame} of its write-ahead log ${file}-wal fails its ${damage.reason}`;
    const lost =
      damage.recordedFrames === undefined
        ? `${damage.commitsAfter} committed transaction(s) follow`
        : `${file}${COMMIT_RECORD_SUFFIX} records that the log was committed through frame ${damage.recordedFrames}`;
    const restoredOnPurpose =
      damage.recordedFrames === undefined
        ? ''
        : ` (if ${file} was restored from an older backup on purpose, delete ${file}${COMMIT_RECORD_SUFFIX})`;
    super(
      file,
      `${what}, but ${lost}: opening it would silently drop acknowledged writes. Restore ${file} and ` +
        `${file}-wal from a backup of the data directory (with sealdb stopped); do not delete the -wal file, ` +
        `it holds the only copy of those writes${restoredOnPurpose}`,
    );
    this.name = 'DamagedWalError';
  }
}

/**
 * Throws DamagedWalError when the database file's log has damage to committed frames: frames
 * with commits after them, or (per the commit record kept beside the file) frames of the newest
 * committed transaction, which nothing in the log itself tells from a torn tail.
 */
export function assertWalIntact(databaseFile: string): void {
  // The record is verified whether or not there is a log to hold it against (issue 17).
  const record = readCommitRecord(databaseFile);
  const report = checkWal(`${databaseFile}-wal`);
  if (report.damage) throw new DamagedWalError(databaseFile, report.damage);
  if (!report.salts) return;
  const recorded = recordedFrames(record, report.salts);
  if (recorded === undefined || report.recoveredFrames >= recorded) return;
  const failure = report.firstFailure ?? { frame: report.recoveredFrames + 1, reason: 'missing' };
  throw new DamagedWalError(databaseFile, { ...failure, commitsAfter: 0, recordedFrames: recorded });
}

/**
 * The pages whose newest committed version is in the log (its frames up to the last commit that
 * SQLite's recovery keeps): a checkpoint will copy them over the database file's own, which may
 * be stale or torn (a checkpoint killed mid-write) without harm. Empty for a missing log.
 */
export function walPageNumbers(walFile: string): Set<number> {
  const pages: number[] = [];
  const report = checkWal(walFile, pages);
  return new Set(pages.slice(0, report.damage ? 0 : report.recoveredFrames));
}

/** Scans a log file; a missing or empty one is intact. `pages` gets each frame's page number, in order. */
export function checkWal(walFile: string, pages?: number[]): WalReport {
  let fd: number;
  try {
    fd = openSync(walFile, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { recoveredFrames: 0 };
    throw error;
  }
  try {
    return scan(fd, fstatSync(fd).size, pages);
  } finally {
    closeSync(fd);
  }
}

interface Header {
  readonly littleEndian: boolean;
  readonly pageSize: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly checksum: readonly [number, number];
  readonly valid: boolean;
}

function scan(fd: number, size: number, pages?: number[]): WalReport {
  if (size < WAL_HEADER_BYTES) return { recoveredFrames: 0 };
  const headerBytes = Buffer.alloc(WAL_HEADER_BYTES);
  readSync(fd, headerBytes, 0, WAL_HEADER_BYTES, 0);
  const candidates = headerCandidates(headerBytes);
  const header = candidates.find((h) => h.valid);
  if (header) return scanFrames(fd, size, header, false, pages);
  // SQLite ignores a log whose header fails, with every frame in it. A frame that checks out
  // under the header's stored checksum proves the header was damaged, not torn: try each byte
  // order and page size the damaged header might have meant.
  for (const candidate of candidates) {
    const report = scanFrames(fd, size, candidate, true);
    if (report.damage) return report;
  }
  return { recoveredFrames: 0 };
}

function headerCandidates(bytes: Buffer): Header[] {
  const magic = bytes.readUInt32BE(0);
  const storedPageSize = decodePageSize(bytes.readUInt32BE(8));
  const orders = magic === MAGIC_LE ? [true] : magic === MAGIC_BE ? [false] : [true, false];
  const pageSizes = storedPageSize !== undefined ? [storedPageSize] : PAGE_SIZES;
  const stored: [number, number] = [bytes.readUInt32BE(24), bytes.readUInt32BE(28)];
  const out: Header[] = [];
  for (const littleEndian of orders) {
    const sum = checksum(bytes.subarray(0, 24), littleEndian, 0, 0);
    const valid =
      (magic === MAGIC_LE || magic === MAGIC_BE) &&
      bytes.readUInt32BE(4) === WAL_FORMAT &&
      storedPageSize !== undefined &&
      sum[0] === stored[0] &&
      sum[1] === stored[1];
    for (const pageSize of pageSizes) {
      out.push({
        littleEndian,
        pageSize,
        salt1: bytes.readUInt32BE(16),
        salt2: bytes.readUInt32BE(20),
        checksum: stored,
        valid,
      });
    }
  }
  return out;
}

const PAGE_SIZES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/** 1 stands for 65536; anything else must be a power of two from 512 to 32768. */
function decodePageSize(raw: number): number | undefined {
  const size = raw === 1 ? 65536 : raw;
  return size >= 512 && size <= 65536 && (size & (size - 1)) === 0 ? size : undefined;
}

/**
 * Checks every frame on its own, seeded by the checksum stored in the frame before it. Damage:
 * a frame fails while a commit frame after it checks out and a transaction ends in between (so
 * the failed frame was not part of the last, possibly unfinished, transaction). A commit being
 * written when the process died can leave frames of its own transaction failing before its
 * commit frame (SQLite rewrites spilled frames in place and fixes their checksums last): that is
 * the newest transaction, never acknowledged, and stays a torn tail.
 */
function scanFrames(fd: number, size: number, header: Header, headerDamaged: boolean, pages?: number[]): WalReport {
  const frameBytes = FRAME_HEADER_BYTES + header.pageSize;
  const framesPerBatch = Math.max(1, Math.floor(BATCH_BYTES / frameBytes));
  const batch = Buffer.alloc(framesPerBatch * frameBytes);
  const frameCount = Math.floor((size - WAL_HEADER_BYTES) / frameBytes);
  const generation = headerDamaged ? {} : { salts: [header.salt1, header.salt2] as const };
  if (frameCount === 0) return { recoveredFrames: 0, ...generation };
  let seed = header.checksum;
  let salts: readonly [number, number] = [header.salt1, header.salt2];
  let recoveredFrames = 0;
  let firstBad: { frame: number; reason: string } | undefined = headerDamaged
    ? { frame: 0, reason: 'header checksum' }
    : undefined;
  /** A transaction ended (per a frame header, good or bad) since the first bad frame. */
  let boundaryAfterBad = headerDamaged;
  let commitsAfter = 0;
  for (let first = 1; first <= frameCount; first += framesPerBatch) {
    const count = Math.min(framesPerBatch, frameCount - first + 1);
    const offset = WAL_HEADER_BYTES + (first - 1) * frameBytes;
    readFully(fd, batch, count * frameBytes, offset);
    // A damaged header may be what holds the wrong salts: the first frame's are the log's own.
    if (headerDamaged && first === 1) salts = [batch.readUInt32BE(8), batch.readUInt32BE(12)];
    for (let i = 0; i < count; i++) {
      const frame = first + i;
      const at = i * frameBytes;
      const pageNumber = batch.readUInt32BE(at);
      pages?.push(pageNumber);
      const commitSize = batch.readUInt32BE(at + 4);
      const saltsMatch = batch.readUInt32BE(at + 8) === salts[0] && batch.readUInt32BE(at + 12) === salts[1];
      const stored: [number, number] = [batch.readUInt32BE(at + 16), batch.readUInt32BE(at + 20)];
      let good = false;
      if (saltsMatch && pageNumber !== 0) {
        const afterHeader = checksum(batch.subarray(at, at + 8), header.littleEndian, seed[0], seed[1]);
        const sum = checksum(
          batch.subarray(at + FRAME_HEADER_BYTES, at + frameBytes),
          header.littleEndian,
          afterHeader[0],
          afterHeader[1],
        );
        good = sum[0] === stored[0] && sum[1] === stored[1];
      }
      if (firstBad === undefined) {
        if (good) {
          if (commitSize !== 0) recoveredFrames = frame;
        } else {
          firstBad = { frame, reason: saltsMatch ? 'checksum' : 'salts' };
        }
      } else if (good && commitSize !== 0 && boundaryAfterBad) {
        commitsAfter++;
      }
      // Read even from a failed frame's header; a frame of an earlier generation (other salts)
      // ends nothing in this one.
      if (firstBad !== undefined && commitSize !== 0 && saltsMatch) boundaryAfterBad = true;
      seed = stored;
    }
  }
  if (firstBad !== undefined && commitsAfter > 0) {
    return { recoveredFrames: headerDamaged ? 0 : recoveredFrames, damage: { ...firstBad, commitsAfter } };
  }
  const failure = firstBad !== undefined && !headerDamaged ? { firstFailure: firstBad } : {};
  return { recoveredFrames: headerDamaged ? 0 : recoveredFrames, ...generation, ...failure };
}

function readFully(fd: number, target: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = readSync(fd, target, done, length - done, position + done);
    if (n === 0) throw new Error('write-ahead log shrank while it was being checked');
    done += n;
  }
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** SQLite's walChecksumBytes: Fletcher-like sums over pairs of 32-bit words, modulo 2^32. */
export function checksum(data: Buffer, littleEndian: boolean, seed1: number, seed2: number): [number, number] {
  let s1 = seed1 >>> 0;
  let s2 = seed2 >>> 0;
  const end = data.length - (data.length % 8);
  if (littleEndian === HOST_LITTLE_ENDIAN && data.byteOffset % 4 === 0) {
    // A typed-array view reads words in the host's order without a bounds check per word.
    const words = new Uint32Array(data.buffer, data.byteOffset, end / 4);
    for (let i = 0; i < words.length; i += 2) {
      s1 = (s1 + (words[i] as number) + s2) >>> 0;
      s2 = (s2 + (words[i + 1] as number) + s1) >>> 0;
    }
  } else if (littleEndian) {
    for (let i = 0; i < end; i += 8) {
      s1 = (s1 + data.readUInt32LE(i) + s2) >>> 0;
      s2 = (s2 + data.readUInt32LE(i + 4) + s1) >>> 0;
    }
  } else {
    for (let i = 0; i < end; i += 8) {
      s1 = (s1 + data.readUInt32BE(i) + s2) >>> 0;
      s2 = (s2 + data.readUInt32BE(i + 4) + s1) >>> 0;
    }
  }
  return [s1, s2];
}
