/**
 * The file an account's current hour is appended to. Each append is a sealed frame (frames.ts)
 * that is on disk (fsync'd) before `append` resolves, so a KMS response is never sent for an
 * unrecorded call. Appends that arrive while a sync is in flight share the next write and sync
 * (group commit).
 *
 * Records are not kept in memory: the file is their only copy, and an index of 32 bytes per
 * record (offset, length, time, a 128-bit Bloom filter of its lookup attributes) lets lookups
 * read just the frames they return. A million records an hour cost 32 MB of index (64 MB for
 * the moment an array doubles), whatever the records' size.
 */
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { copyFile, open, rename, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ensureDirectory, syncDirectory } from './durable-fs.js';
import { FrameCodec, type FrameDamage, type FrameScanResult, type ScannedFrame, scanFrames } from './frames.js';
import type { CloudTrailRecord } from './record.js';
import { BLOOM_WORDS, mayMatch, type RecordSummary, summarize } from './record-filter.js';
import type { TrailCipher } from './sealed-file.js';
import type { HourScan, RecordVisitor } from './trail-source.js';

/** Where each record of an open hour file is, and what it may match. */
class FrameIndex {
  #offsets = new Float64Array(1024);
  #lengths = new Uint32Array(1024);
  #times = new Uint32Array(1024);
  #blooms = new Uint32Array(1024 * BLOOM_WORDS);
  count = 0;

