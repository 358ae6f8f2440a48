/**
 * The frames of an open hour file: one sealed record per append.
 *
 *   frame:  mark "SDBF"(4) | index(4) | length(4) | iv(12) | ciphertext(length) | tag(16)
 *
 * AES-256-GCM under the file's key, with the 12-byte header as additional data, so a frame's
 * position (index) and length are authenticated with its content. The mark lets a reader find
 * the next frame after a damaged one: damage costs the frames it touches, never the rest of the
 * file. Indices run 0, 1, 2, … in a file, so a frame cut out, replayed or moved shows as a gap or
 * a step back. Files written before the mark existed (`length | iv | ciphertext | tag`, additional
 * data `frame|<index>`) are still read, from the start of a file.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

const MARK = Buffer.from('SDBF', 'ascii');
const HEADER_BYTES = 12;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * A frame's content is one record, which record.ts bounds to 256 KB; anything claiming more is
 * damage (and is never written: `seal` refuses it, failing the call rather than its trail).
 */
export const MAX_FRAME_CONTENT = 1024 * 1024;
/** The old format's bound. */
const LEGACY_MAX = 16 * 1024 * 1024;
const READ_WINDOW = 4 * 1024 * 1024;

export const frameBytes = (contentLength: number): number => HEADER_BYTES + IV_BYTES + contentLength + TAG_BYTES;

/** Seals and opens the frames of one open hour file (its key derived once, zeroed by `destroy`). */
export class FrameCodec {
  #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  seal(index: number, content: Buffer): Buffer {
    if (content.length > MAX_FRAME_CONTENT) {
      throw new Error(`an audit record of ${content.length} bytes is over the ${MAX_FRAME_CONTENT}-byte frame bound`);
    }
    const header = Buffer.alloc(HEADER_BYTES);
    MARK.copy(header);
    header.writeUInt32BE(index, 4);
    header.writeUInt32BE(content.length, 8);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#usable(), iv);
    cipher.setAAD(header);
    return Buffer.concat([header, iv, cipher.update(content), cipher.final(), cipher.getAuthTag()]);
  }

  /** The content of a whole frame, or undefined when it does not authenticate. */
  open(frame: Buffer): Buffer | undefined {
    if (frame.length < HEADER_BYTES + IV_BYTES + TAG_BYTES) return undefined;
    const header = frame.subarray(0, HEADER_BYTES);
    const iv = frame.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
    return this.#decrypt(header, iv, frame.subarray(HEADER_BYTES + IV_BYTES, frame.length - TAG_BYTES), frame);
  }

  openLegacy(index: number, frame: Buffer): Buffer | undefined {
    const iv = frame.subarray(4, 4 + IV_BYTES);
    return this.#decrypt(
      Buffer.from(`frame|${index}`, 'utf8'),
      iv,
      frame.subarray(4 + IV_BYTES, frame.length - TAG_BYTES),
      frame,
    );
  }

  destroy(): void {
    this.#key.fill(0);
    this.#key = Buffer.alloc(0);
  }

  #decrypt(aad: Buffer, iv: Buffer, body: Buffer, frame: Buffer): Buffer | undefined {
    const decipher = createDecipheriv('aes-256-gcm', this.#usable(), iv);
    decipher.setAAD(aad);
    decipher.setAuthTag(frame.subarray(frame.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(body), decipher.final()]);
    } catch {
      return undefined;
    }
  }

  #usable(): Buffer {
    if (this.#key.length === 0) throw new Error('frame codec destroyed');
    return this.#key;
  }
}

/** A stretch of an open hour file that held no authentic frame, or frames missing between two. */
export interface FrameDamage {
  /** Byte range [from, to) of the file. */
  readonly from: number;
  readonly to: number;
  /** Indices of the frames lost there: from `firstLost` up to `lastLost` (undefined: every frame after). */
  readonly firstLost: number;
  readonly lastLost: number | undefined;
}

export interface ScannedFrame {
  /** Position among the authentic frames (0, 1, …), which is the record's position in its hour. */
  readonly ordinal: number;
  readonly offset: number;
  readonly length: number;
  readonly content: Buffer;
}

export interface FrameScanResult {
  readonly frames: number;
  readonly size: number;
  /** End of the last authentic frame. */
  readonly validEnd: number;
  readonly damage: readonly FrameDamage[];
  /** An incomplete last frame: an append a crash cut short, never acknowledged. */
  readonly tornTail: boolean;
  /** Frames in the format before the mark (the file should be rewritten). */
  readonly legacy: boolean;
}

/** Human words for damage, naming frames and bytes, for warnings and verify. */
export function describeDamage(damage: readonly FrameDamage[]): string {
  return damage
    .map((d) => {
      const bytes = `bytes ${d.from}-${d.to}`;
      if (d.lastLost === undefined) return `frame ${d.firstLost} and any after it (${bytes} to the end)`;
      if (d.lastLost < d.firstLost) return `${bytes} (unreadable, no frame lost)`;
      const lost = d.lastLost === d.firstLost ? `frame ${d.firstLost}` : `frames ${d.firstLost}-${d.lastLost}`;
      return `${lost} (${bytes})`;
    })
    .join('; ');
}

