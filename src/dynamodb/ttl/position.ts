/**
 * Where the TTL sweeper's scan of a table goes on, kept in the table's own encrypted file (an
 * entry of keyspace 0, which no index or stream uses: their spaces start at 1, backfill progress
 * is negative), so a restart continues the scan instead of starting it over.
 */
import type { EntryKey, TableStore } from '../../storage/table-file.js';

export interface ScanPosition {
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
}

const EMPTY = Buffer.alloc(0);
const POSITION_KEY: EntryKey = { space: 0, hash: 0, pk: Buffer.from('ttl-sweep', 'latin1'), sk: EMPTY, tk: EMPTY };

/** hash (u32), pk length (u32), pk, sk. */
function encode(position: ScanPosition): Buffer {
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(position.hash, 0);
  head.writeUInt32BE(position.pk.length, 4);
  return Buffer.concat([head, position.pk, position.sk]);
}

function decode(body: Buffer): ScanPosition | undefined {
  if (body.length < 8) return undefined;
  const pkLength = body.readUInt32BE(4);
  if (body.length < 8 + pkLength) return undefined;
  return {
    hash: body.readUInt32BE(0),
    pk: Buffer.from(body.subarray(8, 8 + pkLength)),
    sk: Buffer.from(body.subarray(8 + pkLength)),
  };
}

export function savedPosition(store: TableStore): ScanPosition | undefined {
  for (const entry of store.queryEntries({ ...POSITION_KEY, forward: true })) return decode(entry.body);
  return undefined;
}

/** Records the position (absent: the scan starts over), in the caller's transaction if one is open. */
export function savePosition(store: TableStore, position: ScanPosition | undefined): void {
  if (!position) {
    store.deleteEntry(POSITION_KEY);
    return;
  }
  const body = encode(position);
  store.putEntry({ ...POSITION_KEY, body, size: body.length });
}
