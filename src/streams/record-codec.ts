/**
 * How a stream record is stored, and the record GetRecords sends made from it.
 *
 * A record stores only what is its own: which event, its event ID, its size, its keys and images;
 * the rest of the JSON GetRecords sends is the same for every record of the stream (eventVersion,
 * eventSource, awsRegion, StreamViewType) or follows from where it is stored (SequenceNumber and
 * ApproximateCreationDateTime from its log position, record-store.ts), and is put around it when
 * it is read. Appended record bytes are most of what a stream costs a write (every one is
 * encrypted, logged and checkpointed, and whole pages of them at every commit), and the envelope
 * was about a quarter of a 1 KB item's record.
 *
 * Stored form (version 2), integers unsigned big-endian:
 *   u8 0x02 | u8 flags | 16 bytes event ID | u32 SizeBytes | u32 length, Keys JSON
 *   | NewImage: u32 length, its JSON
 *   | OldImage: u32 length, its JSON; or with OLD_DELTA: u32 prefix, u32 suffix, u32 length,
 *     the bytes of the OldImage between the prefix and suffix it shares with the NewImage
 * A NEW_AND_OLD_IMAGES record of a MODIFY holds the item twice, and the two images mostly agree
 * (an update changes a few attributes; a replacing PutItem usually keeps the attribute order), so
 * the OldImage keeps only what differs from the NewImage.
 *
 * Records written before this form are read as they were stored: whole (starting with `{`) or
 * with the OldImage as a delta (0x01, image-delta.ts).
 */
import { randomFillSync } from 'node:crypto';
import type { StreamViewType } from './definition.js';
import { unpackRecord } from './image-delta.js';

const COMPACT = 0x02;
const EVENT_MASK = 0x03;
const SERVICE = 0x04;
const NEW_IMAGE = 0x08;
const OLD_IMAGE = 0x10;
const OLD_DELTA = 0x20;
const ID_BYTES = 16;
const HEAD = 2 + ID_BYTES + 4;

export type EventName = 'INSERT' | 'MODIFY' | 'REMOVE';
const EVENTS: readonly EventName[] = ['INSERT', 'MODIFY', 'REMOVE'];

export interface RecordParts {
  readonly eventName: EventName;
  /** A delete DynamoDB made itself (TTL expiry): the record names the service as its user. */
  readonly service: boolean;
  readonly sizeBytes: number;
  /** The Keys attribute map as JSON. */
  readonly keys: Buffer;
  readonly newImage?: Buffer;
  readonly oldImage?: Buffer;
}

/** Random event IDs drawn 256 at a time: one call into the CSPRNG per 256 records. */
const idPool = Buffer.alloc(ID_BYTES * 256);
let idAt = idPool.length;

export function encodeRecord(parts: RecordParts): Buffer {
  const { keys, newImage, oldImage } = parts;
  let length = HEAD + 4 + keys.length;
  if (newImage) length += 4 + newImage.length;
  let prefix = 0;
  let suffix = 0;
  let delta = false;
  if (oldImage) {
    if (newImage) {
      prefix = commonPrefix(newImage, oldImage);
      suffix = commonSuffix(newImage, oldImage, prefix);
      delta = prefix + suffix > 12;
    }
    length += delta ? 12 + oldImage.length - prefix - suffix : 4 + oldImage.length;
  }
  const out = Buffer.allocUnsafe(length);
  out[0] = COMPACT;
  out[1] =
    EVENTS.indexOf(parts.eventName) |
    (parts.service ? SERVICE : 0) |
    (newImage ? NEW_IMAGE : 0) |
    (oldImage ? OLD_IMAGE : 0) |
    (delta ? OLD_DELTA : 0);
  if (idAt === idPool.length) {
    randomFillSync(idPool);
    idAt = 0;
  }
  idPool.copy(out, 2, idAt, idAt + ID_BYTES);
  idAt += ID_BYTES;
  let at = out.writeUInt32BE(parts.sizeBytes, 2 + ID_BYTES);
  at = out.writeUInt32BE(keys.length, at);
  at += keys.copy(out, at);
  if (newImage) {
    at = out.writeUInt32BE(newImage.length, at);
    at += newImage.copy(out, at);
  }
  if (oldImage) {
    if (delta) {
      at = out.writeUInt32BE(prefix, at);
      at = out.writeUInt32BE(suffix, at);
      at = out.writeUInt32BE(oldImage.length - prefix - suffix, at);
      oldImage.copy(out, at, prefix, oldImage.length - suffix);
    } else {
      at = out.writeUInt32BE(oldImage.length, at);
      oldImage.copy(out, at);
    }
  }
  return out;
}

/** What a stored record does not say: the same for every record of its stream, or from its position. */
export interface RecordContext {
  readonly region: string;
  readonly viewType: StreamViewType;
  readonly sequence: string;
  /** The record's time (its sequence number's). */
  readonly ms: number;
}

