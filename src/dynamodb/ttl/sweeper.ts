/**
 * The background process that deletes expired items of tables with Time to Live enabled, as
 * DynamoDB does "on a best-effort basis to ensure availability of throughput for other data
 * operations" (API_UpdateTimeToLive): it walks each table in short synchronous slices (a few
 * milliseconds each, the event loop free between them), keeping its place per table, so requests
 * are served throughout whatever the table's size.
 *
 * Each expiry is a conditional delete: the item is read again in the same storage transaction and
 * deleted only if it is still expired then (a write since the scan may have renewed it). The
 * delete goes through the table's store, so its index entries go with it, and is made as
 * DynamoDB itself (`writingAs({kind: 'ttl'})`), so a stream records it with the service's identity.
 * Until swept, an expired item is still returned by reads, as in DynamoDB.
 */
import type { Clock } from '../../core/clock.js';
import { DutyCycle } from '../../core/duty-cycle.js';
import type { Scope } from '../../core/scope.js';
import { isUnitSignal, type UnitKind } from '../../storage/backend.js';
import { DamagedFileError } from '../../storage/damage.js';
import type { StoredItem } from '../../storage/table-file.js';
import { writingAs } from '../item-changes/write-origin.js';
import { fromStored } from '../item-codec.js';
import type { TableDefinition } from '../table-definition.js';
import type { OpenTable } from '../tables.js';
import { isExpired } from './expiry.js';
import { type ScanPosition, savedPosition, savePosition } from './position.js';
import { expiryAttribute } from './state.js';

/** What the sweeper needs of the table manager. */
export interface TtlTables {
  allTables(): readonly { readonly scope: Scope; readonly name: string; readonly definition: TableDefinition }[];
  openForTtl(scope: Scope, name: string, tableId: string): Promise<OpenTable | undefined>;
  damaged(error: DamagedFileError): unknown;
  /** Runs a step as one unit of work of the storage backend (see TableManager.run). */
  run<T>(fn: () => Promise<T>, kind: UnitKind): Promise<T>;
}

export interface TtlSweeperOptions {
  readonly tables: TtlTables;
  readonly clock: Clock;
  /** Told how many items each slice deleted (the `sealdb_ttl_deleted_items_total` metric). */
  readonly onDeleted?: (count: number) => void;
  /** Told about failures other than a damaged file (the table is skipped until the next pass). */
  readonly onError?: (error: unknown) => void;
  /** Real milliseconds one synchronous slice may take, scan and deletes together (default 4). */
  readonly sliceMs?: number;
  /** Told what each slice that deleted took on the event loop (for bench:ttl). */
  readonly onSlice?: (timing: TtlSliceTiming) => void;
}

/** What one slice held the event loop for, in real milliseconds. */
export interface TtlSliceTiming {
  readonly deleted: number;
  /** The synchronous scan and delete statements. */
  readonly sliceMs: number;
  /** The group commit that followed (its pages encrypted and written), in the next turn. */
  readonly commitMs: number;
}

/**
 * Deletes per slice, within these bounds. The slice's time budget bounds the delete statements,
 * not the group commit that follows on the event loop: it encrypts and writes every page the
 * deletes dirtied, one or two per delete on a plain table (the bodies of items next in key order
 * lie on unrelated pages), more with indexes, which costs far more than the statements (a commit
 * of 256 deletes on a plain table took ~22 ms of CPU on the 2-vCPU bench machine, the scan and
 * statements before it ~6 ms). So the count is sized before the slice from what a delete's share of
 * the commit cost on this table so far (`#commitMsPerDelete`), for a commit of at most the slice's
 * budget, and never past the upper bound whatever the estimate says.
 */
