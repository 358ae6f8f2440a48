/**
 * A stream's shards and sequence numbers, both derived from the clock so that nothing about them
 * needs storing beyond the records themselves.
 *
 * A sequence number is the record's time in epoch milliseconds (13 digits) followed by an 8-digit
 * counter within that millisecond (below COUNTER_SPAN): 21 decimal digits, the model's minimum length, so that
 * sequence numbers compare as strings the way they compare as numbers. Times never go back (a
 * record is stamped no earlier than the one before it), so they increase across restarts too.
 *
 * Shard k of a stream takes the records stamped in [CreatedAt + k·4h, CreatedAt + (k+1)·4h); it is
 * closed once that time is past (or the stream disabled) and its child is shard k+1. Its
 * sequence-number range is that of its time range, so even a shard without records has one.
 */
import { createHash } from 'node:crypto';
import { RETENTION_MS, SHARD_ROLL_MS, type StreamDefinition, streamExpired } from './definition.js';

const COUNTER_DIGITS = 8;
/**
 * Records per millisecond of one stream before the clock moves on to the next millisecond
 * (record-store.ts packs the counter into a log position). The counter is still written with
 * 8 digits, so sequence numbers keep their 21-digit shape.
 */
export const COUNTER_SPAN = 4096;
const MAX_COUNTER = COUNTER_SPAN - 1;
const MS_DIGITS = 13;
const SEQUENCE = /^\d{21}$/;

export interface SequencePosition {
  readonly ms: number;
  readonly counter: number;
}

export const formatSequence = (ms: number, counter: number): string =>
  `${String(ms).padStart(MS_DIGITS, '0')}${String(counter).padStart(COUNTER_DIGITS, '0')}`;

/** undefined for anything that is not one of sealdb's sequence numbers. */
export function parseSequence(text: string): SequencePosition | undefined {
  if (!SEQUENCE.test(text)) return undefined;
  return { ms: Number(text.slice(0, MS_DIGITS)), counter: Number(text.slice(MS_DIGITS)) };
}

/** The sequence number right after this one (AFTER_SEQUENCE_NUMBER). */
export function nextSequence(text: string): string {
  const { ms, counter } = parseSequence(text) ?? { ms: 0, counter: 0 };
  return counter < MAX_COUNTER ? formatSequence(ms, counter + 1) : formatSequence(ms + 1, 0);
}

/** Hands out sequence numbers for one stream: increasing, never behind the last one stored. */
export class SequenceClock {
  #ms: number;
  #counter: number;

  /** `first`: no record is stamped before it (the stream's creation). */
  constructor(last: SequencePosition | undefined, first = 0) {
    this.#ms = Math.max(last?.ms ?? 0, first);
    this.#counter = last && last.ms >= first ? last.counter : -1;
  }

  next(now: number): SequencePosition {
    if (now > this.#ms) {
      this.#ms = now;
      this.#counter = 0;
    } else if (this.#counter < MAX_COUNTER) {
      this.#counter++;
    } else {
      this.#ms++;
      this.#counter = 0;
    }
    return { ms: this.#ms, counter: this.#counter };
  }
}

export interface ShardInfo {
  readonly index: number;
  readonly shardId: string;
  readonly parentShardId?: string;
  readonly startMs: number;
  /** Exclusive; for the open shard, when it will close. */
  readonly endMs: number;
  readonly closed: boolean;
  readonly startingSequenceNumber: string;
  /** Closed shards only. */
  readonly endingSequenceNumber?: string;
}

/** The shard a record stamped at `ms` belongs to. */
export const shardIndexAt = (stream: StreamDefinition, ms: number): number =>
  Math.max(0, Math.floor((ms - stream.CreatedAt) / SHARD_ROLL_MS));

/**
 * `shardId-<start ms, 20 digits>-<8 hex>`, the shape of DynamoDB's shard ids (28..65 characters);
 * the suffix ties the id to its stream, so one stream's shard id names nothing in another.
 */
export function shardIdOf(arn: string, stream: StreamDefinition, index: number): string {
  const start = stream.CreatedAt + index * SHARD_ROLL_MS;
  const suffix = createHash('sha256').update(`${arn}#${index}`).digest('hex').slice(0, 8);
  return `shardId-${String(start).padStart(20, '0')}-${suffix}`;
}

/** The index of a shard id of this stream (existing or not), or undefined. */
export function shardIndexOf(arn: string, stream: StreamDefinition, shardId: string): number | undefined {
  const match = /^shardId-(\d{20})-[0-9a-f]{8}$/.exec(shardId);
  if (!match) return undefined;
  const offset = Number(match[1]) - stream.CreatedAt;
  if (offset < 0 || offset % SHARD_ROLL_MS !== 0) return undefined;
  const index = offset / SHARD_ROLL_MS;
  return shardIdOf(arn, stream, index) === shardId ? index : undefined;
}

/** The shard of that index, described at `now`; undefined if it does not exist (yet, or any more). */
export function shardAt(arn: string, stream: StreamDefinition, index: number, now: number): ShardInfo | undefined {
  if (!Number.isInteger(index) || index < 0 || streamExpired(stream, now)) return undefined;
  const last = lastShardIndex(stream, now);
  if (index > last) return undefined;
  const startMs = stream.CreatedAt + index * SHARD_ROLL_MS;
  let endMs = startMs + SHARD_ROLL_MS;
  if (stream.DisabledAt !== undefined && index === last) endMs = Math.min(endMs, stream.DisabledAt + 1);
  // Gone once everything it could hold is past retention.
  if (endMs <= now - RETENTION_MS) return undefined;
  const closed = endMs <= now || (stream.DisabledAt !== undefined && index === last);
  return {
    index,
    shardId: shardIdOf(arn, stream, index),
    ...(index > 0 ? { parentShardId: shardIdOf(arn, stream, index - 1) } : {}),
    startMs,
    endMs,
    closed,
    startingSequenceNumber: formatSequence(startMs, 0),
    ...(closed ? { endingSequenceNumber: formatSequence(endMs - 1, MAX_COUNTER) } : {}),
  };
}

/** Every shard that still exists at `now`, parents before children. */
export function shardsOf(arn: string, stream: StreamDefinition, now: number): ShardInfo[] {
  const shards: ShardInfo[] = [];
  const last = lastShardIndex(stream, now);
  // Only the last 24 h of shards can exist: at most 7 with 4-hour shards.
  const first = Math.max(0, last - Math.ceil(RETENTION_MS / SHARD_ROLL_MS) - 1);
  for (let index = first; index <= last; index++) {
    const shard = shardAt(arn, stream, index, now);
    if (shard) shards.push(shard);
  }
  return shards;
}

function lastShardIndex(stream: StreamDefinition, now: number): number {
  return shardIndexAt(stream, stream.DisabledAt ?? Math.max(now, stream.CreatedAt));
}

/** The oldest time a record may have and still be readable. */
export const trimHorizon = (now: number): number => now - RETENTION_MS;