/** The record as GetRecords sends it (JSON, UTF-8), written into one buffer. */
export function recordJson(stored: Buffer, context: RecordContext): Buffer {
  if (stored[0] !== COMPACT) return unpackRecord(stored);
  const flags = stored[1] as number;
  const envelope = envelopeOf(context.region, context.viewType);
  // ASCII only (hex, an event name, a region, digits): one byte a character.
  const head = `{"eventID":"${stored.toString('hex', 2, 2 + ID_BYTES)}","eventName":"${EVENTS[flags & EVENT_MASK] ?? 'MODIFY'}${envelope.head}${Math.floor(context.ms / 1000)},"Keys":`;
  const rest = `,"SequenceNumber":"${context.sequence}","SizeBytes":${stored.readUInt32BE(2 + ID_BYTES)}`;
  const tail = flags & SERVICE ? envelope.serviceTail : envelope.tail;
  const keysAt = HEAD + 4;
  const keysEnd = keysAt + stored.readUInt32BE(HEAD);
  let at = keysEnd;
  let newAt = 0;
  let newEnd = 0;
  if (flags & NEW_IMAGE) {
    newAt = at + 4;
    newEnd = newAt + stored.readUInt32BE(at);
    at = newEnd;
  }
  let prefix = 0;
  let suffix = 0;
  let oldAt = 0;
  let oldEnd = 0;
  if (flags & OLD_IMAGE) {
    if (flags & OLD_DELTA) {
      prefix = stored.readUInt32BE(at);
      suffix = stored.readUInt32BE(at + 4);
      oldAt = at + 12;
      oldEnd = oldAt + stored.readUInt32BE(at + 8);
    } else {
      oldAt = at + 4;
      oldEnd = oldAt + stored.readUInt32BE(at);
    }
  }
  let length = head.length + keysEnd - keysAt + rest.length + tail.length;
  if (flags & NEW_IMAGE) length += NEW_IMAGE_KEY.length + newEnd - newAt;
  if (flags & OLD_IMAGE) length += OLD_IMAGE_KEY.length + prefix + oldEnd - oldAt + suffix;
  const out = Buffer.allocUnsafe(length);
  let to = out.write(head, 0, 'latin1');
  to += stored.copy(out, to, keysAt, keysEnd);
  if (flags & NEW_IMAGE) {
    to += NEW_IMAGE_KEY.copy(out, to);
    to += stored.copy(out, to, newAt, newEnd);
  }
  if (flags & OLD_IMAGE) {
    to += OLD_IMAGE_KEY.copy(out, to);
    to += stored.copy(out, to, newAt, newAt + prefix);
    to += stored.copy(out, to, oldAt, oldEnd);
    to += stored.copy(out, to, newEnd - suffix, newEnd);
  }
  to += out.write(rest, to, 'latin1');
  tail.copy(out, to);
  return out;
}

const NEW_IMAGE_KEY = Buffer.from(',"NewImage":');
const OLD_IMAGE_KEY = Buffer.from(',"OldImage":');
/** DynamoDB's identity on the records of its own deletes (TTL expiry). */
const SERVICE_IDENTITY = ',"userIdentity":{"PrincipalId":"dynamodb.amazonaws.com","Type":"Service"}';

interface Envelope {
  readonly head: string;
  readonly tail: Buffer;
  readonly serviceTail: Buffer;
}

const envelopes = new Map<string, Envelope>();

function envelopeOf(region: string, viewType: StreamViewType): Envelope {
  const id = `${region}|${viewType}`;
  let envelope = envelopes.get(id);
  if (!envelope) {
    envelope = {
      head: `","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":${JSON.stringify(region)},"dynamodb":{"ApproximateCreationDateTime":`,
      tail: Buffer.from(`,"StreamViewType":"${viewType}"}}`),
      serviceTail: Buffer.from(`,"StreamViewType":"${viewType}"}${SERVICE_IDENTITY}}`),
    };
    envelopes.set(id, envelope);
  }
  return envelope;
}

/**
 * The bytes two images share at their start / end (the end's not overlapping the start's). By
 * halving with native comparisons: a byte loop in JS over a 1 KB image was a visible part of a
 * streamed write's cost.
 */
export function commonPrefix(a: Buffer, b: Buffer): number {
  let low = 0;
  let high = Math.min(a.length, b.length);
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if (a.compare(b, low, mid, low, mid) === 0) low = mid;
    else high = mid - 1;
  }
  return low;
}

export function commonSuffix(a: Buffer, b: Buffer, prefix: number): number {
  let low = 0;
  let high = Math.min(a.length, b.length) - prefix;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    if (a.compare(b, b.length - mid, b.length - low, a.length - mid, a.length - low) === 0) low = mid;
    else high = mid - 1;
  }
  return low;
}