/** Lost frames, counted where the count is known (damage at the end may hide any number). */
export function lostFrames(damage: readonly FrameDamage[]): { count: number; open: boolean } {
  let count = 0;
  let open = false;
  for (const d of damage) {
    if (d.lastLost === undefined) {
      open = true;
      count += 1;
    } else if (d.lastLost >= d.firstLost) count += d.lastLost - d.firstLost + 1;
  }
  return { count, open };
}

/** Positional reads of a file through a window, for sequential scans without holding the file. */
class FileWindow {
  #buffer = Buffer.alloc(0);
  #start = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
  ) {}

  /** Up to `n` bytes at `offset` (fewer at the end of the file). */
  async get(offset: number, n: number): Promise<Buffer> {
    const end = Math.min(offset + n, this.size);
    if (offset >= this.#start && end <= this.#start + this.#buffer.length) {
      return this.#buffer.subarray(offset - this.#start, end - this.#start);
    }
    const length = Math.min(Math.max(n, READ_WINDOW), this.size - offset);
    const buffer = Buffer.alloc(Math.max(0, length));
    let read = 0;
    while (read < length) {
      const { bytesRead } = await this.handle.read(buffer, read, length - read, offset + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    this.#buffer = buffer.subarray(0, read);
    this.#start = offset;
    return this.#buffer.subarray(0, Math.min(n, read));
  }

  /** Offset of the next mark at or after `from`, or -1. */
  async findMark(from: number): Promise<number> {
    let at = from;
    while (at < this.size) {
      const window = await this.get(at, READ_WINDOW);
      const found = window.indexOf(MARK);
      if (found >= 0) return at + found;
      if (at + window.length >= this.size) return -1;
      at += window.length - (MARK.length - 1);
    }
    return -1;
  }
}

type Attempt =
  | { readonly kind: 'frame'; readonly index: number; readonly length: number; readonly content: Buffer }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'bad' };

async function attempt(
  window: FileWindow,
  codec: FrameCodec,
  offset: number,
  legacyIndex: number | undefined,
): Promise<Attempt> {
  const head = await window.get(offset, HEADER_BYTES);
  if (head.length >= MARK.length && head.subarray(0, MARK.length).equals(MARK)) {
    if (head.length < HEADER_BYTES) return { kind: 'incomplete' };
    const length = head.readUInt32BE(8);
    if (length > MAX_FRAME_CONTENT) return { kind: 'bad' };
    const total = frameBytes(length);
    if (offset + total > window.size) return { kind: 'incomplete' };
    const content = codec.open(await window.get(offset, total));
    return content ? { kind: 'frame', index: head.readUInt32BE(4), length: total, content } : { kind: 'bad' };
  }
  if (legacyIndex === undefined) return { kind: 'bad' };
  if (head.length < 4) return { kind: 'incomplete' };
  const length = head.readUInt32BE(0);
  if (length > LEGACY_MAX) return { kind: 'bad' };
  const total = 4 + IV_BYTES + length + TAG_BYTES;
  if (offset + total > window.size) return { kind: 'incomplete' };
  const content = codec.openLegacy(legacyIndex, await window.get(offset, total));
  return content ? { kind: 'frame', index: legacyIndex, length: total, content } : { kind: 'bad' };
}

/**
 * Reads every authentic frame of an open hour file in order, streaming (memory stays at the read
 * window). After a frame that does not authenticate, reading resumes at the next frame that does.
 */
export async function scanFrames(
  handle: FileHandle,
  codec: FrameCodec,
  visit: (frame: ScannedFrame) => void | Promise<void>,
): Promise<FrameScanResult> {
  const size = (await handle.stat()).size;
  const window = new FileWindow(handle, size);
  const damage: FrameDamage[] = [];
  let offset = 0;
  let ordinal = 0;
  let lastIndex = -1;
  let validEnd = 0;
  let legacy = false;
  /** Legacy frames are only read from the start of a file, before any other. */
  let legacyPossible = true;
  let damageStart: number | undefined;
  let incompleteAtDamageStart = false;
  while (offset < size) {
    const result = await attempt(window, codec, offset, legacyPossible ? ordinal : undefined);
    if (result.kind === 'frame' && result.index > lastIndex) {
      if (damageStart !== undefined || result.index !== lastIndex + 1) {
        damage.push({ from: damageStart ?? offset, to: offset, firstLost: lastIndex + 1, lastLost: result.index - 1 });
      }
      damageStart = undefined;
      if (result.length !== frameBytes(result.content.length)) legacy = true;
      else legacyPossible = false;
      await visit({ ordinal, offset, length: result.length, content: result.content });
      ordinal++;
      lastIndex = result.index;
      offset += result.length;
      validEnd = offset;
      continue;
    }
    legacyPossible = false;
    if (damageStart === undefined) {
      damageStart = offset;
      incompleteAtDamageStart = result.kind === 'incomplete';
    }
    const next = await window.findMark(offset + 1);
    if (next < 0) break;
    offset = next;
  }
  let tornTail = false;
  if (damageStart !== undefined) {
    // Only the last append can be cut short by a crash; anything else at the end is damage.
    if (damageStart === validEnd && incompleteAtDamageStart) tornTail = true;
    else damage.push({ from: damageStart, to: size, firstLost: lastIndex + 1, lastLost: undefined });
  }
  return { frames: ordinal, size, validEnd, damage, tornTail, legacy };
}
