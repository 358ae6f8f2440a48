/**
 * How much of a write-ahead log is not yet copied into its database, read from the log's
 * wal-index (the `-shm` file) without taking any lock or copying anything.
 *
 * Layout (https://www.sqlite.org/walformat.html#the_wal_index_file_format): the file begins with
 * two copies of the 48-byte header (mxFrame, the last valid frame, at byte 16 of each), then the
 * checkpoint info (nBackfill, the frames already copied into the database, at byte 96), all in
 * the machine's native byte order. A read may meet a header being rewritten: the answer is only
 * a hint for when to checkpoint, and SQLite's own checkpoint works from the locked header.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';

const MX_FRAME = 16;
const N_BACKFILL = 96;
const READ_BYTES = 100;
const littleEndian = endianness() === 'LE';

export interface WalProgress {
  /** Frames in the log (its generation since the last restart). */
  readonly frames: number;
  /** Frames of those already copied into the database. */
  readonly copied: number;
}

/** The log's progress, or undefined when its wal-index cannot be read (no log yet, a short file). */
export function walProgress(databaseFile: string): WalProgress | undefined {
  let fd: number;
  try {
    fd = openSync(`${databaseFile}-shm`, 'r');
  } catch {
    return undefined;
  }
  try {
    const header = Buffer.alloc(READ_BYTES);
    if (readSync(fd, header, 0, READ_BYTES, 0) < READ_BYTES) return undefined;
    const read = (at: number) => (littleEndian ? header.readUInt32LE(at) : header.readUInt32BE(at));
    return { frames: read(MX_FRAME), copied: read(N_BACKFILL) };
  } finally {
    closeSync(fd);
  }
}
