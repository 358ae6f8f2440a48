/**
 * Append-only logs inside a table file: a stream's records. Each log is its own rowid table whose
 * row id is the record's position, with the body inline, so appending a record is one INSERT at
 * the end of one b-tree (SQLite's cheap append path) and a commit writes about the record's own
 * bytes: no separate key b-tree, no running totals, nothing to look up first. A keyspace entry
 * (entry_keys + entry_bodies + entry_counters) cost three statements and about twice the pages.
 */
import type { Statement } from 'better-sqlite3-multiple-ciphers';
import type { SqliteDatabase } from './encrypted-db.js';

export interface LogRecord {
  readonly position: number;
  readonly body: Buffer;
}

interface LogStatements {
  readonly append: Statement;
  readonly read: Statement;
  readonly last: Statement;
  readonly trim: Statement;
}

const logTable = (log: number): string => {
  if (!Number.isSafeInteger(log) || log < 0) throw new Error(`not a log number: ${log}`);
  return `record_log_${log}`;
};

export class RecordLogs {
  readonly #db: SqliteDatabase;
  readonly #logs = new Map<number, LogStatements>();

  constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  /** The log's statements; the table is made on its first record (inside that record's transaction). */
  #statements(log: number, create: boolean): LogStatements | undefined {
    const known = this.#logs.get(log);
    if (known) return known;
    const table = logTable(log);
    if (create) {
      this.#db.exec(`CREATE TABLE IF NOT EXISTS ${table} (position INTEGER PRIMARY KEY, body BLOB NOT NULL)`);
    } else if (!this.#db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table)) {
      return undefined;
    }
    const statements: LogStatements = {
      append: this.#db.prepare(`INSERT INTO ${table} (position, body) VALUES (?, ?)`),
      read: this.#db.prepare(
        `SELECT position, body FROM ${table} WHERE position >= ? AND position < ? ORDER BY position`,
      ),
      last: this.#db.prepare(`SELECT position FROM ${table} WHERE position < ? ORDER BY position DESC LIMIT 1`),
      trim: this.#db.prepare(
        `DELETE FROM ${table} WHERE position IN (SELECT position FROM ${table} WHERE position < ? ORDER BY position LIMIT ?)`,
      ),
    };
    this.#logs.set(log, statements);
    return statements;
  }

  append(log: number, position: number, body: Buffer): void {
    (this.#statements(log, true) as LogStatements).append.run(position, body);
  }

  read(log: number, from: number, below: number): IterableIterator<LogRecord> {
    const statements = this.#statements(log, false);
    if (!statements) return [][Symbol.iterator]();
    return statements.read.iterate(from, below) as IterableIterator<LogRecord>;
  }

  last(log: number, below: number): number | undefined {
    const row = this.#statements(log, false)?.last.get(below) as { position: number } | undefined;
    return row?.position;
  }

  trim(log: number, below: number, limit: number): number {
    const statements = this.#statements(log, false);
    return statements ? statements.trim.run(below, limit).changes : 0;
  }

  /**
   * The bytes of the log's records as stored (their cells' payload, as SQLite's dbstat counts it:
   * a walk of the b-tree's pages, no record decoded; about 1 ms per 6 MB). Not the pages they
   * fill: a trimmed record's space is reused, and the figure falls as the log is trimmed. 0 for none.
   */
  bytes(log: number): number {
    if (!this.#statements(log, false)) return 0;
    const row = this.#db.prepare('SELECT payload FROM dbstat WHERE name = ? AND aggregate = TRUE').get(logTable(log)) as
      | { payload: number | null }
      | undefined;
    return row?.payload ?? 0;
  }

  /** Removes up to `limit` records, and the log itself once it is empty; returns how many went. */
  drop(log: number, limit: number): number {
    const removed = this.trim(log, Number.MAX_SAFE_INTEGER, limit);
    if (removed < limit && this.#statements(log, false)) {
      this.#logs.delete(log);
      this.#db.exec(`DROP TABLE IF EXISTS ${logTable(log)}`);
    }
    return removed;
  }
}

/**
 * Whether a copy of a table file (a snapshot, opened on its own) holds the log's record at a
 * position: for readers that check a copy against the live log.
 */
export function hasRecord(db: SqliteDatabase, log: number): (position: number) => boolean {
  const table = logTable(log);
  if (!db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table)) return () => false;
  const find = db.prepare(`SELECT 1 FROM ${table} WHERE position = ?`).pluck();
  return (position) => find.get(position) !== undefined;
}
