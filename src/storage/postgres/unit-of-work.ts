/**
 * How synchronous storage calls run over an asynchronous engine. The DynamoDB layer calls its
 * store synchronously (the embedded store answers from SQLite at once, and a request's checks and
 * writes run without interleaving). Over PostgreSQL each request runs as a unit of work: its
 * store calls answer from what the unit has fetched; a call that needs rows the unit has not
 * fetched throws `Miss`, the runner fetches them (inside the unit's SERIALIZABLE transaction) and
 * runs the request again from the start. Writes are buffered in the unit (reads see them) and
 * sent with the commit; a serialization failure (40001) starts the whole unit over. The request
 * logic so stays above the storage interface, synchronous and unchanged, and the engine decides
 * every conflict.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { PoolClient } from 'pg';

/** Thrown by a store call that needs rows first: the runner loads them and runs the unit again. */
export class Miss extends Error {
  constructor(readonly load: (unit: UnitOfWork) => Promise<void>) {
    super('rows not yet fetched (internal to the engine-backed store)');
    this.name = 'Miss';
  }
}

/** One buffered row write: a sealed row to upsert, or a key to delete. */
export interface PendingRow {
  readonly tbl: string;
  readonly space: number;
  readonly pkm: Buffer;
  readonly km: Buffer;
  /** Absent for a delete. */
  readonly sealed?: Buffer;
  readonly size: number;
  /** The opened row, for reads of the same unit. */
  readonly opened?: {
    readonly hash: number;
    readonly pk: Buffer;
    readonly sk: Buffer;
    readonly tk: Buffer;
    readonly body: Buffer;
  };
}

export interface CatalogWrite {
  readonly km: Buffer;
  /** Absent for a delete. */
  readonly sealed?: Buffer;
}

export type UnitMode = 'read' | 'write';

/** What a unit holding a turn does first in its new transaction (fetch and lock the log's head). */
export type TurnStart = (unit: UnitOfWork) => Promise<void>;

export class UnitOfWork {
  /** The open SERIALIZABLE transaction of a write unit (taken at its first fetch). */
  client: PoolClient | undefined;
  /** The catalog epoch this unit read (undefined until its first catalog use). */
  catalogEpoch: bigint | undefined;
  /**
   * Set when the unit answered from the node's cached catalog before checking its epoch: the
   * unit's first statement reads the epoch with it (no round trip of its own), and a unit whose
   * epoch moved is run again from the start with the catalog reloaded.
   */
  catalogUnchecked: { readonly expected: bigint; readonly stale: () => void } | undefined;
  /** Row caches of this attempt, keyed by store-made strings. */
  readonly fetched = new Map<string, unknown>();
  /** Writes to send at commit, one per row key (the last write of a key wins). */
  readonly writes = new Map<string, PendingRow>();
  readonly catalogWrites = new Map<string, CatalogWrite>();
  /** The catalog entries this unit wrote or deleted, as its own reads must see them (null: deleted). */
  readonly catalogOverlay = new Map<string, unknown>();
  /** Tables whose rows all go at commit (DeleteTable). */
  readonly dropTables: string[] = [];
  /**
   * Node-side effects of the attempt (memos such as a transaction's ClientRequestToken), made
   * only once its commit succeeded: an attempt run again must not find its own earlier run's.
   */
  readonly afterCommit: (() => void)[] = [];
  /**
   * Work to run once the unit has failed for good and rolled back, before its error is thrown:
   * a write the request's own failure must not undo (a table found inaccessible is marked so).
   */
  readonly afterRollback: (() => Promise<void>)[] = [];
  /** A lease the unit's writes are fenced by: checked in its transaction at commit (src/cluster). */
  fence: Fence | undefined;
  /**
   * The node turns (node-turns.ts) the unit takes before its transaction begins, each with the
   * statement its transaction starts with once it holds them: kept over every attempt, as a unit
   * that found it needs one runs again holding it.
   */
  readonly turns = new Map<string, TurnStart>();
  /** The turns held by the transaction now open, and how to let them go. */
  heldTurns: { readonly names: ReadonlySet<string>; readonly release: () => void } | undefined;
  /** Values made by `stable`, in the order a run asks for them. */
  readonly #made: unknown[] = [];
  #madeAt = 0;

  mode: UnitMode;

  constructor(readonly initialMode: UnitMode) {
    this.mode = initialMode;
  }

  holdsTurn(name: string): boolean {
    return this.heldTurns?.names.has(name) ?? false;
  }

  releaseTurns(): void {
    this.heldTurns?.release();
    this.heldTurns = undefined;
  }

  /** Forgets everything of an attempt (a serialization failure starts the unit over). */
  reset(): void {
    this.mode = this.initialMode;
    this.catalogEpoch = undefined;
    this.catalogUnchecked = undefined;
    this.fetched.clear();
    this.#made.length = 0;
    this.discardWrites();
  }

