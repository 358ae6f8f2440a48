/**
 * A table's store as the operations see it when item writes imply more writes (the entries of
 * secondary indexes; stream records): every write of an item also makes the writes its derivers
 * derive from the change, inside the same storage transaction (and the same staged set of a
 * cross-file transaction), so what they keep never disagrees with the table, not even after a
 * crash. That logic stays above the storage interface: storage only sees one atomic set of
 * writes over ordered keyspaces.
 */
import type {
  AppendedRecord,
  EntryKey,
  EntryRangeQuery,
  EntryScanRange,
  ItemKey,
  KeyspaceEntry,
  LogRecord,
  RangeQuery,
  ScanRange,
  StoredItem,
  StoredWrite,
  TableStore,
} from '../../storage/table-file.js';
import type { Item } from '../attribute-value.js';
import { fromStored, type StoredKey, sourceItem } from '../item-codec.js';
import { type WriteOrigin, writeOrigin } from './write-origin.js';

/** One item's change: absent old, the item is new; absent new, it was deleted. */
export interface ItemChange {
  readonly key: StoredKey;
  readonly oldItem?: Item;
  readonly newItem?: Item;
  readonly previous?: StoredItem;
  readonly next?: StoredItem;
  readonly origin: WriteOrigin;
}

/** Turns an item change into more writes of the same file; may refuse it by throwing (nothing is then written). */
export interface WriteDeriver {
  derive(change: ItemChange): StoredWrite[];
}

export class DerivingStore implements TableStore {
  readonly #inner: TableStore;
  readonly #derivers: readonly WriteDeriver[];
  /**
   * How many of this store's transaction(fn) calls are running. Inside one, an item write and its
   * derived writes take no savepoint of their own: if a deriver refuses the change after the item
   * was written, the error leaves fn (no caller catches a write's error inside its transaction)
   * and fn's savepoint undoes the item with everything else. A PutItem on a PITR table so takes
   * one SAVEPOINT/RELEASE pair (its condition check's), as on a plain table, not two.
   */
  #depth = 0;

  constructor(inner: TableStore, derivers: readonly WriteDeriver[]) {
    this.#inner = inner;
    this.#derivers = derivers;
  }

