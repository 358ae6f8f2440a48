/**
 * How far a database's write-ahead log was committed, kept beside it in `<file>-commits`
 * (issue 12, item 1).
 *
 * wal-check.ts finds damage to a committed frame by the commits that follow it. Damage inside
 * the newest transaction has none after it, and looks exactly like the torn tail a crash leaves
 * (SQLite's recovery then drops that one transaction without a word). This record closes that
 * gap: after each commit it notes the log's generation (the salts of its header) and its last
 * committed frame, as SQLite's WAL index holds them; before the file is opened again, a log of
 * the same generation that recovers fewer frames has lost acknowledged writes.
 *
 * The record must never claim more than a crash leaves: it is written only after the frames it
 * names are as durable as the mode promises. In `process` durability that is right after the
 * commit (the frames are in the OS's page cache, which outlives the process); such a record
 * holds only within the boot it was written in, since an OS crash may lose both log frames and
 * the record in any order. In `fsync` durability it is written after the log is flushed, and
 * holds across boots. A record that is missing, of another boot (process durability) or of
 * another log generation vouches for nothing, and the check falls back to wal-check's alone.
 *
 * The record holds no data: log salts, a frame number and a boot id (48 bytes, owner-only).
 *
 * It is verified strictly whenever its database is opened (issue 17): a record that is there must
 * be exactly the 48 bytes sealdb writes, every byte accounted for (magic, version, flag, the zero
 * padding, the CRC over the rest), or the database is refused, naming the record. No crash leaves
 * anything else: the record is created whole (written under a temporary name, flushed, renamed)
 * and from then on rewritten in place with one 48-byte write, which a killed process cannot tear
 * and a disk writes within one sector. A record of another boot or log generation is still a
 * whole record: it is valid, and vouches for nothing (above).
 *
 * What it does not cover: in `process` durability after an OS crash or reboot the newest
 * transaction's damage is again indistinguishable from a torn tail (that mode promises nothing
 * for an OS crash anyway); and a record is written once per commit, so a process killed between
 * a commit and its record leaves that one commit unguarded (still recovered, if undamaged).
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { endianness } from 'node:os';
import { crc32 } from 'node:zlib';
import { DamagedFileError } from './damage.js';
import type { Durability } from './wal-sync.js';

/** Appended to the database file's name (like SQLite's `-wal` and `-shm`). */
export const COMMIT_RECORD_SUFFIX = '-commits';

/** A log generation (its header's salts) and the last frame committed in it (SQLite's mxFrame). */
export interface WalPosition {
  readonly salt1: number;
  readonly salt2: number;
  readonly frames: number;
}

export interface CommitRecord extends WalPosition {
  /** Written after the log was flushed to stable storage (fsync durability): holds across boots. */
  readonly flushed: boolean;
  /** Hex id of the boot the record was written in. */
  readonly boot: string;
}

const RECORD_BYTES = 48;
const MAGIC = 0x73646263; // "sdbc"
const VERSION = 1;
/** SQLite's WAL index header (https://www.sqlite.org/walformat.html#the_wal_index_file_format): two copies. */
const WAL_INDEX_HEADER_BYTES = 48;
const WAL_INDEX_VERSION = 3007000;
const NATIVE_LITTLE_ENDIAN = endianness() === 'LE';

/** Keeps one database's commit record; one per open connection that writes. */
export class CommitRecorder {
  #shm: number | undefined;
  #record: number | undefined;
  #closed = false;
  /** Positions are numbered as read: a flush that completes late never records an older one. */
  #read = 0;
  #recorded = 0;
  #last: WalPosition | undefined;
  readonly #shmBytes = Buffer.alloc(2 * WAL_INDEX_HEADER_BYTES);
  readonly #recordBytes = Buffer.alloc(RECORD_BYTES);

  constructor(
    private readonly databaseFile: string,
    /** Whether a recorded position's frames were flushed to stable storage first. */
    private readonly flushed: boolean,
    /** False when the WAL is flushed after the commit (WalSync), which then records. */
    private readonly atCommit: boolean,
  ) {}

  /** Call after each COMMIT that returned (outside any open transaction). */
  committed(): void {
    if (this.atCommit) this.record(this.position());
  }

