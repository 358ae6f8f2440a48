/**
 * The background work of GSIs changed by UpdateTable: a new GSI is backfilled online and a
 * deleted one's entries are dropped, both in bounded slices of a few milliseconds each, duty-cycled
 * (src/core/duty-cycle.ts): while requests are being served the work takes only a small share of
 * the event loop, resting between slices, so the table keeps serving reads and writes at close to
 * their usual latency.
 *
 * Exactly once: from the moment a GSI is in the definition, every item write maintains it (the
 * index deriver maintains every index but those DELETING). The backfill walks the base table in
 * key order from a saved position and writes each item's entry from the item as it is now, reading
 * the item and writing its entry in one synchronous step, so no write can come in between. Entries
 * are upserts keyed by item, so an item a write has already indexed gets the same entry again,
 * never a second one.
 *
 * Progress survives a restart: the position is kept in the table file itself, as one entry of a
 * keyspace of its own (the index's space negated), written in the same transaction as the slice's
 * entries, so it never runs ahead of them. The index becomes ACTIVE only after its last entries are
 * durable.
 */
import { DutyCycle } from '../../core/duty-cycle.js';
import { AwsError } from '../../http/aws-error.js';
import { whenCommitted } from '../../storage/backend.js';
import type { EntryKey, KeyspaceEntry, StoredItem, TableStore } from '../../storage/table-file.js';
import type { AttributeValue, Item } from '../attribute-value.js';
import { fromStored } from '../item-codec.js';
import type { TableDefinition } from '../table-definition.js';
import type { OpenTable, TableManager } from '../tables.js';
import type { SecondaryIndexDefinition } from './definition.js';
import { allEntry, checkIndexKeys, indexEntry } from './entries.js';
import { indexEntryKey } from './entry-key.js';
import { indexWork, withIndexActive, withoutIndex } from './index-updates.js';
import { indexCounts } from './metrics.js';
import type { IndexSchema } from './schema.js';

export interface IndexJobsOptions {
  readonly tables: TableManager;
  /** How long one slice may run before yielding to the event loop (default 5 ms). */
  readonly sliceMs?: number;
  /** The share of the event loop the work may take while requests are served (default 0.2). */
  readonly busyShare?: number;
  /** Whether requests are being served now (the duty cycle's load signal; default: never). */
  readonly busy?: () => boolean;
  /** At most this many items (or dropped entries) per slice (default: only the time bound). */
  readonly sliceItems?: number;
  /** `auto` (default): runs by itself whenever there is work; `manual`: only `step()` runs it (tests). */
  readonly mode?: 'auto' | 'manual';
  /** Told about failures of a table's work (that table's work waits for the next wake). */
  readonly onError?: (error: unknown) => void;
  /**
   * Engine storage: runs a slice as a write unit fenced by the backfill lease, or not at all
   * (undefined) while another node holds it: one node at a time does the index work of the
   * cluster. The holder's rounds find work other nodes' UpdateTable made; a node that was asked
   * looks again until the lease is free (see leaseRetryMs).
   * Absent (the embedded store): every slice runs here.
   */
  readonly leased?: <T>(fn: () => Promise<T>) => Promise<T | undefined>;
  /**
   * With `leased`: real ms until work found while another node held the lease is looked at again
   * (that node's lease lapses once it stops using it, and nothing else wakes this node for the
   * work it was asked for). Default 1 s.
   */
  readonly leaseRetryMs?: number;
}

const HASH_SPACE = 2 ** 32;
/** Rows read per statement within a slice: small enough to check the clock often. */
const BATCH = 32;
/** DynamoDB's key size limits: items with larger index key values are left out of a backfilled index. */
const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;
const EMPTY = Buffer.alloc(0);

interface Progress {
  readonly done: boolean;
  readonly after?: { readonly hash: number; readonly pk: Buffer; readonly sk: Buffer };
}

interface TableRef {
  readonly account: string;
  readonly region: string;
  readonly name: string;
  readonly id: string;
}

export class IndexJobs {
  readonly #tables: TableManager;
  readonly #duty: DutyCycle;
  readonly #sliceItems: number;
  readonly #auto: boolean;
  readonly #onError: (error: unknown) => void;
  readonly #leased: IndexJobsOptions['leased'];
  readonly #leaseRetryMs: number;
  /** The last round found work another node's lease kept from it. */
  #leasedElsewhere = false;
  #retry: NodeJS.Timeout | undefined;
  #scheduled: NodeJS.Immediate | undefined;
  #running: Promise<void> | undefined;
  /** Woken while a round ran: that round may have looked at the tables before the new work. */
  #woken = false;
  #stopped = false;

