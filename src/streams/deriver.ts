/**
 * The stream deriver: every item change that changes data becomes one stream record, written as a
 * keyspace entry in the same SQLite transaction (or staged set) as the item, so a record exists
 * exactly when its write committed, once, in commit order per item.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import type { AttributeValue, Item } from '../dynamodb/attribute-value.js';
import type { ItemChange, WriteDeriver } from '../dynamodb/item-changes/deriving-store.js';
import { keyOf } from '../dynamodb/item-codec.js';
import { itemSize } from '../dynamodb/item-validation.js';
import { compareNumbers } from '../dynamodb/number.js';
import type { KeyAttributes } from '../dynamodb/table-schema.js';
import type { StoredItem, StoredWrite, TableStore } from '../storage/table-file.js';
import { enabledStream, type StreamDefinition, type TableStreams } from './definition.js';
import { packRecord } from './image-delta.js';
import { streamCounts } from './metrics.js';
import { lastPositionOf, positionAt } from './record-store.js';
import { SequenceClock } from './shards.js';

/**
 * The sequence clock of each stream of each open table file: a reopened file (a new object)
 * resumes after its last stored record, so numbers increase across restarts without a counter
 * written with every record.
 */
const clocks = new WeakMap<TableStore, Map<number, SequenceClock>>();

function sequenceClock(file: TableStore, stream: StreamDefinition): SequenceClock {
  let byStream = clocks.get(file);
  if (!byStream) {
    byStream = new Map();
    clocks.set(file, byStream);
  }
  let clock = byStream.get(stream.Space);
  if (!clock) {
    clock = new SequenceClock(lastPositionOf(file, stream), stream.CreatedAt);
    byStream.set(stream.Space, clock);
  }
  return clock;
}

/** DynamoDB's identity on the records of its own deletes (TTL expiry). */
const SERVICE_IDENTITY = ',"userIdentity":{"PrincipalId":"dynamodb.amazonaws.com","Type":"Service"}';

/** The deriver of a table's enabled stream; undefined when it has none (its writes then pay nothing). */
export function streamDeriver(
  table: TableStreams,
  file: TableStore,
  keys: KeyAttributes,
  clock: Clock,
  region: string,
): WriteDeriver | undefined {
  const stream = enabledStream(table);
  if (!stream) return undefined;
  const view = stream.StreamViewType;
  const withNew = view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES';
  const withOld = view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES';
  // The record is assembled as bytes around the stored bodies (already the images' JSON): no image
  // is decoded, re-encoded or copied more than once.
  const head = Buffer.from(
    `","eventVersion":"1.1","eventSource":"aws:dynamodb","awsRegion":${JSON.stringify(region)},"dynamodb":{"ApproximateCreationDateTime":`,
  );
  const newImage = Buffer.from(',"NewImage":');
  const oldImage = Buffer.from(',"OldImage":');
  const tail = Buffer.from(`,"StreamViewType":"${view}"}`);
  const serviceTail = Buffer.from(`,"StreamViewType":"${view}"}${SERVICE_IDENTITY}}`);
  const end = Buffer.from('}');
  return {
    derive(change: ItemChange): StoredWrite[] {
      const { previous, next } = change;
      if (previous && next && unchanged(previous, next, change.oldItem, change.newItem)) return [];
      const item = (change.newItem ?? change.oldItem) as Item;
      const keyItem = keyOf(item, keys);
      let size = itemSize(keyItem);
      const now = clock.now();
      const { ms, counter, sequence } = sequenceClock(file, stream).next(now);
      const eventName = !previous ? 'INSERT' : !next ? 'REMOVE' : 'MODIFY';
      const parts: Buffer[] = [
        Buffer.from(`{"eventID":"${randomUUID().replaceAll('-', '')}","eventName":"${eventName}`),
        head,
        Buffer.from(`${Math.floor(ms / 1000)},"Keys":${JSON.stringify(keyItem)}`),
      ];
      let newAt = -1;
      if (withNew && next) {
        parts.push(newImage);
        newAt = parts.reduce((length, part) => length + part.length, 0);
        parts.push(next.body);
        size += next.size;
      }
      const old = withOld && previous ? previous.body : undefined;
      if (old) size += (previous as StoredItem).size;
      const rest: Buffer[] = [Buffer.from(`,"SequenceNumber":"${sequence}","SizeBytes":${size}`)];
      if (change.origin.kind === 'ttl') rest.push(serviceTail);
      else rest.push(tail, end);
      let body: Buffer;
      if (old && newAt >= 0 && next) {
        // Both images: the OldImage is stored as what differs from the NewImage (image-delta.ts).
        parts.push(oldImage);
        body = packRecord(Buffer.concat(parts), newAt, next.body.length, old, Buffer.concat(rest));
      } else {
        if (old) parts.push(oldImage, old);
        body = Buffer.concat([...parts, ...rest]);
      }
      streamCounts.written++;
      return [{ appendRecord: { log: stream.Space, position: positionAt(stream, ms, counter), body } }];
    },
  };
}

/** A write that leaves the item as it was makes no record (DynamoDB Streams developer guide). */
function unchanged(previous: StoredItem, next: StoredItem, oldItem?: Item, newItem?: Item): boolean {
  if (previous.size !== next.size) return false;
  if (previous.body.equals(next.body)) return true;
  return oldItem !== undefined && newItem !== undefined && sameMap(oldItem, newItem);
}

function sameMap(a: Readonly<Record<string, AttributeValue>>, b: Readonly<Record<string, AttributeValue>>): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  for (const name of names) {
    const other = b[name];
    if (other === undefined || !sameValue(a[name] as AttributeValue, other)) return false;
  }
  return true;
}

/** Equal as DynamoDB data: numbers by value, sets in any order, maps in any attribute order. */
function sameValue(a: AttributeValue, b: AttributeValue): boolean {
  if (a.S !== undefined) return a.S === b.S;
  if (a.N !== undefined) return b.N !== undefined && compareNumbers(a.N, b.N) === 0;
  if (a.B !== undefined) return a.B === b.B;
  if (a.BOOL !== undefined) return a.BOOL === b.BOOL;
  if (a.NULL !== undefined) return b.NULL !== undefined;
  if (a.SS) return b.SS !== undefined && sameSet(a.SS, b.SS, (x, y) => x === y);
  if (a.BS) return b.BS !== undefined && sameSet(a.BS, b.BS, (x, y) => x === y);
  if (a.NS) return b.NS !== undefined && sameSet(a.NS, b.NS, (x, y) => compareNumbers(x, y) === 0);
  if (a.M) return b.M !== undefined && sameMap(a.M, b.M);
  if (a.L) {
    const other = b.L;
    return (
      other !== undefined &&
      a.L.length === other.length &&
      a.L.every((v, i) => sameValue(v, other[i] as AttributeValue))
    );
  }
  return false;
}

function sameSet(a: readonly string[], b: readonly string[], equal: (x: string, y: string) => boolean): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => equal(x, y)));
}
