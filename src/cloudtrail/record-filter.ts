/**
 * What a lookup asks of records (one attribute, a time range), and the compact summary of a
 * record a store keeps in memory to skip records that cannot match without reading them: its
 * time in seconds and a 128-bit Bloom filter of its lookup attribute values. A summary can only
 * say "maybe": the caller still checks every record it reads.
 */
import { type CloudTrailRecord, lookupUsername, recordTime } from './record.js';

export type LookupKey =
  | 'EventId'
  | 'EventName'
  | 'ReadOnly'
  | 'Username'
  | 'ResourceType'
  | 'ResourceName'
  | 'EventSource'
  | 'AccessKeyId';

export interface RecordFilter {
  readonly attribute?: { readonly key: LookupKey; readonly value: string };
  readonly startMs: number;
  readonly endMs: number;
}

/** Every (key, value) a lookup attribute can match the record on. */
export function attributeValues(record: CloudTrailRecord): [LookupKey, string][] {
  const out: [LookupKey, string][] = [
    ['EventId', record.eventID],
    ['EventName', record.eventName],
    ['ReadOnly', String(record.readOnly)],
    ['EventSource', record.eventSource],
  ];
  const username = lookupUsername(record);
  if (username !== undefined) out.push(['Username', username]);
  if (record.userIdentity.accessKeyId !== undefined) out.push(['AccessKeyId', record.userIdentity.accessKeyId]);
  for (const r of record.resources ?? []) out.push(['ResourceType', r.type], ['ResourceName', r.ARN]);
  return out;
}

/** FNV-1a over the UTF-16 code units, seeded. */
function hash(text: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Three bits of the 128 per value: about 0.5% false positives for a record's ~8 values. */
function bits(key: LookupKey, value: string): number[] {
  const text = `${key}\u0000${value}`;
  const h1 = hash(text, 0);
  const h2 = hash(text, 0x9e3779b9) | 1;
  return [h1 & 127, (h1 + h2) & 127, (h1 + 2 * h2) & 127];
}

export const BLOOM_WORDS = 4;

export interface RecordSummary {
  /** Epoch seconds of eventTime. */
  readonly time: number;
  /** BLOOM_WORDS 32-bit words. */
  readonly bloom: readonly number[];
}

export function summarize(record: CloudTrailRecord): RecordSummary {
  const bloom = [0, 0, 0, 0];
  for (const [key, value] of attributeValues(record)) {
    for (const bit of bits(key, value)) bloom[bit >>> 5] = ((bloom[bit >>> 5] as number) | (1 << (bit & 31))) >>> 0;
  }
  return { time: Math.floor(recordTime(record) / 1000), bloom };
}

/** False only when a record with this summary (time, bloom words at `at` in `blooms`) certainly does not match. */
export function mayMatch(filter: RecordFilter, time: number, blooms: Uint32Array, at: number): boolean {
  // eventTime has whole seconds, so the second is exact.
  if (time * 1000 < filter.startMs || time * 1000 > filter.endMs) return false;
  if (!filter.attribute) return true;
  for (const bit of bits(filter.attribute.key, filter.attribute.value)) {
    if ((((blooms[at + (bit >>> 5)] as number) >>> (bit & 31)) & 1) === 0) return false;
  }
  return true;
}
