/**
 * A table's change log for point-in-time recovery: one entry per item write in a keyspace of the
 * table's own encrypted file, written by a WriteDeriver in the same SQLite transaction (or staged
 * set) as the item, so the log holds a change exactly when the change committed, and shares the
 * table's keys and fate.
 *
 * All entries sit in one partition, ordered by sk = (time ms, sequence) as 16 big-endian bytes:
 * the changes between two instants are one range read. The body is the change: the item's key
 * and, for a put, its stored size and body (the item's JSON as stored), never re-encoded.
 */
import type { Clock } from '../../core/clock.js';
import type { KeyspaceEntry, StoredItem, StoredWrite, TableStore } from '../../storage/table-file.js';
import type { ItemChange, WriteDeriver } from '../item-changes/deriving-store.js';

const LOG_PARTITION = Buffer.from([0]);
const NO_BYTES = Buffer.alloc(0);
const PUT = 1;
const DELETE = 0;

/** One logged change: the item as it became (`item`), or its removal (`item` absent). */
export interface LoggedChange {
  /** epoch ms of the write */
  readonly time: number;
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
  readonly item?: StoredItem;
  /** The entry's key in the log (a snapshot's own log shows whether it holds this change). */
  readonly entry: KeyspaceEntry;
}

interface LogClock {
  time: number;
  sequence: bigint;
}

/** The position of each open file's log: a reopened file resumes after its newest entry. */
const clocks = new WeakMap<TableStore, Map<number, LogClock>>();

function logClock(file: TableStore, space: number): LogClock {
  let bySpace = clocks.get(file);
  if (!bySpace) {
    bySpace = new Map();
    clocks.set(file, bySpace);
  }
  let clock = bySpace.get(space);
  if (!clock) {
    clock = { time: 0, sequence: 0n };
    for (const last of file.queryEntries({ space, hash: 0, pk: LOG_PARTITION, forward: false })) {
      clock = { time: Number(last.sk.readBigUInt64BE(0)), sequence: last.sk.readBigUInt64BE(8) };
      break;
    }
    bySpace.set(space, clock);
  }
  return clock;
}

const logKey = (time: number, sequence: bigint): Buffer => {
  const sk = Buffer.allocUnsafe(16);
  sk.writeBigUInt64BE(BigInt(time), 0);
  sk.writeBigUInt64BE(sequence, 8);
  return sk;
};

/** The deriver writing the log of `space` (with every item write, whatever its origin). */
export function changeLogDeriver(space: number, file: TableStore, clock: Clock): WriteDeriver {
  return {
    derive(change: ItemChange): StoredWrite[] {
      const position = logClock(file, space);
      // Time never goes back in the log, even if the clock does: the order is the commit order.
      position.time = Math.max(position.time, clock.now());
      position.sequence += 1n;
      const body = encodeChange(change);
      return [
        {
          putEntry: {
            space,
            hash: 0,
            pk: LOG_PARTITION,
            sk: logKey(position.time, position.sequence),
            tk: NO_BYTES,
            body,
            size: body.length,
            fresh: true,
          },
        },
      ];
    },
  };
}

function encodeChange(change: ItemChange): Buffer {
  const { hash, pk, sk } = change.key;
  const next = change.next;
  const head = Buffer.allocUnsafe(1 + 4 + 2 + pk.length + 2 + sk.length + (next ? 4 : 0));
  let at = head.writeUInt8(next ? PUT : DELETE, 0);
  at = head.writeUInt32BE(hash, at);
  at = head.writeUInt16BE(pk.length, at);
  at += pk.copy(head, at);
  at = head.writeUInt16BE(sk.length, at);
  at += sk.copy(head, at);
  if (!next) return head;
  head.writeUInt32BE(next.size, at);
  return Buffer.concat([head, next.body]);
}

export function decodeChange(entry: KeyspaceEntry): LoggedChange {
  const body = entry.body;
  const kind = body.readUInt8(0);
  const hash = body.readUInt32BE(1);
  let at = 5;
  const pkLength = body.readUInt16BE(at);
  const pk = body.subarray(at + 2, at + 2 + pkLength);
  at += 2 + pkLength;
  const skLength = body.readUInt16BE(at);
  const sk = body.subarray(at + 2, at + 2 + skLength);
  at += 2 + skLength;
  const time = Number(entry.sk.readBigUInt64BE(0));
  if (kind === DELETE) return { time, hash, pk, sk, entry };
  const size = body.readUInt32BE(at);
  return { time, hash, pk, sk, item: { hash, pk, sk, size, body: body.subarray(at + 4) }, entry };
}

/** The logged changes from `from` to `to` (epoch ms, both inclusive), in commit order. */
export function changesBetween(
  store: TableStore,
  space: number,
  from: number,
  to: number,
): IterableIterator<KeyspaceEntry> {
  return store.queryEntries({
    space,
    hash: 0,
    pk: LOG_PARTITION,
    lower: { key: logKey(Math.max(0, from), 0n), inclusive: true },
    upper: { key: logKey(to + 1, 0n), inclusive: false },
    forward: true,
  });
}

/** Up to `limit` of the oldest entries stamped before `before` (epoch ms), for trimming. */
export function entriesBefore(store: TableStore, space: number, before: number, limit: number): KeyspaceEntry[] {
  const old: KeyspaceEntry[] = [];
  for (const entry of store.queryEntries({
    space,
    hash: 0,
    pk: LOG_PARTITION,
    upper: { key: logKey(Math.max(0, before), 0n), inclusive: false },
    forward: true,
  })) {
    old.push(entry);
    if (old.length >= limit) break;
  }
  return old;
}

/** The keys by which a snapshot's copy of the log is looked up. */
export const LOG = { partition: LOG_PARTITION, tk: NO_BYTES };
