/**
 * A table's change log for point-in-time recovery: one record per item write in an append-only
 * record log of the table's own encrypted file (storage/record-log.ts), written by a WriteDeriver
 * in the same SQLite transaction (or staged set) as the item, so the log holds a change exactly
 * when the change committed, and shares the table's keys and fate. Appending a record is one
 * INSERT at the end of one b-tree; the keyspace entry it replaces cost three statements and
 * running totals (about 1.4× the CPU of a write without PITR, bench/results/pitr.md).
 *
 * The log's number is the enablement's `Space`, drawn from the table's NextIndexSpace like every
 * index's and stream's, and never reused: stream logs are numbered by their stream's Space, so
 * the two can never meet (and it stays far below the 2^20 logs the PostgreSQL backend keeps).
 *
 * A record's position encodes its order: (ms since the log's start) · 4096 + a counter within the
 * millisecond, so the changes between two instants are one position range, and a reopened file
 * resumes after its newest record. (4096 changes per ms and 69 years per log fit below 2^53; a
 * 4097th change in one ms is stamped with the next ms: time never goes back in the log.)
 * The body is the change: the item's key and, for a put, its stored size and body (the item's
 * JSON as stored), never re-encoded.
 */
import type { Clock } from '../../core/clock.js';
import type { LogRecord, StoredItem, StoredWrite, TableStore } from '../../storage/table-file.js';
import type { ItemChange, WriteDeriver } from '../item-changes/deriving-store.js';
import type { PointInTimeRecoveryState } from './state.js';

const PUT = 1;
const DELETE = 0;
const COUNTER_SPAN = 4096;

/** Where one enablement's log is: its number, and the instant (epoch ms) its positions count from. */
export interface ChangeLog {
  readonly log: number;
  readonly start: number;
}

/** One logged change: the item as it became (`item`), or its removal (`item` absent). */
export interface LoggedChange {
  /** epoch ms of the write */
  readonly time: number;
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
  readonly item?: StoredItem;
  /** The record's position in the log (a snapshot's own log shows whether it holds this change). */
  readonly position: number;
}

interface LogClock {
  ms: number;
  counter: number;
}

/** The position of each open file's logs: a reopened file resumes after its newest record. */
const clocks = new WeakMap<TableStore, Map<number, LogClock>>();

function logClock(file: TableStore, changeLog: ChangeLog): LogClock {
  let byLog = clocks.get(file);
  if (!byLog) {
    byLog = new Map();
    clocks.set(file, byLog);
  }
  let clock = byLog.get(changeLog.log);
  if (!clock) {
    const last = file.lastRecord(changeLog.log, Number.MAX_SAFE_INTEGER);
    clock =
      last === undefined
        ? { ms: 0, counter: -1 }
        : { ms: Math.floor(last / COUNTER_SPAN), counter: last % COUNTER_SPAN };
    byLog.set(changeLog.log, clock);
  }
  return clock;
}

/** The first position stamped at or after `time` (epoch ms). */
const positionAt = (changeLog: ChangeLog, time: number): number => Math.max(0, time - changeLog.start) * COUNTER_SPAN;

/** The deriver writing the log (with every item write, whatever its origin). */
export function changeLogDeriver(changeLog: ChangeLog, file: TableStore, clock: Clock): WriteDeriver {
  return {
    derive(change: ItemChange): StoredWrite[] {
      const position = logClock(file, changeLog);
      // Time never goes back in the log, even if the clock does: the order is the commit order.
      const ms = Math.max(0, clock.now() - changeLog.start);
      if (ms > position.ms) {
        position.ms = ms;
        position.counter = 0;
      } else if (position.counter < COUNTER_SPAN - 1) {
        position.counter += 1;
      } else {
        position.ms += 1;
        position.counter = 0;
      }
      const at = position.ms * COUNTER_SPAN + position.counter;
      return [{ appendRecord: { log: changeLog.log, position: at, body: encodeChange(change) } }];
    },
  };
}

/** One buffer, written once: the head, then (for a put) the stored body copied in after it. */
function encodeChange(change: ItemChange): Buffer {
  const { hash, pk, sk } = change.key;
  const next = change.next;
  const headLength = 1 + 4 + 2 + pk.length + 2 + sk.length + (next ? 4 : 0);
  const record = Buffer.allocUnsafe(headLength + (next ? next.body.length : 0));
  let at = record.writeUInt8(next ? PUT : DELETE, 0);
  at = record.writeUInt32BE(hash, at);
  at = record.writeUInt16BE(pk.length, at);
  at += pk.copy(record, at);
  at = record.writeUInt16BE(sk.length, at);
  at += sk.copy(record, at);
  if (!next) return record;
  at = record.writeUInt32BE(next.size, at);
  next.body.copy(record, at);
  return record;
}

export function decodeChange(changeLog: ChangeLog, record: LogRecord): LoggedChange {
  const body = record.body;
  const kind = body.readUInt8(0);
  const hash = body.readUInt32BE(1);
  let at = 5;
  const pkLength = body.readUInt16BE(at);
  const pk = body.subarray(at + 2, at + 2 + pkLength);
  at += 2 + pkLength;
  const skLength = body.readUInt16BE(at);
  const sk = body.subarray(at + 2, at + 2 + skLength);
  at += 2 + skLength;
  const position = record.position;
  const time = changeLog.start + Math.floor(position / COUNTER_SPAN);
  if (kind === DELETE) return { time, hash, pk, sk, position };
  const size = body.readUInt32BE(at);
  return { time, hash, pk, sk, item: { hash, pk, sk, size, body: body.subarray(at + 4) }, position };
}

/** The logged changes from `from` to `to` (epoch ms, both inclusive), in commit order. */
export function changesBetween(
  store: TableStore,
  changeLog: ChangeLog,
  from: number,
  to: number,
): IterableIterator<LogRecord> {
  if (to < changeLog.start) return [][Symbol.iterator]();
  return store.records(changeLog.log, positionAt(changeLog, from), positionAt(changeLog, to + 1));
}

/** Removes up to `limit` of the oldest records stamped before `before` (epoch ms); returns how many went. */
export function trimBefore(store: TableStore, changeLog: ChangeLog, before: number, limit: number): number {
  if (before <= changeLog.start) return 0;
  return store.trimRecords(changeLog.log, positionAt(changeLog, before), limit);
}

/** The log of the enablement `state` describes, if it has one. */
export function changeLogOf(state: PointInTimeRecoveryState | undefined): ChangeLog | undefined {
  if (state?.Space === undefined) return undefined;
  return { log: state.Space, start: state.LogStart ?? 0 };
}