  /** The writes that go with replacing `previous` by `next` (either may be absent). */
  #derived(previous: StoredItem | undefined, next: StoredItem | undefined): StoredWrite[] {
    const key = next ?? previous;
    if (!key) return [];
    const derivers = this.#derivers;
    const first = derivers[0];
    if (!first) return [];
    const change = new LazyChange(key, writeOrigin(), previous, next);
    const writes = first.derive(change);
    for (let i = 1; i < derivers.length; i++) {
      for (const write of (derivers[i] as WriteDeriver).derive(change)) writes.push(write);
    }
    return writes;
  }

  #apply(writes: readonly StoredWrite[]): void {
    for (const write of writes) {
      if ('putEntry' in write) this.#inner.putEntry(write.putEntry);
      else if ('deleteEntry' in write) this.#inner.deleteEntry(write.deleteEntry);
      else if ('appendRecord' in write) this.#inner.appendRecord(write.appendRecord);
      else throw new Error('a deriver may only write keyspace entries and log records');
    }
  }

  /** The given writes and the entry writes they imply, read against the current items (no key twice). */
  #withEntries(writes: readonly StoredWrite[]): StoredWrite[] {
    const all = [...writes];
    for (const write of writes) {
      if ('put' in write) {
        const { hash, pk, sk } = write.put;
        all.push(...this.#derived(this.#inner.get(hash, pk, sk), write.put));
      } else if ('delete' in write) {
        const { hash, pk, sk } = write.delete;
        all.push(...this.#derived(this.#inner.get(hash, pk, sk), undefined));
      }
    }
    return all;
  }

  get(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    return this.#inner.get(hash, pk, sk);
  }

  prefetch(keys: readonly ItemKey[]): void {
    this.#inner.prefetch?.(keys);
  }

  put(item: StoredItem): StoredItem | undefined {
    return this.#depth > 0 ? this.#putDerived(item) : this.#inner.transaction(() => this.#putDerived(item));
  }

  #putDerived(item: StoredItem): StoredItem | undefined {
    const previous = this.#inner.put(item);
    this.#apply(this.#derived(previous, item));
    return previous;
  }

  delete(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    return this.#depth > 0
      ? this.#deleteDerived(hash, pk, sk)
      : this.#inner.transaction(() => this.#deleteDerived(hash, pk, sk));
  }

  #deleteDerived(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    const previous = this.#inner.delete(hash, pk, sk);
    if (previous) this.#apply(this.#derived(previous, undefined));
    return previous;
  }

  write(writes: readonly StoredWrite[], commitMarker?: string): void {
    this.#inner.write(this.#withEntries(writes), commitMarker);
  }

  stage(txid: string, coordinator: string, writes: readonly StoredWrite[]): void {
    this.#inner.stage(txid, coordinator, this.#withEntries(writes));
  }

  query(range: RangeQuery): IterableIterator<StoredItem> {
    return this.#inner.query(range);
  }

  scan(range: ScanRange): IterableIterator<StoredItem> {
    return this.#inner.scan(range);
  }

  stats(): { readonly itemCount: number; readonly sizeBytes: number } {
    return this.#inner.stats();
  }

  putEntry(entry: KeyspaceEntry): void {
    this.#inner.putEntry(entry);
  }

  deleteEntry(key: EntryKey): void {
    this.#inner.deleteEntry(key);
  }

  queryEntries(range: EntryRangeQuery): IterableIterator<KeyspaceEntry> {
    return this.#inner.queryEntries(range);
  }

  scanEntries(range: EntryScanRange): IterableIterator<KeyspaceEntry> {
    return this.#inner.scanEntries(range);
  }

  spaceStats(space: number): { readonly itemCount: number; readonly sizeBytes: number } {
    return this.#inner.spaceStats(space);
  }

  dropEntries(space: number, limit: number): number {
    return this.#inner.dropEntries(space, limit);
  }

  partitionSize(hash: number, pk: Buffer, spaces: readonly number[]): number {
    return this.#inner.partitionSize(hash, pk, spaces);
  }

  scanHash(hash: number, space: number | undefined, pk: Buffer): number {
    return this.#inner.scanHash(hash, space, pk);
  }

  appendRecord(record: AppendedRecord): void {
    this.#inner.appendRecord(record);
  }

  records(log: number, from: number, below: number): IterableIterator<LogRecord> {
    return this.#inner.records(log, from, below);
  }

  lastRecord(log: number, below: number): number | undefined {
    return this.#inner.lastRecord(log, below);
  }

  recordBytes(log: number): number {
    return this.#inner.recordBytes(log);
  }

  trimRecords(log: number, below: number, limit: number): number {
    return this.#inner.trimRecords(log, below, limit);
  }

  dropRecords(log: number, limit: number): number {
    return this.#inner.dropRecords(log, limit);
  }

  transaction<T>(fn: () => T): T {
    this.#depth++;
    try {
      return this.#inner.transaction(fn);
    } finally {
      this.#depth--;
    }
  }

  staged(): readonly { readonly txid: string; readonly coordinator: string }[] {
    return this.#inner.staged();
  }

  applyStaged(txid: string): void {
    this.#inner.applyStaged(txid);
  }

  discardStaged(txid: string): void {
    this.#inner.discardStaged(txid);
  }

  isCommitted(txid: string): boolean {
    return this.#inner.isCommitted(txid);
  }

  forgetCommitted(txid: string): void {
    this.#inner.forgetCommitted(txid);
  }

  durable(): Promise<void> {
    return this.#inner.durable();
  }

  commitNow(): void {
    this.#inner.commitNow();
  }

  close(): void {
    this.#inner.close();
  }
}

/**
 * One item change, its items parsed only if a deriver reads them (the PITR change log copies the
 * stored bodies and never does; parsing the old body would be most of that deriver's cost). A
 * class, not an object literal with getters: every write makes one, and a literal with accessors
 * is a slow dictionary-mode object (it showed in the stream benchmark's profile).
 */
class LazyChange implements ItemChange {
  readonly key: StoredKey;
  readonly origin: WriteOrigin;
  readonly previous: StoredItem | undefined;
  readonly next: StoredItem | undefined;
  #oldItem: Item | undefined;
  #newItem: Item | undefined;

  constructor(key: StoredKey, origin: WriteOrigin, previous: StoredItem | undefined, next: StoredItem | undefined) {
    this.key = key;
    this.origin = origin;
    this.previous = previous;
    this.next = next;
  }

  get oldItem(): Item | undefined {
    if (this.previous && !this.#oldItem) this.#oldItem = fromStored(this.previous);
    return this.#oldItem;
  }

  get newItem(): Item | undefined {
    if (this.next && !this.#newItem) this.#newItem = itemOf(this.next);
    return this.#newItem;
  }
}

/** The item a row was made from (no second parse), or the row's body parsed. */
const itemOf = (row: StoredItem): Item => sourceItem(row) ?? fromStored(row);
