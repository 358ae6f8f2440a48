/**
 * A table's items and keyspaces in a PostgreSQL-compatible engine, behind the same synchronous
 * TableStore the embedded file implements. Calls answer from the current unit of work
 * (unit-of-work.ts) and throw Miss for rows it has not fetched yet. Rows reach the engine only
 * sealed (row-seal.ts); sort order is never revealed to the engine: a Query fetches the sealed
 * rows of its one partition and orders them here (the README's threat model says why).
 */

import type pg from 'pg';
import type {
  AppendedRecord,
  EntryKey,
  EntryRangeQuery,
  EntryScanRange,
  ItemKey,
  KeyBound,
  KeyspaceEntry,
  LogRecord,
  RangeQuery,
  ScanRange,
  StoredItem,
  StoredWrite,
  TableStore,
} from '../table-file.js';
import type { Engine } from './engine.js';
import type { OpenedRow, RowSeal } from './row-seal.js';
import { currentUnit, hex, Miss, type PendingRow, type TurnStart, type UnitOfWork } from './unit-of-work.js';

/**
 * The keyspace number of a table's items. The layer numbers its keyspaces from both ends
 * (indexes 1, 2, …; their backfill positions -1, -2, …; streams): the items take one it never uses.
 */
export const ITEM_SPACE = -(2 ** 31);
const ITEMS = ITEM_SPACE;
/**
 * A stream's record log is a keyspace here, just above the items' (the layer's own keyspaces are
 * small numbers either side of 0): one partition per log, positions as 8-byte big-endian sort keys.
 * Reading a log in order fetches its one partition, as a Query does (sort keys are sealed).
 */
const MAX_LOGS = 2 ** 20;
function logSpace(log: number): number {
  if (!Number.isSafeInteger(log) || log < 0 || log >= MAX_LOGS) throw new Error(`not a log number: ${log}`);
  return ITEM_SPACE + 1 + log;
}
function positionKey(position: number): Buffer {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(BigInt(position));
  return key;
}
const NO_BYTES = Buffer.alloc(0);
/** The head of a log: a partition of its own beside the records' (their pk is empty). */
const HEAD_PK = Buffer.from('head');
const headKey = (log: number) => ({ space: logSpace(log), hash: 0, pk: HEAD_PK, sk: NO_BYTES, tk: NO_BYTES });
/**
 * A log this node appended to lately has its turn taken by every write unit of the table before
 * its transaction begins (node-turns.ts); after this many such units without an append (the
 * stream was turned off) the table's writes stop taking it.
 */
const TURN_IDLE_UNITS = 1000;
const FIRST_SCAN_ROWS = 128;
const MAX_SCAN_ROWS = 4096;

interface Row {
  readonly pkm: Buffer;
  readonly km: Buffer;
  readonly size: number;
  readonly opened: OpenedRow;
}

interface ScanState {
  readonly rows: Row[];
  /** Every partition up to and including this one has been fetched. */
  last: Buffer | undefined;
  done: boolean;
  limit: number;
}

interface DropState {
  readonly keys: { readonly pkm: Buffer; readonly km: Buffer }[];
  full: boolean;
}

export class PgTableStore implements TableStore {
  readonly #engine: Engine;
  readonly #seal: RowSeal;
  readonly #tbl: string;
  /** Logs this node appends to: write units since the last append that took the log's turn. */
  readonly #appending = new Map<number, number>();
  readonly #turnsTaken = new WeakSet<UnitOfWork>();

  constructor(engine: Engine, tableId: string, seal: RowSeal) {
    this.#engine = engine;
    this.#tbl = tableId;
    this.#seal = seal;
  }

  /** The keyed hash Scan segments split (the unkeyed one the layer computes never reaches the engine). */
  scanHash(_hash: number, space: number | undefined, pk: Buffer): number {
    return this.#seal.partition(space ?? ITEMS, pk).readUInt32BE(0);
  }

  get(_hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    const row = this.#point(currentUnit(), ITEMS, pk, sk, NO_BYTES);
    return row ? toItem(row) : undefined;
  }