  /**
   * A value made once per unit: a run again after a Miss gets the same one at the same turn, so
   * a new random id (a KMS key's, a grant's) is the same id the rows fetched for it were asked
   * for. A serialization failure starts afresh, with new values.
   */
  stable<T>(make: () => T): T {
    if (this.#madeAt < this.#made.length) return this.#made[this.#madeAt++] as T;
    const value = make();
    this.#made.push(value);
    this.#madeAt++;
    return value;
  }

  /** Before a run again after a Miss: what the unit fetched stays, what it wrote is made again. */
  discardWrites(): void {
    this.#madeAt = 0;
    this.dropTables.length = 0;
    this.afterCommit.length = 0;
    this.afterRollback.length = 0;
    this.writes.clear();
    this.catalogWrites.clear();
    this.catalogOverlay.clear();
  }

  /** Takes a copy of the buffered writes, to put back when a nested transaction fails. */
  savepoint(): () => void {
    const writes = new Map(this.writes);
    const catalogWrites = new Map(this.catalogWrites);
    const overlay = new Map(this.catalogOverlay);
    return () => {
      restore(this.writes, writes);
      restore(this.catalogWrites, catalogWrites);
      restore(this.catalogOverlay, overlay);
    };
  }
}

function restore<K, V>(target: Map<K, V>, from: Map<K, V>): void {
  target.clear();
  for (const [k, v] of from) target.set(k, v);
}

const current = new AsyncLocalStorage<UnitOfWork>();

/** The unit of the request running now; engine-backed stores are used only inside one. */
export function currentUnit(): UnitOfWork {
  const unit = current.getStore();
  if (!unit) throw new Error('engine-backed storage used outside a unit of work');
  return unit;
}

export function runWithUnit<T>(unit: UnitOfWork, fn: () => Promise<T>): Promise<T> {
  return current.run(unit, fn);
}

/**
 * A value worked out once per request: over the engine, a run again after a Miss gets the one
 * its first run made (checks of the request that need no table need not run per fetch). Made
 * again after a serialization failure; outside a unit (the embedded store) made at once.
 */
export function oncePerUnit<T>(make: () => T): T {
  const unit = current.getStore();
  return unit ? unit.stable(make) : make();
}

/** Whether a unit of work is running now (never with the embedded store). */
export function inUnit(): boolean {
  return current.getStore() !== undefined;
}

/**
 * Runs `fn` outside the current unit: work it starts that goes on after the unit has ended (a
 * copy's completion) must not write into that unit (its promises would carry it along).
 */
export function outsideUnit<T>(fn: () => T): T {
  return current.exit(() => fencing.exit(fn));
}

/**
 * What stays the same over every run of the current request: the unit of work itself (run again
 * after a fetch or a serialization failure); outside a unit (the embedded store), a new token.
 */
export function unitIdentity(): object {
  return current.getStore() ?? {};
}

/**
 * Runs `work` once the current unit has failed and rolled back (not at all outside a unit, nor
 * when it commits: the embedded store's writes and a committed unit's stand already).
 */
export function whenRolledBack(work: () => Promise<void>): void {
  current.getStore()?.afterRollback.push(work);
}

/** The catalog changed under a unit that used the node's cached copy: the unit runs again. */
export class StaleCatalog extends Error {
  constructor() {
    super('the catalog changed (internal to the engine-backed store)');
    this.name = 'StaleCatalog';
  }
}

/**
 * Runs `fn` once the current unit of work has committed (at once outside one: the embedded
 * store has committed, or will with its group commit, by the time the request answers).
 */
export function whenCommitted(fn: () => void): void {
  const unit = current.getStore();
  if (unit) unit.afterCommit.push(fn);
  else fn();
}

/**
 * A lease (src/cluster/leases.ts) as held when the unit's work began: the commit checks, in the
 * unit's own SERIALIZABLE transaction, that the lease row still names this holder with this token.
 */
export interface Fence {
  readonly name: string;
  readonly holder: string;
  readonly token: bigint;
}

/** Fences the current unit's writes by a lease (checked at its commit). */
export function fenceUnit(fence: Fence): void {
  currentUnit().fence = fence;
}

const fencing = new AsyncLocalStorage<Fence>();

/**
 * Runs `work`, background work of several units (a PITR pass, the tables' key checks), with
 * every unit it starts fenced by `fence`: once the lease has moved, none of them commits. Work
 * it hands on with `outsideUnit` (a copy followed to its end) is not fenced.
 */
export function fencedWork<T>(fence: Fence, work: () => Promise<T>): Promise<T> {
  return fencing.run(fence, work);
}

/** The fence of the fenced work running now (the engine gives it to each unit it starts). */
export function workFence(): Fence | undefined {
  return fencing.getStore();
}

/** The fence of the unit running now, if any (undefined outside a unit). */
export function unitFence(): Fence | undefined {
  return current.getStore()?.fence;
}

/** The fence no longer stands (the lease moved or expired): the unit's writes were rolled back. */
export class FenceLost extends Error {
  constructor(readonly lease: string) {
    super(`the lease '${lease}' is no longer held by this node; its work was not committed`);
    this.name = 'FenceLost';
  }
}

/** Marks a row-key buffer as a string for maps. */
export const hex = (b: Buffer): string => b.toString('hex');
