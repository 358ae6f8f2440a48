/**
 * The bodies of a table file's log records (a stream's, point-in-time recovery's), kept out of
 * the file's own pages in append-only segment files beside it (`<file>-records/<log>-<segment>.records`).
 *
 * Why: in the table file every record byte went through the page cipher twice (SQLite3MC's
 * portable AES-256-CBC and HMAC-SHA512, at COMMIT and again at the checkpoint), and a b-tree that
 * takes a new leaf per commit also writes its interior page, page 1 and the half-filled tail leaf
 * again: 4 WAL frames per group commit for ~1.3 pages of records (bench/results/pitr.md). Here a
 * commit's records of one log are sealed together as one chunk (AES-256-GCM, node:crypto's
 * hardware AES) and written once with one positional write before the table file's COMMIT; the
 * table file keeps a ~20-byte row per record naming where its body is (record-log.ts).
 *
 * Crash safety: a chunk is written before the COMMIT whose rows name it, so a committed row
 * always names bytes that were written; a chunk whose COMMIT never happened is named by nothing
 * and never read (each process writes segments of its own). In `fsync` durability the chunk is
 * flushed before the COMMIT. Under a key per segment file (HKDF of the
 * table file's key and a random salt in the segment's header) each chunk has a random IV; its
 * log, segment, offset and length are authenticated with it, so a chunk moved, cut or changed
 * fails as damage naming the segment file. Key switches need nothing: the table file's key, like
 * its pages', is the data key the table key wraps.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fdatasyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writevSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { DamagedFileError } from './damage.js';
import { syncDirectorySync } from './synced-files.js';

const MAGIC = Buffer.from('sealdb records 1', 'latin1');
const SALT_BYTES = 16;
export const SEGMENT_HEADER_BYTES = MAGIC.length + SALT_BYTES;
const LENGTH_BYTES = 4;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CHUNK_HEAD_BYTES = LENGTH_BYTES + IV_BYTES;
/** A new segment once this is reached: trimming frees space a segment at a time. */
const SEGMENT_LIMIT_BYTES = 8 * 1024 * 1024;
/** Descriptors kept open per table file (the segment being written and the ones being read). */
const OPEN_FILES = 8;

/** Where a record's body is: a chunk (segment file and offset) and its bytes within the chunk. */
export interface RecordPlace {
  readonly segment: number;
  readonly chunk: number;
  readonly start: number;
  readonly length: number;
}

/** The segment files of one table file: on disk, or in memory for an in-memory server. */
export interface SegmentFiles {
  /** The path (or name) of a segment, for messages. */
  name(log: number, segment: number): string;
  /** The log's segment numbers, ascending. */
  list(log: number): number[];
  /** Up to `length` bytes (fewer at the end of the file). */
  read(log: number, segment: number, offset: number, length: number): Buffer;
  /** Writes at `offset`; on disk in `fsync` durability, flushed before it returns. */
  write(log: number, segment: number, parts: readonly Buffer[], offset: number): void;
  remove(log: number, segment: number): void;
  close(): void;
}

const SEGMENT_SUFFIX = '.records';

/** The folder of a table file's segments (removed with the table). */
export const segmentFolder = (tableFile: string): string => `${tableFile}-records`;

export class DiskSegmentFiles implements SegmentFiles {
  readonly #folder: string;
  readonly #fds = new Map<string, number>();
  readonly #durable: boolean;

  constructor(tableFile: string, durable: boolean) {
    this.#folder = segmentFolder(tableFile);
    this.#durable = durable;
  }

