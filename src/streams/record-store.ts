/**
 * Where a stream's records live: an append-only log of the table's own encrypted file (one per
 * stream, numbered by the stream's Space), each record at a position that encodes its sequence
 * number: (ms since the stream's creation) · 4096 + counter. Positions so order the records as
 * their sequence numbers do, and a shard (a time range) is a position range. The body of a
 * record holds its images as stored (record-codec.ts), so reading never parses or re-serialises
 * an image.
 * (Up to 4096 records per millisecond and 69 years per stream fit below 2^53.)
 */
import type { LogRecord, TableStore } from '../storage/table-file.js';
import { SHARD_ROLL_MS, type StreamDefinition } from './definition.js';
import { COUNTER_SPAN, formatSequence, parseSequence, type SequencePosition } from './shards.js';

export const positionAt = (stream: StreamDefinition, ms: number, counter: number): number =>
  Math.max(0, ms - stream.CreatedAt) * COUNTER_SPAN + counter;

/** The position of a sequence number (the first one after it, for a counter no record can have). */
export function positionOf(stream: StreamDefinition, sequence: string): number {
  const { ms, counter } = parseSequence(sequence) ?? { ms: stream.CreatedAt, counter: 0 };
  if (ms < stream.CreatedAt) return 0;
  return positionAt(stream, ms, Math.min(counter, COUNTER_SPAN));
}

/** The time (epoch ms) of the record at a position. */
export const msAt = (stream: StreamDefinition, position: number): number =>
  stream.CreatedAt + Math.floor(position / COUNTER_SPAN);

export function sequenceAt(stream: StreamDefinition, position: number): string {
  const counter = position % COUNTER_SPAN;
  return formatSequence(stream.CreatedAt + (position - counter) / COUNTER_SPAN, counter);
}

/** The positions of shard `index`: [from, below). */
export function shardPositions(index: number): { from: number; below: number } {
  const span = SHARD_ROLL_MS * COUNTER_SPAN;
  return { from: index * span, below: (index + 1) * span };
}

/** The records of one shard from the sequence number `from` (inclusive) on. */
export function shardRecords(
  store: TableStore,
  stream: StreamDefinition,
  shard: number,
  from: string | undefined,
): IterableIterator<LogRecord> {
  const range = shardPositions(shard);
  const start = from === undefined ? range.from : Math.max(range.from, positionOf(stream, from));
  return store.records(stream.Space, start, range.below);
}

/** The newest record of a shard, if it has one. */
export function lastRecordOf(store: TableStore, stream: StreamDefinition, shard: number): string | undefined {
  const range = shardPositions(shard);
  const last = store.lastRecord(stream.Space, range.below);
  return last !== undefined && last >= range.from ? sequenceAt(stream, last) : undefined;
}

/** The newest record of the stream: where a reopened file's sequence clock resumes. */
export function lastPositionOf(store: TableStore, stream: StreamDefinition): SequencePosition | undefined {
  const last = store.lastRecord(stream.Space, Number.MAX_SAFE_INTEGER);
  return last === undefined ? undefined : parseSequence(sequenceAt(stream, last));
}