const MIN_DELETES_PER_SLICE = 16;
const MAX_DELETES_PER_SLICE = 128;
/** Recent commits whose per-delete cost the estimate (their lower quartile, see #learn) is taken from. */
const COMMIT_SAMPLES = 9;
/** A delete's share of the commit before any was measured on a table (ms; ~0.1 measured plain). */
const INITIAL_COMMIT_MS_PER_DELETE = 0.125;
/**
 * The share of the event loop's time the sweeper takes while it has work, with requests or
 * without: each slice is followed by a pause as long as the slice and its commit took.
 */
const DUTY_CYCLE = 0.5;
/** The time is read once per this many rows scanned, and once per this many deletes. */
const ROWS_PER_CHECK = 16;
const DELETES_PER_CHECK = 8;
const HASH_SPACE = 2 ** 32;

/**
 * Real milliseconds between saves of a scan position that deleted nothing (a slice that deletes
 * saves it with its deletes, in the same group commit): a restart rescans at most this much.
 */
const SAVE_EVERY_MS = 1_000;

interface PassTable {
  readonly scope: Scope;
  readonly name: string;
  readonly id: string;
}

export class TtlSweeper {
  readonly #tables: TtlTables;
  readonly #clock: Clock;
  readonly #onDeleted: (count: number) => void;
  readonly #onError: (error: unknown) => void;
  readonly #sliceMs: number;
  /** Pauses between slices: DUTY_CYCLE of the loop, whether requests are served or not. */
  readonly #cycle = new DutyCycle({ busyShare: DUTY_CYCLE, idleShare: DUTY_CYCLE });
  /**
   * Where the scan of each table (by id) goes on; null = from the start; absent = not known yet in
   * this process (read from the table file, where it is saved: position.ts).
   */
  readonly #positions = new Map<string, ScanPosition | null>();
  /** When each table's position was last saved (performance.now()). */
  readonly #savedAt = new Map<string, number>();
  #last: Promise<void> = Promise.resolve();
  /** A pass asked for but not started yet: further requests share it. */
  #queued: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Per table (by id): the last COMMIT_SAMPLES commits' milliseconds per delete (see MAX_DELETES_PER_SLICE). */
  readonly #commitMsPerDelete = new Map<string, number[]>();
  readonly #onSlice: ((timing: TtlSliceTiming) => void) | undefined;

  constructor(options: TtlSweeperOptions) {
    this.#tables = options.tables;
    this.#clock = options.clock;
    this.#onDeleted = options.onDeleted ?? (() => undefined);
    this.#onError = options.onError ?? (() => undefined);
    this.#sliceMs = options.sliceMs ?? 4;
    this.#onSlice = options.onSlice;
  }

