/**
 * Damage found in an encrypted database file while it is in use: a page whose HMAC fails
 * (sqlcipher answers SQLITE_CORRUPT, or SQLITE_NOTADB for the first page) or a write-ahead log
 * that would lose committed transactions. SQLite's errors do not say which file they came from;
 * these do, so the operator can be told which file to restore.
 */
import type {
  KeyspaceEntry,
  LogRecord,
  RangeQuery,
  ScanRange,
  StoredItem,
  StoredWrite,
  TableStore,
} from './table-file.js';

export type DamagedFileKind = 'table' | 'catalog';

export class DamagedFileError extends Error {
  constructor(
    readonly file: string,
    readonly detail: string,
    options?: { readonly cause?: unknown },
  ) {
    super(`${file} is damaged: ${detail}`, options);
    this.name = 'DamagedFileError';
  }
}

/** SQLite's answer to a page that does not authenticate or does not parse. */
export function isDamage(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

/** Runs fn, naming `file` in any damage SQLite reports. */
export function naming<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw asDamage(file, error);
  }
}

/** SQLite's damage error as a DamagedFileError naming the file; anything else unchanged. */
export function asDamage(file: string, error: unknown): unknown {
  if (error instanceof DamagedFileError || !isDamage(error)) return error;
  return new DamagedFileError(file, `a page fails its authentication check (${(error as Error).message})`, {
    cause: error,
  });
}

/** Names the file in every damage error of the store's reads, writes and commits. */
export function namingStore(file: string, store: TableStore): TableStore {
  const guard = <T>(fn: () => T): T => naming(file, fn);
  function* iterate<T extends StoredItem | KeyspaceEntry | LogRecord>(items: IterableIterator<T>): IterableIterator<T> {
    try {
      yield* items;
    } catch (error) {
      throw asDamage(file, error);
    }
  }
  return {
    get: (hash, pk, sk) => guard(() => store.get(hash, pk, sk)),
    put: (item) => guard(() => store.put(item)),
    delete: (hash, pk, sk) => guard(() => store.delete(hash, pk, sk)),
    query: (range: RangeQuery) => iterate(guard(() => store.query(range))),
    scan: (range: ScanRange) => iterate(guard(() => store.scan(range))),
    stats: () => guard(() => store.stats()),
    putEntry: (entry) => guard(() => store.putEntry(entry)),
    deleteEntry: (key) => guard(() => store.deleteEntry(key)),
    queryEntries: (range) => iterate(guard(() => store.queryEntries(range))),
    scanEntries: (range) => iterate(guard(() => store.scanEntries(range))),
    spaceStats: (space) => guard(() => store.spaceStats(space)),
    dropEntries: (space, limit) => guard(() => store.dropEntries(space, limit)),
    partitionSize: (hash, pk, spaces) => guard(() => store.partitionSize(hash, pk, spaces)),
    scanHash: (hash, space, pk) => store.scanHash(hash, space, pk),
    appendRecord: (record) => guard(() => store.appendRecord(record)),
    records: (log, from, below) => iterate(guard(() => store.records(log, from, below))),
    lastRecord: (log, below) => guard(() => store.lastRecord(log, below)),
    recordBytes: (log) => guard(() => store.recordBytes(log)),
    trimRecords: (log, below, limit) => guard(() => store.trimRecords(log, below, limit)),
    dropRecords: (log, limit) => guard(() => store.dropRecords(log, limit)),
    transaction: (fn) => guard(() => store.transaction(fn)),
    write: (writes: readonly StoredWrite[], commitMarker?: string) => guard(() => store.write(writes, commitMarker)),
    stage: (txid, coordinator, writes) => guard(() => store.stage(txid, coordinator, writes)),
    staged: () => guard(() => store.staged()),
    applyStaged: (txid) => guard(() => store.applyStaged(txid)),
    discardStaged: (txid) => guard(() => store.discardStaged(txid)),
    isCommitted: (txid) => guard(() => store.isCommitted(txid)),
    forgetCommitted: (txid) => guard(() => store.forgetCommitted(txid)),
    durable: () =>
      store.durable().catch((error: unknown) => {
        throw asDamage(file, error);
      }),
    commitNow: () => guard(() => store.commitNow()),
    close: () => store.close(),
  };
}