  /** The items not yet fetched nor written by the unit, in one statement (one Miss). */
  prefetch(keys: readonly ItemKey[]): void {
    const unit = currentUnit();
    const wanted: { pkm: Buffer; km: Buffer; slot: string }[] = [];
    for (const key of keys) {
      const km = this.#seal.key(ITEMS, key.pk, key.sk, NO_BYTES);
      const slot = this.#slot(ITEMS, km);
      if (unit.writes.has(slot) || unit.fetched.has(`p|${slot}`)) continue;
      wanted.push({ pkm: this.#seal.partition(ITEMS, key.pk), km, slot });
    }
    if (wanted.length === 0) return;
    throw new Miss(async (u) => {
      for (let i = 0; i < wanted.length; i += 500) {
        const slice = wanted.slice(i, i + 500);
        const values: unknown[] = [this.#tbl, ITEMS];
        const tuples = slice.map((w) => {
          values.push(w.pkm, w.km);
          return `($${values.length - 1}::bytea, $${values.length}::bytea)`;
        });
        const result = await this.#query<{ pkm: Buffer; km: Buffer; size: number; sealed: Buffer }>(
          u,
          `SELECT pkm, km, size, sealed FROM ${this.#engine.schema}.rows
           WHERE tbl = $1 AND space = $2 AND (pkm, km) IN (${tuples.join(', ')})`,
          values,
        );
        const found = new Map(result.rows.map((r) => [hex(r.km), r]));
        for (const w of slice) {
          const row = found.get(hex(w.km));
          u.fetched.set(`p|${w.slot}`, row ? this.#open(ITEMS, w.pkm, w.km, row.size, row.sealed) : null);
        }
      }
    });
  }

  put(item: StoredItem): StoredItem | undefined {
    const unit = currentUnit();
    const previous = this.#point(unit, ITEMS, item.pk, item.sk, NO_BYTES);
    this.#buffer(unit, ITEMS, { hash: item.hash, pk: item.pk, sk: item.sk, tk: NO_BYTES, body: item.body }, item.size);
    return previous ? toItem(previous) : undefined;
  }

  delete(_hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    const unit = currentUnit();
    const previous = this.#point(unit, ITEMS, pk, sk, NO_BYTES);
    if (previous) this.#bufferDelete(unit, ITEMS, pk, sk, NO_BYTES);
    return previous ? toItem(previous) : undefined;
  }

  *query(range: RangeQuery): IterableIterator<StoredItem> {
    for (const row of this.#range(currentUnit(), ITEMS, range, undefined)) yield toItem(row);
  }

  *scan(range: ScanRange): IterableIterator<StoredItem> {
    const after = range.after ? { pk: range.after.pk, sk: range.after.sk, tk: NO_BYTES } : undefined;
    for (const row of this.#scan(currentUnit(), ITEMS, range.fromHash, range.toHash, after)) yield toItem(row);
  }

  stats(): { itemCount: number; sizeBytes: number } {
    return this.#stats(currentUnit(), ITEMS);
  }

  /**
   * An entry naming its item (an ALL projection) is kept whole all the same: a reference would
   * make every index read fetch its items' rows in a second engine round trip, while here the
   * entry is one more sealed row of the same commit.
   */
  putEntry(entry: KeyspaceEntry): void {
    const { space, hash, pk, sk, tk, body, size } = entry;
    this.#buffer(currentUnit(), space, { hash, pk, sk, tk, body }, size);
  }

  deleteEntry(key: EntryKey): void {
    this.#bufferDelete(currentUnit(), key.space, key.pk, key.sk, key.tk);
  }

  *queryEntries(range: EntryRangeQuery): IterableIterator<KeyspaceEntry> {
    for (const row of this.#range(currentUnit(), range.space, range, range.after)) yield toEntry(range.space, row);
  }

  *scanEntries(range: EntryScanRange): IterableIterator<KeyspaceEntry> {
    const unit = currentUnit();
    for (const row of this.#scan(unit, range.space, range.fromHash, range.toHash, range.after)) {
      yield toEntry(range.space, row);
    }
  }

  spaceStats(space: number): { itemCount: number; sizeBytes: number } {
    return this.#stats(currentUnit(), space);
  }

  dropEntries(space: number, limit: number): number {
    const unit = currentUnit();
    const slot = `D|${this.#tbl}|${space}`;
    const state = unit.fetched.get(slot) as DropState | undefined;
    const pending = (k: { km: Buffer }) =>
      unit.writes.get(this.#slot(space, k.km))?.sealed === undefined && unit.writes.has(this.#slot(space, k.km));
    const candidates = state ? state.keys.filter((k) => !pending(k)) : [];
    if (!state || (candidates.length < limit && state.full)) {
      const want = (state ? state.keys.length - candidates.length : 0) + limit;
      throw new Miss(async (u) => {
        const result = await this.#query<{ pkm: Buffer; km: Buffer }>(
          u,
          `SELECT pkm, km FROM ${this.#engine.schema}.rows WHERE tbl = $1 AND space = $2 ORDER BY pkm, km LIMIT $3`,
          [this.#tbl, space, want],
        );
        u.fetched.set(slot, { keys: result.rows, full: result.rows.length === want } satisfies DropState);
      });
    }
    const slice = candidates.slice(0, limit);
    for (const k of slice) {
      unit.writes.set(this.#slot(space, k.km), { tbl: this.#tbl, space, pkm: k.pkm, km: k.km, size: 0 });
    }
    return slice.length;
  }

  partitionSize(_hash: number, pk: Buffer, spaces: readonly number[]): number {
    const unit = currentUnit();
    let size = 0;
    for (const space of [ITEMS, ...spaces]) for (const row of this.#partition(unit, space, pk)) size += row.size;
    return size;
  }

  /**
   * Nodes number records with clocks of their own, which differ: a node behind another would
   * append below the other's last record (out of order), or at its very position (replacing it).
   * So every append reads and moves the log's head, a row of its own holding the last position
   * given out: a record at or below it goes just above it. Two units appending to one log
   * conflict on the head, and the one that retries appends above the other's records.
   */
  appendRecord(record: AppendedRecord): void {
    const { log, body } = record;
    const unit = currentUnit();
    const turn = this.#turn(log);
    this.#appending.set(log, 0);
    if (!unit.holdsTurn(turn)) throw new Miss((u) => this.#engine.restartHolding(u, turn, this.#headStart(log)));
    const head = this.#head(log);
    const position = head !== undefined && record.position <= head ? head + 1 : record.position;
    this.putEntry({ ...headKey(log), body: positionKey(position), size: 8 });
    this.putEntry({
      space: logSpace(log),
      hash: 0,
      pk: NO_BYTES,
      sk: positionKey(position),
      tk: NO_BYTES,
      body,
      size: body.length,
    });
  }

  #head(log: number): number | undefined {
    const { space, hash, pk } = headKey(log);
    for (const entry of this.queryEntries({ space, hash, pk, forward: true })) {
      return Number(entry.body.readBigUInt64BE(0));
    }
    return undefined;
  }

  *records(log: number, from: number, below: number): IterableIterator<LogRecord> {
    for (const entry of this.#logRange(log, from, below, true)) {
      yield { position: Number(entry.sk.readBigUInt64BE(0)), body: entry.body };
    }
  }

  lastRecord(log: number, below: number): number | undefined {
    for (const entry of this.#logRange(log, 0, below, false)) return Number(entry.sk.readBigUInt64BE(0));
    return undefined;
  }

  /** The keyspace's running totals: the records' bytes. */
  recordBytes(log: number): number {
    return this.spaceStats(logSpace(log)).sizeBytes;
  }

  trimRecords(log: number, below: number, limit: number): number {
    const doomed = [...take(this.#logRange(log, 0, below, true), limit)];
    for (const entry of doomed)
      this.deleteEntry({ space: entry.space, hash: entry.hash, pk: entry.pk, sk: entry.sk, tk: entry.tk });
    return doomed.length;
  }

  dropRecords(log: number, limit: number): number {
    const dropped = this.trimRecords(log, Number.MAX_SAFE_INTEGER, limit);
    // The log is gone for good (a disabled stream's, an earlier PITR enablement's): its head too.
    if (dropped < limit) this.deleteEntry(headKey(log));
    return dropped;
  }

  #logRange(log: number, from: number, below: number, forward: boolean): IterableIterator<KeyspaceEntry> {
    return this.queryEntries({
      space: logSpace(log),
      hash: 0,
      pk: NO_BYTES,
      lower: { key: positionKey(from), inclusive: true },
      upper: { key: positionKey(Math.min(below, Number.MAX_SAFE_INTEGER)), inclusive: false },
      forward,
    });
  }

  transaction<T>(fn: () => T): T {
    const restore = currentUnit().savepoint();
    try {
      return fn();
    } catch (error) {
      restore();
      throw error;
    }
  }

  write(writes: readonly StoredWrite[]): void {
    this.transaction(() => {
      for (const write of writes) {
        if ('put' in write) this.put(write.put);
        else if ('delete' in write) this.delete(write.delete.hash, write.delete.pk, write.delete.sk);
        else if ('putEntry' in write) this.putEntry(write.putEntry);
        else if ('deleteEntry' in write) this.deleteEntry(write.deleteEntry);
        else this.appendRecord(write.appendRecord);
      }
    });
  }

  /**
   * Every table lives in the one engine, so a cross-table transaction is one engine transaction:
   * writes "staged" for other tables are simply the unit's writes, committed with the rest.
   */
  stage(_txid: string, _coordinator: string, writes: readonly StoredWrite[]): void {
    this.write(writes);
  }

  staged(): readonly { readonly txid: string; readonly coordinator: string }[] {
    return [];
  }

  applyStaged(): void {}

  discardStaged(): void {}

  isCommitted(): boolean {
    return false;
  }

  forgetCommitted(): void {}

  /** Nothing is answered before the unit commits (the runner commits before the answer goes out). */
  durable(): Promise<void> {
    return Promise.resolve();
  }

  commitNow(): void {}

  close(): void {
    this.#seal.destroy();
  }

  #turn(log: number): string {
    return `log|${this.#tbl}|${log}`;
  }

  #headStart(log: number): TurnStart {
    const { space, pk } = headKey(log);
    return (u) => this.#fetchPartition(u, space, this.#seal.partition(space, pk), true);
  }

  /** Every statement of the store: a write unit's first one takes the turns of the logs it may append to. */
  #query<R extends pg.QueryResultRow>(unit: UnitOfWork, text: string, values: readonly unknown[]) {
    if (unit.mode === 'write' && this.#appending.size > 0 && !this.#turnsTaken.has(unit)) {
      this.#turnsTaken.add(unit);
      for (const [log, idle] of this.#appending) {
        if (idle >= TURN_IDLE_UNITS) this.#appending.delete(log);
        else {
          this.#appending.set(log, idle + 1);
          unit.turns.set(this.#turn(log), this.#headStart(log));
        }
      }
    }
    return this.#engine.query<R>(unit, text, values);
  }

  #slot(space: number, km: Buffer): string {
    return `${this.#tbl}|${space}|${hex(km)}`;
  }

  #buffer(unit: UnitOfWork, space: number, opened: OpenedRow, size: number): void {
    const pkm = this.#seal.partition(space, opened.pk);
    const km = this.#seal.key(space, opened.pk, opened.sk, opened.tk);
    const sealed = this.#seal.seal(space, pkm, km, opened);
    unit.writes.set(this.#slot(space, km), { tbl: this.#tbl, space, pkm, km, sealed, size, opened });
  }

  #bufferDelete(unit: UnitOfWork, space: number, pk: Buffer, sk: Buffer, tk: Buffer): void {
    const pkm = this.#seal.partition(space, pk);
    const km = this.#seal.key(space, pk, sk, tk);
    unit.writes.set(this.#slot(space, km), { tbl: this.#tbl, space, pkm, km, size: 0 });
  }

  /**
   * One row by key: the unit's own write, a fetched partition, or a fetch. No FOR UPDATE: the
   * lock would be taken in the order the request reads, and two requests reading two rows in
   * opposite orders would deadlock (found only after deadlock_timeout, 1 s); SERIALIZABLE already
   * aborts the loser of every read-write conflict, and the unit is run again.
   */
  #point(unit: UnitOfWork, space: number, pk: Buffer, sk: Buffer, tk: Buffer): Row | undefined {
    const km = this.#seal.key(space, pk, sk, tk);
    const slot = this.#slot(space, km);
    const pending = unit.writes.get(slot);
    if (pending) return pending.opened ? pendingRow(pending) : undefined;
    const fetched = unit.fetched.get(`p|${slot}`) as Row | null | undefined;
    if (fetched !== undefined) return fetched ?? undefined;
    const pkm = this.#seal.partition(space, pk);
    const partition = unit.fetched.get(`P|${this.#tbl}|${space}|${hex(pkm)}`) as Row[] | undefined;
    if (partition) return partition.find((r) => r.km.equals(km));
    throw new Miss(async (u) => {
      const result = await this.#query<{ size: number; sealed: Buffer }>(
        u,
        `SELECT size, sealed FROM ${this.#engine.schema}.rows WHERE tbl = $1 AND space = $2 AND pkm = $3 AND km = $4`,
        [this.#tbl, space, pkm, km],
      );
      const found = result.rows[0];
      u.fetched.set(`p|${slot}`, found ? this.#open(space, pkm, km, found.size, found.sealed) : null);
    });
  }

  #open(space: number, pkm: Buffer, km: Buffer, size: number, sealed: Buffer): Row {
    return { pkm, km, size, opened: this.#seal.open(space, pkm, km, sealed) };
  }

  /** Every row of one partition of a keyspace, with the unit's writes applied, ordered by (sk, tk). */
  #partition(unit: UnitOfWork, space: number, pk: Buffer): Row[] {
    const pkm = this.#seal.partition(space, pk);
    const slot = `P|${this.#tbl}|${space}|${hex(pkm)}`;
    const fetched = unit.fetched.get(slot) as Row[] | undefined;
    if (!fetched) throw new Miss((u) => this.#fetchPartition(u, space, pkm, false));
    if (unit.writes.size === 0) return fetched;
    const prefix = `${this.#tbl}|${space}|`;
    const overwritten = new Set<string>();
    const added: Row[] = [];
    for (const [key, pending] of unit.writes) {
      if (!key.startsWith(prefix) || !pending.pkm.equals(pkm)) continue;
      overwritten.add(hex(pending.km));
      if (pending.opened) added.push(pendingRow(pending));
    }
    if (overwritten.size === 0) return fetched;
    return [...fetched.filter((r) => !overwritten.has(hex(r.km))), ...added].sort(compareRows);
  }

  /**
   * A partition's rows into the unit; `lock`: FOR UPDATE, for a log's head, which a unit holding
   * the log's turn takes first: units of other nodes then wait for it (and, having begun before it
   * committed, run again at once) instead of doing their whole work to conflict at their commit.
   */
  async #fetchPartition(u: UnitOfWork, space: number, pkm: Buffer, lock: boolean): Promise<void> {
    const result = await this.#query<{ km: Buffer; size: number; sealed: Buffer }>(
      u,
      `SELECT km, size, sealed FROM ${this.#engine.schema}.rows WHERE tbl = $1 AND space = $2 AND pkm = $3${lock ? ' FOR UPDATE' : ''}`,
      [this.#tbl, space, pkm],
    );
    const rows = result.rows.map((r) => this.#open(space, pkm, r.km, r.size, r.sealed));
    u.fetched.set(`P|${this.#tbl}|${space}|${hex(pkm)}`, rows.sort(compareRows));
  }

  #range(
    unit: UnitOfWork,
    space: number,
    range: RangeQuery,
    after: { readonly sk: Buffer; readonly tk: Buffer } | undefined,
  ): Row[] {
    const rows = this.#partition(unit, space, range.pk).filter(
      (r) =>
        within(r.opened.sk, range.lower, 1) &&
        within(r.opened.sk, range.upper, -1) &&
        (!after || compareKey(r.opened.sk, r.opened.tk, after.sk, after.tk) * (range.forward ? 1 : -1) > 0),
    );
    return range.forward ? rows : rows.reverse();
  }

  *#scan(
    unit: UnitOfWork,
    space: number,
    fromHash: number,
    toHash: number,
    after: { readonly pk: Buffer; readonly sk: Buffer; readonly tk: Buffer } | undefined,
  ): Generator<Row> {
    const start = after ? this.#seal.partition(space, after.pk) : undefined;
    const slot = `S|${this.#tbl}|${space}|${fromHash}|${toHash}|${start ? hex(start) : ''}|${after ? `${hex(after.sk)}|${hex(after.tk)}` : ''}`;
    let state = unit.fetched.get(slot) as ScanState | undefined;
    if (!state) {
      state = { rows: [], last: undefined, done: false, limit: FIRST_SCAN_ROWS };
      unit.fetched.set(slot, state);
    }
    for (let i = 0; ; i++) {
      if (i < state.rows.length) {
        yield state.rows[i] as Row;
        continue;
      }
      if (state.done) return;
      const s = state;
      throw new Miss((u) => this.#scanMore(u, space, fromHash, toHash, start, after, s));
    }
  }

  async #scanMore(
    unit: UnitOfWork,
    space: number,
    fromHash: number,
    toHash: number,
    start: Buffer | undefined,
    after: { readonly sk: Buffer; readonly tk: Buffer } | undefined,
    state: ScanState,
  ): Promise<void> {
    const values: unknown[] = [this.#tbl, space, uint32(fromHash)];
    const conditions = ['tbl = $1', 'space = $2', 'pkm >= $3'];
    if (toHash < 2 ** 32) {
      values.push(uint32(toHash));
      conditions.push(`pkm < $${values.length}`);
    }
    if (state.last) {
      values.push(state.last);
      conditions.push(`pkm > $${values.length}`);
    } else if (start) {
      values.push(start);
      conditions.push(`pkm >= $${values.length}`);
    }
    values.push(state.limit);
    const table = `${this.#engine.schema}.rows`;
    const result = await this.#query<{ pkm: Buffer; km: Buffer; size: number; sealed: Buffer }>(
      unit,
      `SELECT pkm, km, size, sealed FROM ${table} WHERE ${conditions.join(' AND ')} ORDER BY pkm LIMIT $${values.length}`,
      values,
    );
    let rows = result.rows;
    const done = rows.length < state.limit;
    const lastPkm = rows[rows.length - 1]?.pkm;
    if (!done && lastPkm) {
      // The last partition may be cut by the limit: it is fetched whole, as scans keep partitions together.
      rows = rows.filter((r) => !r.pkm.equals(lastPkm));
      const rest = await this.#query<{ pkm: Buffer; km: Buffer; size: number; sealed: Buffer }>(
        unit,
        `SELECT pkm, km, size, sealed FROM ${table} WHERE tbl = $1 AND space = $2 AND pkm = $3`,
        [this.#tbl, space, lastPkm],
      );
      rows = [...rows, ...rest.rows];
    }
    const opened = rows.map((r) => this.#open(space, r.pkm, r.km, r.size, r.sealed));
    opened.sort((a, b) => Buffer.compare(a.pkm, b.pkm) || compareRows(a, b));
    for (const row of opened) {
      if (
        start &&
        after &&
        row.pkm.equals(start) &&
        compareKey(row.opened.sk, row.opened.tk, after.sk, after.tk) <= 0
      ) {
        continue;
      }
      state.rows.push(row);
    }
    state.last = lastPkm ?? state.last;
    state.done = done;
    state.limit = Math.min(state.limit * 2, MAX_SCAN_ROWS);
  }

  #stats(unit: UnitOfWork, space: number): { itemCount: number; sizeBytes: number } {
    const slot = `C|${this.#tbl}|${space}`;
    const fetched = unit.fetched.get(slot) as { itemCount: number; sizeBytes: number } | undefined;
    if (fetched) return fetched;
    throw new Miss(async (u) => {
      // Counted when asked (DescribeTable), not kept as a running total: a total row every write
      // updates would make all writes of a table conflict with each other.
      const result = await this.#query<{ n: string; bytes: string }>(
        u,
        `SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM ${this.#engine.schema}.rows WHERE tbl = $1 AND space = $2`,
        [this.#tbl, space],
      );
      const row = result.rows[0];
      u.fetched.set(slot, { itemCount: Number(row?.n ?? 0), sizeBytes: Number(row?.bytes ?? 0) });
    });
  }
}

function uint32(n: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(n >>> 0);
  return out;
}

function pendingRow(pending: PendingRow): Row {
  return { pkm: pending.pkm, km: pending.km, size: pending.size, opened: pending.opened as OpenedRow };
}

function compareKey(sk: Buffer, tk: Buffer, otherSk: Buffer, otherTk: Buffer): number {
  return Buffer.compare(sk, otherSk) || Buffer.compare(tk, otherTk);
}

const compareRows = (a: Row, b: Row): number => compareKey(a.opened.sk, a.opened.tk, b.opened.sk, b.opened.tk);

/** Whether a sort key lies on the right side of a bound (`side` 1: a lower bound, -1: an upper one). */
function within(sk: Buffer, bound: KeyBound | undefined, side: 1 | -1): boolean {
  if (!bound) return true;
  const order = Buffer.compare(sk, bound.key) * side;
  return order > 0 || (order === 0 && bound.inclusive);
}

const toItem = (row: Row): StoredItem => ({
  hash: row.opened.hash,
  pk: row.opened.pk,
  sk: row.opened.sk,
  body: row.opened.body,
  size: row.size,
});

const toEntry = (space: number, row: Row): KeyspaceEntry => ({
  space,
  hash: row.opened.hash,
  pk: row.opened.pk,
  sk: row.opened.sk,
  tk: row.opened.tk,
  body: row.opened.body,
  size: row.size,
});

function* take<T>(items: Iterable<T>, limit: number): IterableIterator<T> {
  if (limit <= 0) return;
  let n = 0;
  for (const item of items) {
    yield item;
    if (++n >= limit) return;
  }
}
