/**
 * Where a stream's records live: entries of the stream's keyspace in the table's own encrypted
 * file, one partition per shard (pk = the shard's index), ordered by sequence number (sk, its 21
 * ASCII digits). The body of an entry is the record exactly as GetRecords sends it, so reading
 * never parses or re-serialises an image.
 */
import type { KeyspaceEntry, TableStore } from '../storage/table-file.js';
import type { StreamDefinition } from './definition.js';
import { parseSequence, type SequencePosition } from './shards.js';

const NO_BYTES = Buffer.alloc(0);

export const shardPartition = (index: number): Buffer => {
  const pk = Buffer.allocUnsafe(4);
  pk.writeUInt32BE(index);
  return pk;
};

export function recordEntry(space: number, shard: number, sequence: string, bytes: Buffer): KeyspaceEntry {
  return {
    space,
    hash: 0,
    pk: shardPartition(shard),
    sk: Buffer.from(sequence, 'latin1'),
    tk: NO_BYTES,
    body: bytes,
    size: bytes.length,
  };
}

export const sequenceOf = (entry: KeyspaceEntry): string => entry.sk.toString('latin1');

/** The records of one shard from `from` (inclusive) on, below `below` (exclusive) when given. */
export function shardRecords(
  store: TableStore,
  stream: StreamDefinition,
  shard: number,
  from: string | undefined,
  below?: string,
): IterableIterator<KeyspaceEntry> {
  return store.queryEntries({
    space: stream.Space,
    hash: 0,
    pk: shardPartition(shard),
    ...(from !== undefined ? { lower: { key: Buffer.from(from, 'latin1'), inclusive: true } } : {}),
    ...(below !== undefined ? { upper: { key: Buffer.from(below, 'latin1'), inclusive: false } } : {}),
    forward: true,
  });
}

/** The newest record of a shard, if it has one. */
export function lastRecordOf(store: TableStore, stream: StreamDefinition, shard: number): string | undefined {
  for (const entry of store.queryEntries({ space: stream.Space, hash: 0, pk: shardPartition(shard), forward: false })) {
    return sequenceOf(entry);
  }
  return undefined;
}

/**
 * The newest record of the stream at or before shard `upTo`, looking back over the shards that can
 * still hold records (a day's worth): where a reopened file's sequence clock resumes.
 */
export function lastPositionOf(
  store: TableStore,
  stream: StreamDefinition,
  upTo: number,
): SequencePosition | undefined {
  for (let shard = upTo; shard >= 0 && shard > upTo - 8; shard--) {
    const last = lastRecordOf(store, stream, shard);
    if (last !== undefined) return parseSequence(last);
  }
  return undefined;
}