  constructor(options: IndexJobsOptions) {
    this.#tables = options.tables;
    this.#duty = new DutyCycle({
      workMs: options.sliceMs ?? 5,
      busyShare: options.busyShare ?? 0.2,
      ...(options.busy ? { busy: options.busy } : {}),
    });
    this.#sliceItems = options.sliceItems ?? Number.POSITIVE_INFINITY;
    this.#auto = (options.mode ?? 'auto') === 'auto';
    this.#onError = options.onError ?? (() => undefined);
    this.#leased = options.leased;
    this.#leaseRetryMs = options.leaseRetryMs ?? 1000;
  }

  /** There may be new work (an index created or deleted, a table accessible again, a restart). */
  wake(): void {
    if (!this.#auto || this.#stopped || this.#scheduled) return;
    if (this.#running) {
      this.#woken = true;
      return;
    }
    this.#scheduled = setImmediate(() => {
      this.#scheduled = undefined;
      this.#woken = false;
      this.#running = this.#round()
        .catch((error: unknown) => {
          this.#onError(error);
          return false;
        })
        .then((more) => {
          this.#running = undefined;
          if (more || this.#woken) this.wake();
          else if (this.#leasedElsewhere && !this.#retry && !this.#stopped) {
            this.#retry = setTimeout(() => {
              this.#retry = undefined;
              this.wake();
            }, this.#leaseRetryMs);
            this.#retry.unref();
          }
        });
    });
  }

  /** Manual mode: one slice of every table's work; true while some table progressed and has work left. */
  async step(): Promise<boolean> {
    while (this.#running) await this.#running;
    const run = this.#round();
    this.#running = run.then(
      () => undefined,
      () => undefined,
    );
    try {
      return await run;
    } finally {
      this.#running = undefined;
    }
  }

  /** Stops scheduling; resolves once the slice in progress (if any) is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    while (this.#running) await this.#running;
  }

  async #round(): Promise<boolean> {
    let more = false;
    this.#leasedElsewhere = false;
    const pending = await this.#tables.run(async () => this.#pending(), 'read');
    for (const ref of pending) {
      if (this.#stopped) return false;
      // Each slice starts on a fresh event-loop turn, after the rest its predecessors earned
      // (requests, and the group commit, run in between). Manual steps (tests) only yield.
      if (this.#auto) await this.#duty.rest();
      else await new Promise((resolve) => setImmediate(resolve));
      try {
        const slice = () => this.#slice(ref);
        // Without the lease (undefined) nothing is done here: looked at again after leaseRetryMs.
        const progressed = this.#leased ? await this.#leased(slice) : await this.#tables.run(slice, 'write');
        if (progressed === undefined) this.#leasedElsewhere = true;
        else if (progressed) more = true;
      } catch (error) {
        // A table deleted meanwhile, or one taken out of service (damage is reported where found).
        if (error instanceof AwsError) continue;
        this.#onError(error);
      }
    }
    return more;
  }

  #pending(): TableRef[] {
    return this.#tables
      .allTables()
      .filter(({ definition }) => indexWork(definition).length > 0)
      .map(({ scope, definition }) => ({
        account: scope.accountId,
        region: scope.region,
        name: definition.TableName,
        id: definition.TableId,
      }));
  }

  /** One slice of one table's work; true when it progressed and work remains (false once finished). */
  async #slice(ref: TableRef): Promise<boolean> {
    const tables = this.#tables.inRegion(ref.region);
    // Undefined: the table's key cannot be used now; its work waits (a later wake retries it).
    const table = await tables.openAsService(ref.account, ref.name);
    if (!table || table.definition.TableId !== ref.id) return false;
    const [index] = indexWork(table.definition);
    if (!index) return false;
    if (index.IndexStatus === 'DELETING') {
      if (!this.#timed(() => this.#dropSlice(table.store, index))) return true;
      // The catalog forgets the index only once its entries are gone for good.
      await table.store.durable();
      this.#updateIfSame(ref, (definition) => withoutIndex(definition, index.Space));
      return false;
    }
    const schema = table.indexes.byName(index.IndexName);
    if (!schema || schema.space !== index.Space) return false;
    if (!this.#timed(() => this.#backfillSlice(table, schema))) return true;
    // ACTIVE only once the last entries are durable: a crash before leaves it CREATING, to finish then.
    await table.store.durable();
    const updated = this.#updateIfSame(ref, (definition) => withIndexActive(definition, index.Space));
    if (updated) table.store.dropEntries(progressSpace(index.Space), 16);
    return false;
  }

  /** Runs a synchronous slice, timed by the duty cycle (only that part: awaits are not work). */
  #timed(slice: () => boolean): boolean {
    this.#duty.start();
    try {
      return slice();
    } finally {
      this.#duty.stop();
    }
  }

  /** Applies a change to the table's definition if it is still the same table; false if it is gone. */
  #updateIfSame(ref: TableRef, change: (definition: TableDefinition) => TableDefinition): boolean {
    const tables = this.#tables.inRegion(ref.region);
    if (tables.find(ref.account, ref.name)?.TableId !== ref.id) return false;
    tables.update(ref.account, ref.name, change);
    return true;
  }

  /** Drops a slice of a deleted index's entries (and its backfill position); true once none are left. */
  #dropSlice(store: TableStore, index: SecondaryIndexDefinition): boolean {
    const limit = Math.min(this.#sliceItems, 512);
    let budget = this.#sliceItems;
    while (budget > 0) {
      const want = Math.min(limit, budget);
      const dropped = store.dropEntries(index.Space, want);
      budget -= dropped;
      if (dropped < want) {
        store.dropEntries(progressSpace(index.Space), 16);
        return true;
      }
      if (this.#duty.expired()) break;
    }
    return false;
  }

  /**
   * Writes the entries of the next items in key order; true once every item is done. Reading the
   * items and writing their entries happen in one synchronous transaction: no write comes between.
   */
  #backfillSlice(table: OpenTable, index: IndexSchema): boolean {
    const { store } = table;
    return store.transaction(() => {
      const progress = readProgress(store, index.space);
      if (progress.done) return true;
      let after = progress.after;
      let budget = this.#sliceItems;
      let done = false;
      let read = 0;
      while (budget > 0) {
        const want = Math.min(BATCH, budget);
        const rows = take(store.scan({ fromHash: 0, toHash: HASH_SPACE, ...(after ? { after } : {}) }), want);
        read += rows.length;
        for (const row of rows) {
          const entry = backfillEntry(index, row);
          if (entry) store.putEntry(entry);
        }
        budget -= rows.length;
        const last = rows[rows.length - 1];
        if (last) after = { hash: last.hash, pk: last.pk, sk: last.sk };
        if (rows.length < want) {
          done = true;
          break;
        }
        if (this.#duty.expired()) break;
      }
      writeProgress(store, index.space, done ? { done } : { done, ...(after ? { after } : {}) });
      // Counted once the slice's unit commits (over the engine a unit may run again).
      whenCommitted(() => {
        indexCounts.backfilled += read;
      });
      return done;
    });
  }
}