  name(log: number, segment: number): string {
    return join(this.#folder, `${log}-${segment}${SEGMENT_SUFFIX}`);
  }

  list(log: number): number[] {
    if (!existsSync(this.#folder)) return [];
    const named = new RegExp(`^${log}-(\\d+)\\${SEGMENT_SUFFIX}$`);
    const segments: number[] = [];
    for (const name of readdirSync(this.#folder)) {
      const match = named.exec(name);
      if (match) segments.push(Number(match[1]));
    }
    return segments.sort((a, b) => a - b);
  }

  read(log: number, segment: number, offset: number, length: number): Buffer {
    const fd = this.#fd(log, segment, false);
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(fd, buffer, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? buffer : buffer.subarray(0, done);
  }

  write(log: number, segment: number, parts: readonly Buffer[], offset: number): void {
    const fd = this.#fd(log, segment, true);
    let position = offset;
    let pending = parts.filter((p) => p.length > 0);
    while (pending.length > 0) {
      let written = writevSync(fd, pending, position);
      position += written;
      // A short write (rare: a signal, a full disk that then throws): go on after what was written.
      const rest: Buffer[] = [];
      for (const part of pending) {
        if (written >= part.length) written -= part.length;
        else {
          rest.push(part.subarray(written));
          written = 0;
        }
      }
      pending = rest;
    }
    // Before the COMMIT whose rows name these bytes (TableFile.#commit calls flush first).
    if (this.#durable) fdatasyncSync(fd);
  }

  remove(log: number, segment: number): void {
    const key = `${log}.${segment}`;
    const fd = this.#fds.get(key);
    if (fd !== undefined) closeSync(fd);
    this.#fds.delete(key);
    rmSync(this.name(log, segment), { force: true });
  }

  close(): void {
    for (const fd of this.#fds.values()) closeSync(fd);
    this.#fds.clear();
  }

  #fd(log: number, segment: number, create: boolean): number {
    const key = `${log}.${segment}`;
    const known = this.#fds.get(key);
    if (known !== undefined) return known;
    if (this.#fds.size >= OPEN_FILES) this.close();
    const path = this.name(log, segment);
    if (create && !existsSync(path)) {
      mkdirSync(this.#folder, { recursive: true, mode: 0o700 });
      const fd = openSync(path, 'a+', 0o600);
      closeSync(fd);
      // A new segment's directory entry must outlast power loss as its bytes will.
      if (this.#durable) {
        syncDirectorySync(this.#folder);
        syncDirectorySync(dirname(this.#folder));
      }
    }
    const fd = openSync(path, 'r+');
    this.#fds.set(key, fd);
    return fd;
  }
}

/** For an in-memory server: nothing reaches the disk. */
export class MemorySegmentFiles implements SegmentFiles {
  readonly #files = new Map<string, Buffer>();

  name(log: number, segment: number): string {
    return `:memory: records ${log}.${segment}`;
  }

  list(log: number): number[] {
    const prefix = `${log}.`;
    return [...this.#files.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => Number(k.slice(prefix.length)))
      .sort((a, b) => a - b);
  }

  read(log: number, segment: number, offset: number, length: number): Buffer {
    const file = this.#files.get(`${log}.${segment}`) ?? Buffer.alloc(0);
    return Buffer.from(file.subarray(offset, offset + length));
  }

  write(log: number, segment: number, parts: readonly Buffer[], offset: number): void {
    const key = `${log}.${segment}`;
    const head = (this.#files.get(key) ?? Buffer.alloc(0)).subarray(0, offset);
    this.#files.set(key, Buffer.concat([head, Buffer.alloc(offset - head.length), ...parts]));
  }

  remove(log: number, segment: number): void {
    this.#files.delete(`${log}.${segment}`);
  }

  close(): void {
    this.#files.clear();
  }
}

interface Pending {
  readonly segment: number;
  readonly chunk: number;
  readonly parts: Buffer[];
  bytes: number;
  /** Written as one buffer when a reader in the same transaction needs it (rare). */
  joined?: Buffer;
}

interface SegmentKey {
  readonly salt: Buffer;
  readonly key: Buffer;
  /** The header is on disk (a new segment's is written with its first chunk). */
  written: boolean;
}

/**
 * The sealed bodies of one log: places records in the chunk of the transaction being built,
 * writes it before COMMIT, reads and authenticates chunks, removes the segments trimming has
 * emptied.
 */
export class LogSegments {
  readonly #files: SegmentFiles;
  readonly #log: number;
  readonly #masterKey: Buffer;
  /** Named in damage errors: the table file is what the table layer knows by. */
  readonly #tableFile: string;
  readonly #keys = new Map<number, SegmentKey>();
  /** Where the next chunk goes. */
  #segment: number;
  #end: number;
  #pending: Pending | undefined;
  /** The chunk read last, decrypted: records are read in order, many from one chunk. */
  #cached: { readonly segment: number; readonly chunk: number; readonly body: Buffer } | undefined;

  /**
   * Writing starts in a segment of its own at every open: the tail of the last process's segment
   * may hold a chunk whose COMMIT never happened (or, after power loss, a torn one). Nothing names
   * it, so it is never read, and it goes with its segment; nothing is written after it, so no
   * chunk needs finding first. Without rows (`named` false) no segment of the log is needed.
   */
  constructor(files: SegmentFiles, log: number, masterKey: Buffer, tableFile: string, named: boolean) {
    this.#files = files;
    this.#log = log;
    this.#masterKey = masterKey;
    this.#tableFile = tableFile;
    const segments = files.list(log);
    if (!named) for (const segment of segments) files.remove(log, segment);
    this.#segment = (segments.at(-1) ?? -1) + 1;
    this.#end = 0;
  }

  /** Where `body` will be once the transaction commits; its bytes join the open chunk. */
  place(body: Buffer): RecordPlace {
    let pending = this.#pending;
    if (!pending) {
      if (this.#end >= SEGMENT_LIMIT_BYTES) {
        this.#segment += 1;
        this.#end = 0;
      }
      const chunk = this.#end === 0 ? SEGMENT_HEADER_BYTES : this.#end;
      pending = { segment: this.#segment, chunk, parts: [], bytes: 0 };
      this.#pending = pending;
    }
    const place = { segment: pending.segment, chunk: pending.chunk, start: pending.bytes, length: body.length };
    pending.parts.push(body);
    pending.bytes += body.length;
    pending.joined = undefined;
    return place;
  }

  /**
   * Seals and writes the open chunk (before the COMMIT of the rows naming it). Rows of a
   * savepoint rolled back leave their bytes in the chunk, named by nothing: harmless, and gone
   * with the segment.
   */
  flush(): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = undefined;
    const key = this.#keyFor(pending.segment, true);
    const sealed = this.#seal(key.key, pending);
    const parts = key.written ? sealed : [Buffer.concat([MAGIC, key.salt]), ...sealed];
    this.#files.write(this.#log, pending.segment, parts, key.written ? pending.chunk : 0);
    key.written = true;
    this.#end = pending.chunk + CHUNK_HEAD_BYTES + pending.bytes + TAG_BYTES;
  }

  /** A COMMIT that failed: the chunk written for it is named by nothing and is written over. */
  rolledBack(): void {
    this.#pending = undefined;
  }

  /** A record's body, as it was placed. */
  body(place: RecordPlace): Buffer {
    const pending = this.#pending;
    let chunk: Buffer;
    if (pending && pending.segment === place.segment && pending.chunk === place.chunk) {
      pending.joined ??= Buffer.concat(pending.parts);
      chunk = pending.joined;
    } else {
      const cached = this.#cached;
      if (cached && cached.segment === place.segment && cached.chunk === place.chunk) chunk = cached.body;
      else {
        chunk = this.#readChunk(place.segment, place.chunk).body;
        this.#cached = { segment: place.segment, chunk: place.chunk, body: chunk };
      }
    }
    if (place.start + place.length > chunk.length) this.#damaged(place.segment, 'a record lies beyond its chunk');
    return chunk.subarray(place.start, place.start + place.length);
  }

  /** Removes the segments before `segment` (the oldest one a row still names), or all of them. */
  removeBefore(segment: number | undefined): void {
    for (const s of this.#files.list(this.#log)) {
      if (segment !== undefined && s >= segment) break;
      this.#files.remove(this.#log, s);
      this.#forget(s);
      if (this.#cached?.segment === s) this.#cached = undefined;
      if (s === this.#segment) this.#end = SEGMENT_LIMIT_BYTES;
    }
  }

  close(): void {
    for (const s of [...this.#keys.keys()]) this.#forget(s);
    this.#cached = undefined;
  }

  #forget(segment: number): void {
    const key = this.#keys.get(segment);
    key?.key.fill(0);
    this.#keys.delete(segment);
  }

  #seal(key: Buffer, pending: Pending): Buffer[] {
    const head = Buffer.allocUnsafe(CHUNK_HEAD_BYTES);
    head.writeUInt32BE(pending.bytes, 0);
    randomFillSync(head, LENGTH_BYTES, IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, head.subarray(LENGTH_BYTES));
    cipher.setAAD(this.#aad(pending.segment, pending.chunk, pending.bytes));
    const out = [head];
    for (const part of pending.parts) out.push(cipher.update(part));
    out.push(cipher.final(), cipher.getAuthTag());
    return out;
  }

  /** What a chunk is bound to besides its bytes: where it is and how long. */
  #aad(segment: number, chunk: number, bytes: number): Buffer {
    const aad = Buffer.allocUnsafe(20);
    aad.writeUInt32BE(this.#log, 0);
    aad.writeUInt32BE(segment, 4);
    aad.writeUIntBE(chunk, 8, 6);
    aad.writeUInt16BE(0, 14);
    aad.writeUInt32BE(bytes, 16);
    return aad;
  }

  #readChunk(segment: number, chunk: number): { body: Buffer } {
    const key = this.#keyFor(segment, false).key;
    const head = this.#files.read(this.#log, segment, chunk, CHUNK_HEAD_BYTES);
    if (head.length < CHUNK_HEAD_BYTES) this.#damaged(segment, 'it is cut short');
    const bytes = head.readUInt32BE(0);
    const sealed = this.#files.read(this.#log, segment, chunk + CHUNK_HEAD_BYTES, bytes + TAG_BYTES);
    if (sealed.length < bytes + TAG_BYTES) this.#damaged(segment, 'it is cut short');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, head.subarray(LENGTH_BYTES));
      decipher.setAAD(this.#aad(segment, chunk, bytes));
      decipher.setAuthTag(sealed.subarray(bytes));
      const body = Buffer.concat([decipher.update(sealed.subarray(0, bytes)), decipher.final()]);
      return { body };
    } catch {
      this.#damaged(segment, 'a chunk fails its authentication check');
    }
  }

  #keyFor(segment: number, forWriting: boolean): SegmentKey {
    const known = this.#keys.get(segment);
    if (known) return known;
    let salt: Buffer;
    let written: boolean;
    const header = this.#exists(segment)
      ? this.#files.read(this.#log, segment, 0, SEGMENT_HEADER_BYTES)
      : Buffer.alloc(0);
    if (header.length === SEGMENT_HEADER_BYTES) {
      if (!header.subarray(0, MAGIC.length).equals(MAGIC)) this.#damaged(segment, 'its header is not a segment header');
      salt = Buffer.from(header.subarray(MAGIC.length));
      written = true;
    } else if (forWriting) {
      salt = randomFillSync(Buffer.allocUnsafe(SALT_BYTES));
      written = false;
    } else {
      this.#damaged(segment, header.length === 0 ? 'it is missing' : 'it is cut short');
    }
    const info = Buffer.allocUnsafe(8 + 8);
    info.write('segment\0', 0, 'latin1');
    info.writeUInt32BE(this.#log, 8);
    info.writeUInt32BE(segment, 12);
    const key = Buffer.from(hkdfSync('sha256', this.#masterKey, salt, info, 32));
    const entry = { salt, key, written };
    this.#keys.set(segment, entry);
    return entry;
  }

  #exists(segment: number): boolean {
    return this.#files.list(this.#log).includes(segment);
  }

  #damaged(segment: number, detail: string): never {
    throw new DamagedFileError(
      this.#tableFile,
      `its record segment ${this.#files.name(this.#log, segment)} is damaged: ${detail}`,
    );
  }
}

/** The key the segments' keys are drawn from, for one table file's key (zeroed by the caller). */
export function segmentMasterKey(fileKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), Buffer.from('sealdb record segments', 'latin1'), 32));
}