  /**
   * A whole pass over every table with TTL enabled that starts after this call (so it sees the
   * clock as it is now); resolves once every such table has been scanned to its end.
   */
  pass(): Promise<void> {
    if (this.#queued) return this.#queued;
    const queued = this.#last.then(() => {
      this.#queued = undefined;
      return this.#pass();
    });
    this.#queued = queued;
    this.#last = queued.catch(() => undefined);
    return queued;
  }

  /** Runs passes in the background, `intervalMs` of real time apart (each one after the last ends). */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.#stopped) return;
    const next = () => {
      this.#timer = setTimeout(() => {
        this.pass().then(next, (error: unknown) => {
          this.#onError(error);
          next();
        });
      }, intervalMs);
      this.#timer.unref();
    };
    next();
  }

  /** Stops the background passes; resolves when the slice in progress (if any) has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#last;
  }

  async #pass(): Promise<void> {
    let remaining = await this.#tables.run(async () => this.#candidates(), 'read');
    // Round robin, one slice per table in turn: a huge table does not hold up the others.
    while (remaining.length > 0 && !this.#stopped) {
      const next: PassTable[] = [];
      for (const table of remaining) {
        if (this.#stopped) return;
        // A slice whose commit fails (over the engine: a lease lost meanwhile, see src/cluster) is
        // reported and its table left for the next pass, as a failure inside the slice is.
        const { more, deleted } = await this.#tables
          .run(() => this.#sliceOf(table), 'write')
          .catch((error: unknown) => {
            this.#positions.delete(table.id);
            this.#onError(error);
            return { more: false, deleted: 0 };
          });
        // Counted once the unit has committed: over the engine a unit whose commit meets a
        // serialization conflict runs again, and its first attempt's deletes were never made.
        if (deleted > 0) this.#onDeleted(deleted);
        // After a slice (and its commit) the event loop is left to requests at least as long;
        // outside the unit of work, so an engine transaction is not held open meanwhile.
        await this.#cycle.rest();
        if (more) next.push(table);
      }
      remaining = next;
    }
  }

  #candidates(): PassTable[] {
    const now = this.#clock.now();
    let all: ReturnType<TtlTables['allTables']>;
    try {
      all = this.#tables.allTables();
    } catch (error) {
      if (isUnitSignal(error)) throw error;
      if (error instanceof DamagedFileError) this.#tables.damaged(error);
      else this.#onError(error);
      return [];
    }
    const live = new Set(all.map((t) => t.definition.TableId));
    for (const id of this.#positions.keys()) {
      if (!live.has(id)) {
        this.#positions.delete(id);
        this.#savedAt.delete(id);
        this.#commitMsPerDelete.delete(id);
      }
    }
    return all
      .filter((t) => expiryAttribute(t.definition.TimeToLive, now) !== undefined)
      .map((t) => ({ scope: t.scope, name: t.name, id: t.definition.TableId }));
  }

  /** One slice of one table: whether the table has more to scan in this pass, and how many items it deleted. */
  async #sliceOf(ref: PassTable): Promise<{ more: boolean; deleted: number }> {
    let more = false;
    let deleted = 0;
    try {
      // Opened again for every slice: between slices the table may have been deleted, taken offline or changed.
      const table = await this.#tables.openForTtl(ref.scope, ref.name, ref.id);
      const now = this.#clock.now();
      const attribute = table && expiryAttribute(table.definition.TimeToLive, now);
      // A file a crash left with staged transaction writes is settled by the next request first.
      if (!table || !attribute || table.store.staged().length > 0) return { more: false, deleted: 0 };
      this.#cycle.start();
      const began = performance.now();
      ({ more, deleted } = this.#slice(ref.id, table, attribute, now));
      if (deleted > 0) {
        const sliceEnd = performance.now();
        // The deletes are committed by the group commit (a setImmediate queued by the first of
        // them, or before it by a request), on the event loop too: part of the slice's cost. An
        // immediate queued now runs right after it, so the commit is timed without the WAL flush
        // that durable() also waits for (off the loop, in fsync durability).
        await new Promise<void>((resolve) => setImmediate(resolve));
        const commitMs = performance.now() - sliceEnd;
        await table.store.durable();
        this.#learn(ref.id, commitMs, deleted);
        this.#onSlice?.({ deleted, sliceMs: sliceEnd - began, commitMs });
      }
      this.#cycle.stop();
    } catch (error) {
      this.#cycle.stop();
      if (isUnitSignal(error)) throw error;
      // What is saved stays: the next pass goes on from there.
      this.#positions.delete(ref.id);
      if (error instanceof DamagedFileError) this.#tables.damaged(error);
      else this.#onError(error);
      return { more: false, deleted: 0 };
    }
    return { more, deleted };
  }

  /**
   * Takes in what a commit of `deleted` deletes took. The estimate is the lower quartile of the
   * last COMMIT_SAMPLES commits: a commit timed in real time also counts GC pauses and the time
   * another process held the CPU, and with one outlier counting at once the batch sat at its floor
   * (162 deletes/s at load 11-22; the median: ~1,000/s on a quiet machine, bench/results/ttl.md).
   * An estimate that is low is bounded by MAX_DELETES_PER_SLICE (a commit of 128 plain deletes
   * measured 8-13 ms of CPU).
   */
  #learn(id: string, commitMs: number, deleted: number): void {
    const samples = this.#commitMsPerDelete.get(id) ?? [];
    samples.push(commitMs / deleted);
    if (samples.length > COMMIT_SAMPLES) samples.shift();
    this.#commitMsPerDelete.set(id, samples);
  }

  #perDelete(id: string): number {
    const samples = this.#commitMsPerDelete.get(id);
    if (!samples || samples.length === 0) return INITIAL_COMMIT_MS_PER_DELETE;
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 4)] as number;
  }

  /** The deletes a slice of this table may make: a commit of about the slice's budget. */
  #deletesFor(id: string): number {
    const perDelete = this.#perDelete(id);
    const fit = Math.floor(this.#sliceMs / perDelete);
    return Math.max(MIN_DELETES_PER_SLICE, Math.min(MAX_DELETES_PER_SLICE, fit));
  }

  /**
   * Synchronous: scans on from the table's position for half the time budget, then deletes what
   * expired for the rest of it; whatever is left is picked up by the next slice.
   */
  #slice(id: string, table: OpenTable, attribute: string, now: number): { more: boolean; deleted: number } {
    const started = performance.now();
    const scanUntil = started + this.#sliceMs / 2;
    const deadline = started + this.#sliceMs;
    // Most rows of most tables are not expired: a body that does not even name the attribute is not
    // parsed (bodies are JSON.stringify'd items, item-codec.ts toStored, so the name is spelled so).
    const needle = Buffer.from(`${JSON.stringify(attribute)}:`, 'utf8');
    const expired: ScanPosition[] = [];
    const limit = this.#deletesFor(id);
    let known = this.#positions.get(id);
    if (known === undefined) known = savedPosition(table.store) ?? null;
    let position: ScanPosition | undefined = known ?? undefined;
    let more = false;
    let scanned = 0;
    const rows = table.store.scan({ fromHash: 0, toHash: HASH_SPACE, ...(position ? { after: position } : {}) });
    // Leaving the loop early closes the statement (the file cannot be written while it is open).
    for (const row of rows) {
      position = { hash: row.hash, pk: row.pk, sk: row.sk };
      if (expiredRow(row, needle, attribute, now)) expired.push(position);
      scanned++;
      if (expired.length >= limit || (scanned % ROWS_PER_CHECK === 0 && performance.now() > scanUntil)) {
        more = true;
        break;
      }
    }
    const store = table.store;
    let deleted = 0;
    if (expired.length > 0) {
      writingAs({ kind: 'ttl' }, () =>
        store.transaction(() => {
          for (let i = 0; i < expired.length; i++) {
            if (i > 0 && i % DELETES_PER_CHECK === 0 && performance.now() > deadline) {
              // Out of time: the next slice goes on after the last one handled.
              position = expired[i - 1];
              more = true;
              return;
            }
            const key = expired[i] as ScanPosition;
            // Still expired now? A write since the scan may have renewed or removed it.
            const current = store.get(key.hash, key.pk, key.sk);
            if (!current || !expiredRow(current, needle, attribute, now)) continue;
            store.delete(key.hash, key.pk, key.sk);
            deleted++;
          }
        }),
      );
    }
    const next = more && position ? position : null;
    this.#positions.set(id, next);
    // Saved with the deletes (same group commit), at the end of a table, or now and then.
    const realNow = performance.now();
    if (deleted > 0 || next === null || realNow - (this.#savedAt.get(id) ?? 0) >= SAVE_EVERY_MS) {
      if (next !== null || known !== null || this.#savedAt.has(id)) savePosition(store, next ?? undefined);
      this.#savedAt.set(id, realNow);
    }
    return { more, deleted };
  }
}

function expiredRow(row: StoredItem, needle: Buffer, attribute: string, now: number): boolean {
  return row.body.includes(needle) && isExpired(fromStored(row), attribute, now);
}