function take(rows: IterableIterator<StoredItem>, count: number): StoredItem[] {
  const out: StoredItem[] = [];
  if (count <= 0) return out;
  for (const row of rows) {
    out.push(row);
    if (out.length >= count) break;
  }
  return out;
}

/**
 * The entry of an existing item in a new index. Items that break the index's key rules (a key
 * attribute of another type, an empty string or binary, a value over the key size limits) cannot
 * be refused, being already stored: they are left out of the index, as DynamoDB's backfill leaves
 * them out (AWS docs, "Detecting and correcting index key violations"; Alternator test_gsi_backfill,
 * test_gsi_backfill_empty_string, test_gsi_backfill_key_limits, run against DynamoDB).
 */
function backfillEntry(index: IndexSchema, row: StoredItem): KeyspaceEntry | undefined {
  const item = fromStored(row);
  if (!keysFit(index, item)) return undefined;
  try {
    checkIndexKeys([index], item);
  } catch {
    return undefined;
  }
  if (index.projection.ProjectionType !== 'ALL') return indexEntry(index, item, row);
  // The whole item: its stored body and size are the entry's (the same JSON format), no re-encoding.
  const key = indexEntryKey(index, item, row);
  return key && allEntry(key, row);
}

function keysFit(index: IndexSchema, item: Item): boolean {
  const fits = (names: readonly { name: string }[], limit: number) =>
    names.every(({ name }) => {
      const value = Object.hasOwn(item, name) ? item[name] : undefined;
      return !value || keyBytes(value) <= limit;
    });
  return fits(index.hash, MAX_PARTITION_KEY_BYTES) && fits(index.range, MAX_SORT_KEY_BYTES);
}

function keyBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S, 'utf8');
  if (value.B !== undefined) return Buffer.byteLength(String(value.B), 'base64');
  return 0;
}

/** The keyspace holding a backfill's position: never an index's (theirs are positive). */
export const progressSpace = (space: number): number => -space;

const progressKey = (space: number): EntryKey => ({
  space: progressSpace(space),
  hash: 0,
  pk: EMPTY,
  sk: EMPTY,
  tk: EMPTY,
});

function readProgress(store: TableStore, space: number): Progress {
  for (const entry of store.queryEntries({ space: progressSpace(space), hash: 0, pk: EMPTY, forward: true })) {
    const saved = JSON.parse(entry.body.toString('utf8')) as { done: boolean; after?: [number, string, string] };
    if (!saved.after) return { done: saved.done };
    const [hash, pk, sk] = saved.after;
    return { done: saved.done, after: { hash, pk: Buffer.from(pk, 'base64'), sk: Buffer.from(sk, 'base64') } };
  }
  return { done: false };
}

function writeProgress(store: TableStore, space: number, progress: Progress): void {
  const { after } = progress;
  const body = Buffer.from(
    JSON.stringify({
      done: progress.done,
      ...(after ? { after: [after.hash, after.pk.toString('base64'), after.sk.toString('base64')] } : {}),
    }),
    'utf8',
  );
  store.putEntry({ ...progressKey(space), body, size: body.length });
}
