/**
 * The stream deriver: every item change that changes data becomes one stream record, written as a
 * log record in the same SQLite transaction (or staged set) as the item, so a record exists
 * exactly when its write committed, once, in commit order per item.
 */
import type { Clock } from '../core/clock.js';
import type { AttributeValue, Item } from '../dynamodb/attribute-value.js';
import type { ItemChange, WriteDeriver } from '../dynamodb/item-changes/deriving-store.js';
import { keyOf } from '../dynamodb/item-codec.js';
import { itemSize } from '../dynamodb/item-validation.js';
import { compareNumbers } from '../dynamodb/number.js';
import type { KeyAttributes } from '../dynamodb/table-schema.js';
import type { StoredItem, StoredWrite, TableStore } from '../storage/table-file.js';
import { enabledStream, type StreamDefinition, type TableStreams } from './definition.js';
import { streamCounts } from './metrics.js';
import { encodeRecord } from './record-codec.js';
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

/**
 * The deriver of a table's enabled stream; undefined when it has none (its writes then pay
 * nothing). A record's awsRegion, like the rest of what every record of the stream shares, is put
 * around it when it is read (record-codec.ts).
 */
export function streamDeriver(
  table: TableStreams,
  file: TableStore,
  keys: KeyAttributes,
  clock: Clock,
): WriteDeriver | undefined {
  const stream = enabledStream(table);
  if (!stream) return undefined;
  const view = stream.StreamViewType;
  const withNew = view === 'NEW_IMAGE' || view === 'NEW_AND_OLD_IMAGES';
  const withOld = view === 'OLD_IMAGE' || view === 'NEW_AND_OLD_IMAGES';
  return {
    derive(change: ItemChange): StoredWrite[] {
      const { previous, next } = change;
      if (previous && next && unchanged(previous, next, change.oldItem, change.newItem)) return [];
      const item = (change.newItem ?? change.oldItem) as Item;
      const keyItem = keyOf(item, keys);
      let size = itemSize(keyItem);
      // The images are the stored bodies (already their JSON): none is decoded or re-encoded.
      const newImage = withNew && next ? next.body : undefined;
      if (newImage) size += (next as StoredItem).size;
      const oldImage = withOld && previous ? previous.body : undefined;
      if (oldImage) size += (previous as StoredItem).size;
      const { ms, counter } = sequenceClock(file, stream).next(clock.now());
      const body = encodeRecord({
        eventName: !previous ? 'INSERT' : !next ? 'REMOVE' : 'MODIFY',
        service: change.origin.kind === 'ttl',
        sizeBytes: size,
        keys: Buffer.from(JSON.stringify(keyItem)),
        ...(newImage ? { newImage } : {}),
        ...(oldImage ? { oldImage } : {}),
      });
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