  /** The log's position now, as the WAL index says (undefined when it cannot be read cleanly). */
  position(): (WalPosition & { readonly seq: number }) | undefined {
    if (this.#closed) return undefined;
    try {
      this.#shm ??= openSync(`${this.databaseFile}-shm`, 'r');
      const bytes = this.#shmBytes;
      if (readSync(this.#shm, bytes, 0, bytes.length, 0) < bytes.length) return undefined;
      // SQLite writes the second copy, then the first: equal copies are a header between updates.
      if (bytes.compare(bytes, 0, WAL_INDEX_HEADER_BYTES, WAL_INDEX_HEADER_BYTES) !== 0) return undefined;
      const version = NATIVE_LITTLE_ENDIAN ? bytes.readUInt32LE(0) : bytes.readUInt32BE(0);
      if (version !== WAL_INDEX_VERSION || bytes[12] !== 1) return undefined;
      const frames = NATIVE_LITTLE_ENDIAN ? bytes.readUInt32LE(16) : bytes.readUInt32BE(16);
      // The salts are the log header's bytes, copied as they are (big-endian).
      return { salt1: bytes.readUInt32BE(32), salt2: bytes.readUInt32BE(36), frames, seq: ++this.#read };
    } catch {
      return undefined;
    }
  }

  /** Records a position read by `position()` once its frames are as durable as the mode promises. */
  record(position: (WalPosition & { readonly seq: number }) | undefined): void {
    if (!position || this.#closed || position.seq <= this.#recorded) return;
    this.#recorded = position.seq;
    const last = this.#last;
    // A commit that wrote nothing (a group of reads) moves nothing: no write.
    if (last && last.salt1 === position.salt1 && last.salt2 === position.salt2 && last.frames === position.frames) {
      return;
    }
    try {
      encodeRecord(this.#recordBytes, position, this.flushed);
      const file = `${this.databaseFile}${COMMIT_RECORD_SUFFIX}`;
      if (this.#record === undefined && !existsSync(file)) createWhole(file, this.#recordBytes);
      else {
        this.#record ??= openSync(file, constants.O_RDWR, 0o600);
        writeSync(this.#record, this.#recordBytes, 0, RECORD_BYTES, 0);
      }
      this.#last = position;
    } catch {
      // A record that cannot be written only leaves the newest commits unguarded, as before.
      this.#last = undefined;
    }
  }

  close(): void {
    this.#closed = true;
    for (const fd of [this.#shm, this.#record]) if (fd !== undefined) closeSync(fd);
    this.#shm = undefined;
    this.#record = undefined;
  }
}

/**
 * The recorder for a database file. `walSyncedAfterCommit`: its log is flushed after each commit
 * by a WalSync, which records (table files in fsync durability); otherwise a commit in fsync
 * durability flushes the log itself (synchronous=FULL).
 */
export function openCommitRecorder(
  databaseFile: string,
  durability: Durability | undefined,
  walSyncedAfterCommit = false,
): CommitRecorder | undefined {
  if (databaseFile === ':memory:') return undefined;
  const flushed = durability === 'fsync';
  return new CommitRecorder(databaseFile, flushed, !(flushed && walSyncedAfterCommit));
}

/**
 * A new record file appears whole or not at all: an empty or partial `-commits` is never left by
 * a crash, so the strict check never mistakes one for damage. Flushed before the rename (once per
 * database file), so that an OS crash cannot leave the name pointing at unwritten bytes either.
 */
function createWhole(file: string, bytes: Buffer): void {
  const temp = `${file}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, bytes, 0, RECORD_BYTES, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
}

function encodeRecord(target: Buffer, position: WalPosition, flushed: boolean): void {
  target.fill(0);
  target.writeUInt32BE(MAGIC, 0);
  target[4] = VERSION;
  target[5] = flushed ? 1 : 0;
  target.writeUInt32BE(position.salt1, 8);
  target.writeUInt32BE(position.salt2, 12);
  target.writeUInt32BE(position.frames, 16);
  target.write(bootId(), 24, 16, 'hex');
  target.writeUInt32BE(crc32(target.subarray(0, RECORD_BYTES - 4)), RECORD_BYTES - 4);
}

/**
 * The database's commit record; undefined when there is none. Throws DamagedFileError (for the
 * database, naming the record) when the file is there but is not, byte for byte, a record sealdb
 * wrote: see the header comment for why no crash leaves such a file.
 */
export function readCommitRecord(databaseFile: string): CommitRecord | undefined {
  const file = `${databaseFile}${COMMIT_RECORD_SUFFIX}`;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const problem = recordProblem(bytes);
  if (problem !== undefined) {
    throw new DamagedFileError(
      databaseFile,
      `its commit record ${file} is damaged (${problem}): it is not what sealdb wrote. It holds no data, only how far ` +
        `the write-ahead log was committed; with sealdb stopped, restore it with the data directory from a backup, or, ` +
        `once sure that nothing else in the data directory was changed, delete it (the next commit writes it anew)`,
    );
  }
  return {
    salt1: bytes.readUInt32BE(8),
    salt2: bytes.readUInt32BE(12),
    frames: bytes.readUInt32BE(16),
    flushed: bytes[5] === 1,
    boot: bytes.toString('hex', 24, 40),
  };
}

/** Why `bytes` is not a record encodeRecord wrote, or undefined when it is one. */
function recordProblem(bytes: Buffer): string | undefined {
  if (bytes.length !== RECORD_BYTES) return `${bytes.length} bytes, not ${RECORD_BYTES}`;
  if (crc32(bytes.subarray(0, RECORD_BYTES - 4)) !== bytes.readUInt32BE(RECORD_BYTES - 4)) {
    return 'its CRC does not match its content';
  }
  if (bytes.readUInt32BE(0) !== MAGIC) return 'its magic number is wrong';
  if (bytes[4] !== VERSION) return `version ${bytes[4]}, not ${VERSION}`;
  if (bytes[5] !== 0 && bytes[5] !== 1) return `flag ${bytes[5]}, not 0 or 1`;
  // The bytes encodeRecord leaves zero (6-7, 20-23, 40-43) must be zero.
  for (const [from, to] of [
    [6, 8],
    [20, 24],
    [40, 44],
  ] as const) {
    for (let i = from; i < to; i++) if (bytes[i] !== 0) return `byte ${i} is not zero`;
  }
  return undefined;
}

/**
 * The frames a log of generation `salts` must recover, per the database's record (readCommitRecord);
 * undefined when the record vouches for nothing about this log (none, another generation, or,
 * for a record of process durability, another boot).
 */
export function recordedFrames(record: CommitRecord | undefined, salts: readonly [number, number]): number | undefined {
  if (!record || record.salt1 !== salts[0] || record.salt2 !== salts[1]) return undefined;
  if (!record.flushed && record.boot !== bootId()) return undefined;
  return record.frames;
}

let boot: string | undefined;

/**
 * 32 hex digits naming this boot of the machine: Linux's boot_id; elsewhere a random id per
 * process, so a record of process durability then guards nothing across restarts (never a
 * false alarm, only the old gap).
 */
function bootId(): string {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().replaceAll('-', '');
    } catch {
      boot = '';
    }
    if (!/^[0-9a-f]{32}$/.test(boot)) boot = randomBytes(16).toString('hex');
  }
  return boot;
}