  push(offset: number, length: number, summary: RecordSummary): void {
    if (this.count === this.#lengths.length) this.#grow();
    const i = this.count++;
    this.#offsets[i] = offset;
    this.#lengths[i] = length;
    this.#times[i] = summary.time;
    this.#blooms.set(summary.bloom, i * BLOOM_WORDS);
  }

  offset(i: number): number {
    return this.#offsets[i] as number;
  }

  length(i: number): number {
    return this.#lengths[i] as number;
  }

  mayMatch(i: number, scan: HourScan): boolean {
    return !scan.filter || mayMatch(scan.filter, this.#times[i] as number, this.#blooms, i * BLOOM_WORDS);
  }

  #grow(): void {
    const size = this.#lengths.length * 2;
    const offsets = new Float64Array(size);
    offsets.set(this.#offsets);
    const lengths = new Uint32Array(size);
    lengths.set(this.#lengths);
    const times = new Uint32Array(size);
    times.set(this.#times);
    const blooms = new Uint32Array(size * BLOOM_WORDS);
    blooms.set(this.#blooms);
    this.#offsets = offsets;
    this.#lengths = lengths;
    this.#times = times;
    this.#blooms = blooms;
  }
}

const parseRecord = (content: Buffer): CloudTrailRecord => JSON.parse(content.toString('utf8')) as CloudTrailRecord;

/** Reads indexed records newest first; a frame that no longer authenticates is reported and skipped. */
async function scanIndexed(
  handle: FileHandle,
  codec: FrameCodec,
  index: FrameIndex,
  scan: HourScan,
  visit: RecordVisitor,
  unreadable: (position: number) => void,
): Promise<void> {
  const end = scan.before === undefined ? index.count : Math.min(scan.before, index.count);
  for (let position = end - 1; position >= 0; position--) {
    if (!index.mayMatch(position, scan)) continue;
    const length = index.length(position);
    const frame = Buffer.alloc(length);
    const { bytesRead } = await handle.read(frame, 0, length, index.offset(position));
    const content = bytesRead === length ? codec.open(frame) : undefined;
    if (!content) {
      unreadable(position);
      continue;
    }
    if (!visit(parseRecord(content), position)) return;
  }
}

/** What opening an open hour file found and did about damage. */
export interface OpenHourRecovery {
  readonly damage: readonly FrameDamage[];
  /** The damaged file's copy, set aside next to it (absolute path). */
  readonly aside: string;
  /** Authentic frames kept. */
  readonly kept: number;
}

interface PendingAppend {
  readonly frame: Buffer;
  readonly summary: RecordSummary;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface OpenHourOptions {
  /** Appended to the file's name for the copy of a damaged file, e.g. `.damaged-<ms>`. */
  readonly asideSuffix: string;
}

/** `base`, or `base-1`, `base-2`, … if taken: a set-aside copy never replaces an earlier one. */
export async function freeName(base: string): Promise<string> {
  for (let n = 0; ; n++) {
    const name = n === 0 ? base : `${base}-${n}`;
    const taken = await stat(name).then(
      () => true,
      () => false,
    );
    if (!taken) return name;
  }
}

/**
 * Rewrites a file holding damage or old-format frames with just its authentic frames, renumbered,
 * after copying it aside (damage only) so that verify keeps reporting what was lost.
 */
async function recover(
  absolutePath: string,
  handle: FileHandle,
  codec: FrameCodec,
  scan: FrameScanResult,
  options: OpenHourOptions,
): Promise<{ index: FrameIndex; aside: string | undefined }> {
  let aside: string | undefined;
  if (scan.damage.length > 0) {
    aside = await freeName(`${absolutePath}${options.asideSuffix}`);
    await copyFile(absolutePath, aside, constants.COPYFILE_EXCL);
    const copy = await open(aside, 'r+');
    try {
      await copy.sync();
    } finally {
      await copy.close();
    }
  }
  const temp = `${absolutePath}.recovered.tmp`;
  const out = await open(temp, 'w', 0o600);
  const index = new FrameIndex();
  try {
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let size = 0;
    await scanFrames(handle, codec, async (f: ScannedFrame) => {
      const frame = codec.seal(f.ordinal, f.content);
      index.push(size, frame.length, summarize(parseRecord(f.content)));
      size += frame.length;
      batch.push(frame);
      batchBytes += frame.length;
      if (batchBytes >= 4 * 1024 * 1024) {
        await out.write(Buffer.concat(batch));
        batch = [];
        batchBytes = 0;
      }
    });
    if (batch.length > 0) await out.write(Buffer.concat(batch));
    await out.sync();
  } finally {
    await out.close();
  }
  await rename(temp, absolutePath);
  await syncDirectory(dirname(absolutePath));
  return { index, aside };
}

export class OpenHourFile {
  readonly #handle: FileHandle;
  readonly #path: string;
  readonly #codec: FrameCodec;
  readonly #index: FrameIndex;
  #size: number;
  #nextIndex: number;
  #pending: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  /** After a failed write the file's tail is unknown: later appends would not be readable. */
  #broken: unknown;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(handle: FileHandle, path: string, codec: FrameCodec, index: FrameIndex, size: number) {
    this.#handle = handle;
    this.#path = path;
    this.#codec = codec;
    this.#index = index;
    this.#size = size;
    this.#nextIndex = index.count;
  }

  /**
   * Opens (creating if needed) the open hour file at `absolutePath`, whose trail-relative path
   * `path` keys its frames. A torn last frame is cut off; damage elsewhere costs only the frames
   * it touches: the file is copied aside and rewritten with every frame that authenticates.
   */
  static async open(
    absolutePath: string,
    path: string,
    cipher: TrailCipher,
    options: OpenHourOptions,
  ): Promise<{ file: OpenHourFile; recovery?: OpenHourRecovery; cutTailBytes?: number }> {
    await ensureDirectory(dirname(absolutePath));
    const existed = await stat(absolutePath).then(
      () => true,
      () => false,
    );
    let handle = await open(absolutePath, 'a+', 0o600);
    const codec = new FrameCodec(cipher.frameKey(path));
    try {
      let index = new FrameIndex();
      const scan = await scanFrames(handle, codec, (f) => {
        index.push(f.offset, f.length, summarize(parseRecord(f.content)));
      });
      let recovery: OpenHourRecovery | undefined;
      let size = scan.validEnd;
      let cutTailBytes: number | undefined;
      if (scan.damage.length > 0 || scan.legacy) {
        const done = await recover(absolutePath, handle, codec, scan, options);
        await handle.close();
        handle = await open(absolutePath, 'a+', 0o600);
        index = done.index;
        size = (await handle.stat()).size;
        if (done.aside !== undefined) recovery = { damage: scan.damage, aside: done.aside, kept: scan.frames };
      } else if (scan.tornTail) {
        cutTailBytes = scan.size - scan.validEnd;
        await handle.truncate(scan.validEnd);
        await handle.sync();
      }
      if (!existed) await syncDirectory(dirname(absolutePath));
      const file = new OpenHourFile(handle, path, codec, index, size);
      return { file, ...(recovery ? { recovery } : {}), ...(cutTailBytes !== undefined ? { cutTailBytes } : {}) };
    } catch (error) {
      codec.destroy();
      await handle.close();
      throw error;
    }
  }

  /** Streams every authentic frame of a file that is not open for appending (finalize, CLI, verify). */
  static async read(
    absolutePath: string,
    path: string,
    cipher: TrailCipher,
    visit: (frame: ScannedFrame) => void | Promise<void>,
  ): Promise<FrameScanResult> {
    const handle = await open(absolutePath, 'r');
    const codec = new FrameCodec(cipher.frameKey(path));
    try {
      return await scanFrames(handle, codec, visit);
    } finally {
      codec.destroy();
      await handle.close();
    }
  }

  /** Records durably appended so far. */
  get count(): number {
    return this.#index.count;
  }

  append(record: CloudTrailRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`open hour file ${this.#path} is closed`));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    let frame: Buffer;
    try {
      frame = this.#codec.seal(this.#nextIndex, Buffer.from(JSON.stringify(record), 'utf8'));
      this.#nextIndex++;
    } catch (error) {
      return Promise.reject(error);
    }
    const summary = summarize(record);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ frame, summary, resolve, reject });
      this.#flushing ??= this.#flush().finally(() => {
        this.#flushing = undefined;
      });
    });
  }

  /** Visits durably appended records newest first, reading only those that may match. */
  scan(scan: HourScan, visit: RecordVisitor, unreadable: (position: number) => void): Promise<void> {
    return scanIndexed(this.#handle, this.#codec, this.#index, scan, visit, unreadable);
  }

  /** Waits for every accepted append to be durable, then closes the handle. */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= (async () => {
      while (this.#flushing) await this.#flushing;
      try {
        await this.#handle.close();
      } finally {
        this.#codec.destroy();
      }
    })();
    return this.#closing;
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      // Indices were given out in pending order: a batch is written whole, in that order.
      const batch = this.#pending.splice(0);
      try {
        if (this.#broken !== undefined) throw this.#broken;
        const bytes = Buffer.concat(batch.map((p) => p.frame));
        await this.#handle.appendFile(bytes);
        await this.#handle.datasync();
        let offset = this.#size;
        for (const p of batch) {
          this.#index.push(offset, p.frame.length, p.summary);
          offset += p.frame.length;
        }
        this.#size = offset;
        for (const p of batch) p.resolve();
      } catch (error) {
        this.#broken ??= error;
        for (const p of batch) p.reject(error);
      }
    }
  }
}

/** An open hour file read by another process (the CLI), indexed once, then read like the server's. */
export class OpenHourSnapshot {
  private constructor(
    private readonly handle: FileHandle,
    private readonly codec: FrameCodec,
    private readonly index: FrameIndex,
  ) {}

  static async load(
    absolutePath: string,
    path: string,
    cipher: TrailCipher,
  ): Promise<{ snapshot: OpenHourSnapshot; damage: readonly FrameDamage[] }> {
    const handle = await open(absolutePath, 'r');
    const codec = new FrameCodec(cipher.frameKey(path));
    const index = new FrameIndex();
    let scan: FrameScanResult;
    try {
      scan = await scanFrames(handle, codec, (f) => {
        index.push(f.offset, f.length, summarize(parseRecord(f.content)));
      });
    } catch (error) {
      codec.destroy();
      await handle.close();
      throw error;
    }
    return { snapshot: new OpenHourSnapshot(handle, codec, index), damage: scan.damage };
  }

  scan(scan: HourScan, visit: RecordVisitor, unreadable: (position: number) => void): Promise<void> {
    return scanIndexed(this.handle, this.codec, this.index, scan, visit, unreadable);
  }

  async close(): Promise<void> {
    this.codec.destroy();
    await this.handle.close();
  }
}
