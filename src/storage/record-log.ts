/**
 * Append-only logs of a table file: a stream's records, point-in-time recovery's change log. Each
 * log is a rowid table whose row id is the record's position, so appending a record is one INSERT
 * at the end of one b-tree (SQLite's cheap append path), nothing to look up first.
 *
 * A log made now keeps only a ~20-byte row per record in the file; the body is sealed with the
 * other bodies of its commit in the log's segment files (record-segments.ts), so its bytes never
 * go through the page cipher. The newest rows wait staged in the file's `counters` row and move
 * to the log's table in batches (below). A log a file made before segments keeps its bodies
 * inline in `record_log_<n>`, as it always did.
 */
import type { Statement } from 'better-sqlite3-multiple-ciphers';
import type { SqliteDatabase } from './encrypted-db.js';
import { LogSegments, type RecordPlace, type SegmentFiles } from './record-segments.js';

export interface LogRecord {
  readonly position: number;
  readonly body: Buffer;
}

interface LogStatements {
  readonly append: Statement;
  readonly read: Statement;
  readonly last: Statement;
  readonly trim: Statement;
  /** Sealed logs only: the oldest segment rows name, after a trim. */
  readonly oldest?: Statement;
  /** Present for a sealed log (record bodies in segment files), absent for an inline one. */
  readonly segments?: LogSegments;
}

/** Where a table file's sealed record bodies go (record-segments.ts). */
export interface RecordSegmentsOptions {
  readonly files: SegmentFiles;
  /** From the table file's key (segmentMasterKey); zeroed by close. */
  readonly masterKey: Buffer;
  /** The table file, named in damage errors. */
  readonly tableFile: string;
}

const checkedLog = (log: number): number => {
  if (!Number.isSafeInteger(log) || log < 0) throw new Error(`not a log number: ${log}`);
  return log;
};
/** A log with its bodies inline (every log a file made before record segments). */
const inlineTable = (log: number): string => `record_log_${checkedLog(log)}`;
/** A log whose rows name their bodies in segment files. */
const sealedTable = (log: number): string => `record_refs_${checkedLog(log)}`;

/**
 * The rows of the newest sealed records wait in one column of the table file's `counters` row
 * (updated by every item write, so its page is written by every commit anyway) and are moved to
 * their logs' tables a batch at a time: a log table's tail leaf and interior page are written
 * once per batch, not once per commit (bench/results/pitr.md). A transaction's own rows are kept
 * in memory and written to the column once, right before its COMMIT (one statement per commit,
 * none per record), so the column and the chunk its rows name commit together or not at all; a
 * savepoint that is rolled back drops the rows it added (TableFile.transaction).
 */
const STAGED_ENTRY_BYTES = 28;
const STAGED_LIMIT = 96;

interface StagedEntry extends RecordPlace {
  readonly log: number;
  readonly position: number;
}

function encodeStaged(entry: StagedEntry): Buffer {
  const bytes = Buffer.allocUnsafe(STAGED_ENTRY_BYTES);
  bytes.writeUInt32BE(entry.log, 0);
  bytes.writeDoubleBE(entry.position, 4);
  bytes.writeUInt32BE(entry.segment, 12);
  bytes.writeUInt32BE(entry.chunk, 16);
  bytes.writeUInt32BE(entry.start, 20);
  bytes.writeUInt32BE(entry.length, 24);
  return bytes;
}

function decodeStaged(bytes: Buffer | null | undefined): StagedEntry[] {
  const entries: StagedEntry[] = [];
  if (!bytes) return entries;
  for (let at = 0; at + STAGED_ENTRY_BYTES <= bytes.length; at += STAGED_ENTRY_BYTES) {
    entries.push({
      log: bytes.readUInt32BE(at),
      position: bytes.readDoubleBE(at + 4),
      segment: bytes.readUInt32BE(at + 12),
      chunk: bytes.readUInt32BE(at + 16),
      start: bytes.readUInt32BE(at + 20),
      length: bytes.readUInt32BE(at + 24),
    });
  }
  return entries;
}

const STAGED_COLUMN = 'log_refs';

/** Whether a table file (or a copy of one) has the column staged rows wait in. */
function hasStagedColumn(db: SqliteDatabase): boolean {
  const columns = db.prepare('PRAGMA table_info(counters)').all() as { name: string }[];
  return columns.some((c) => c.name === STAGED_COLUMN);
}

const STAGED_READ = `SELECT ${STAGED_COLUMN} FROM counters WHERE id = 0`;

const tableExists = (db: SqliteDatabase, table: string): boolean =>
  db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table) !== undefined;

interface StagingStatements {
  readonly read: Statement;
  readonly write: Statement;
}

export class RecordLogs {
  readonly #db: SqliteDatabase;
  readonly #segments: RecordSegmentsOptions;
  readonly #logs = new Map<number, LogStatements>();
  /** Logs trimmed or dropped in the open transaction: their emptied segments go once it commits. */
  readonly #emptied = new Map<number, LogSegments>();
  readonly #staging: StagingStatements;
  /** The open transaction's rows, in append order: in the column only once it commits. */
  #transactionRows: StagedEntry[] = [];

  /** Once the file's `counters` table exists, outside any transaction: adds the staging column if missing. */
  constructor(db: SqliteDatabase, segments: RecordSegmentsOptions) {
    this.#db = db;
    this.#segments = segments;
    if (!hasStagedColumn(db)) db.exec(`ALTER TABLE counters ADD COLUMN ${STAGED_COLUMN} BLOB`);
    this.#staging = {
      read: db.prepare(STAGED_READ).pluck(),
      write: db.prepare(`UPDATE counters SET ${STAGED_COLUMN} = ? WHERE id = 0`),
    };
  }

  #exists(table: string): boolean {
    return tableExists(this.#db, table);
  }

  /** The log's statements; the table is made on its first record (inside that record's transaction). */
  #statements(log: number, create: boolean): LogStatements | undefined {
    const known = this.#logs.get(log);
    if (known) return known;
    const inline = inlineTable(log);
    const statements = this.#exists(inline)
      ? this.#inlineStatements(inline, create)
      : this.#sealedStatements(log, this.#segments, create);
    if (statements) this.#logs.set(log, statements);
    return statements;
  }

  #inlineStatements(table: string, create: boolean): LogStatements | undefined {
    if (create) {
      this.#db.exec(`CREATE TABLE IF NOT EXISTS ${table} (position INTEGER PRIMARY KEY, body BLOB NOT NULL)`);
    } else if (!this.#exists(table)) {
      return undefined;
    }
    return {
      append: this.#db.prepare(`INSERT INTO ${table} (position, body) VALUES (?, ?)`),
      read: this.#db.prepare(
        `SELECT position, body FROM ${table} WHERE position >= ? AND position < ? ORDER BY position`,
      ),
      ...this.#positionStatements(table),
    };
  }

  #sealedStatements(log: number, options: RecordSegmentsOptions, create: boolean): LogStatements | undefined {
    const table = sealedTable(log);
    if (create) {
      // ~20 bytes a record: the body is in a chunk of a segment file (record-segments.ts).
      this.#db.exec(`CREATE TABLE IF NOT EXISTS ${table} (position INTEGER PRIMARY KEY, segment INTEGER NOT NULL,
        chunk INTEGER NOT NULL, start INTEGER NOT NULL, length INTEGER NOT NULL)`);
    } else if (!this.#exists(table)) {
      return undefined;
    }
    const named =
      this.#db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined ||
      this.#staged().some((e) => e.log === log);
    return {
      append: this.#db.prepare(`INSERT INTO ${table} (position, segment, chunk, start, length) VALUES (?, ?, ?, ?, ?)`),
      read: this.#db
        .prepare(
          `SELECT position, segment, chunk, start, length FROM ${table} WHERE position >= ? AND position < ? ORDER BY position`,
        )
        .raw(true),
      // The oldest segment a row names. A staged transaction's records keep the positions they
      // were given when staged, so a few rows may sit in a later chunk than newer positions: the
      // least segment of the oldest rows, not the oldest row's.
      oldest: this.#db
        .prepare(`SELECT min(segment) FROM (SELECT segment FROM ${table} ORDER BY position LIMIT 4096)`)
        .pluck(),
      segments: new LogSegments(options.files, log, options.masterKey, options.tableFile, named),
      ...this.#positionStatements(table),
    };
  }

  #positionStatements(table: string): Pick<LogStatements, 'last' | 'trim'> {
    return {
      last: this.#db.prepare(`SELECT position FROM ${table} WHERE position < ? ORDER BY position DESC LIMIT 1`),
      trim: this.#db.prepare(
        `DELETE FROM ${table} WHERE position IN (SELECT position FROM ${table} WHERE position < ? ORDER BY position LIMIT ?)`,
      ),
    };
  }

  /** The rows staged in the column (committed, or written by this transaction's own statements). */
  #staged(): StagedEntry[] {
    return decodeStaged(this.#staging.read.get() as Buffer | null);
  }

  /** The staged rows of one log with positions in [from, below), the open transaction's too, in position order. */
  #stagedOf(log: number, from = 0, below = Number.MAX_SAFE_INTEGER): StagedEntry[] {
    const inRange = (e: StagedEntry) => e.log === log && e.position >= from && e.position < below;
    return [...this.#staged().filter(inRange), ...this.#transactionRows.filter(inRange)].sort(
      (a, b) => a.position - b.position,
    );
  }

  /** Writes the transaction's rows to the column, or, once a batch is full, all staged rows to their logs' tables. */
  #stageTransactionRows(): void {
    if (this.#transactionRows.length === 0) return;
    const staging = this.#staging;
    const all = [...this.#staged(), ...this.#transactionRows];
    this.#transactionRows = [];
    if (all.length < STAGED_LIMIT) {
      staging.write.run(Buffer.concat(all.map(encodeStaged)));
      return;
    }
    for (const entry of all) {
      const statements = this.#statements(entry.log, true) as LogStatements;
      statements.append.run(entry.position, entry.segment, entry.chunk, entry.start, entry.length);
    }
    staging.write.run(null);
  }

  /** Where the open transaction's rows end, for a savepoint: see `undoTo`. */
  mark(): number {
    return this.#transactionRows.length;
  }

  /** A savepoint begun at `mark` was rolled back: the rows appended since go (their bytes stay unnamed). */
  undoTo(mark: number): void {
    this.#transactionRows.length = Math.min(mark, this.#transactionRows.length);
  }

  /** Rewrites the staged rows without those `drop` picks; returns how many went. */
  #dropStaged(drop: (entry: StagedEntry) => boolean): number {
    const entries = this.#staged();
    const kept = entries.filter((e) => !drop(e));
    if (kept.length === entries.length) return 0;
    this.#staging.write.run(kept.length ? Buffer.concat(kept.map(encodeStaged)) : null);
    return entries.length - kept.length;
  }

  append(log: number, position: number, body: Buffer): void {
    const statements = this.#statements(log, true) as LogStatements;
    const segments = statements.segments;
    if (!segments) {
      statements.append.run(position, body);
      return;
    }
    const place = segments.place(body);
    this.#transactionRows.push({ log, position, ...place });
  }

  read(log: number, from: number, below: number): IterableIterator<LogRecord> {
    const statements = this.#statements(log, false);
    if (!statements) return [][Symbol.iterator]();
    const segments = statements.segments;
    if (!segments) return statements.read.iterate(from, below) as IterableIterator<LogRecord>;
    const staged = this.#stagedOf(log, from, below);
    const rows = statements.read.iterate(from, below) as IterableIterator<[number, number, number, number, number]>;
    return sealedRecords(rows, staged, segments);
  }

  last(log: number, below: number): number | undefined {
    const statements = this.#statements(log, false);
    const row = statements?.last.get(below) as { position: number } | undefined;
    const staged = statements?.segments ? this.#stagedOf(log, 0, below).at(-1)?.position : undefined;
    if (row === undefined) return staged;
    return staged === undefined ? row.position : Math.max(row.position, staged);
  }

  trim(log: number, below: number, limit: number): number {
    const statements = this.#statements(log, false);
    if (!statements) return 0;
    let removed = statements.trim.run(below, limit).changes;
    if (statements.segments) {
      // Staged rows are the newest: only a trim past every stored row reaches them (and never
      // those the open transaction appended).
      if (removed < limit) {
        let left = limit - removed;
        removed += this.#dropStaged((e) => e.log === log && e.position < below && left-- > 0);
      }
      if (removed > 0) this.#emptied.set(log, statements.segments);
    }
    return removed;
  }

  /**
   * The bytes of the log's records as stored. Inline: their cells' payload, as SQLite's dbstat
   * counts it (a walk of the b-tree's pages, no record decoded; about 1 ms per 6 MB). Sealed: the
   * bodies' lengths the rows hold (the segments' chunk framing and unnamed bytes not counted).
   * The figure falls as the log is trimmed. 0 for none.
   */
  bytes(log: number): number {
    const statements = this.#statements(log, false);
    if (!statements) return 0;
    if (statements.segments) {
      const stored = this.#db
        .prepare(`SELECT coalesce(sum(length), 0) FROM ${sealedTable(log)}`)
        .pluck()
        .get() as number;
      return stored + this.#stagedOf(log).reduce((sum, e) => sum + e.length, 0);
    }
    const row = this.#db
      .prepare('SELECT payload FROM dbstat WHERE name = ? AND aggregate = TRUE')
      .get(inlineTable(log)) as { payload: number | null } | undefined;
    return row?.payload ?? 0;
  }

  /** Removes up to `limit` records, and the log itself once it is empty; returns how many went. */
  drop(log: number, limit: number): number {
    const removed = this.trim(log, Number.MAX_SAFE_INTEGER, limit);
    const statements = this.#statements(log, false);
    if (removed < limit && statements) {
      this.#transactionRows = this.#transactionRows.filter((e) => e.log !== log);
      this.#logs.delete(log);
      this.#db.exec(`DROP TABLE IF EXISTS ${statements.segments ? sealedTable(log) : inlineTable(log)}`);
      if (statements.segments) this.#emptied.set(log, statements.segments);
    }
    return removed;
  }

  /** Right before the table file's COMMIT: stages this transaction's rows, writes each log's chunk. */
  beforeCommit(): void {
    this.#stageTransactionRows();
    for (const statements of this.#logs.values()) statements.segments?.flush();
  }

  /** After the COMMIT: the segments older than the oldest one a row names go (all, for a dropped log). */
  committed(): void {
    if (this.#emptied.size === 0) return;
    for (const [log, segments] of this.#emptied) {
      const statements = this.#logs.get(log);
      let oldest: number | undefined;
      if (statements?.segments === segments) {
        const stored = statements.oldest?.get() as number | null;
        const staged = this.#stagedOf(log).map((e) => e.segment);
        const all = [...(stored === null ? [] : [stored]), ...staged];
        oldest = all.length ? Math.min(...all) : undefined;
      }
      segments.removeBefore(oldest);
    }
    this.#emptied.clear();
  }

  /** The COMMIT failed: its trims are undone, its chunks named by nothing. */
  rolledBack(): void {
    this.#emptied.clear();
    this.#transactionRows = [];
    for (const statements of this.#logs.values()) statements.segments?.rolledBack();
  }

  close(): void {
    for (const statements of this.#logs.values()) statements.segments?.close();
    this.#logs.clear();
    this.#segments.files.close();
    this.#segments.masterKey.fill(0);
  }
}

/** Stored rows and staged ones (both in position order), merged by position. */
function* sealedRecords(
  rows: IterableIterator<[number, number, number, number, number]>,
  staged: readonly StagedEntry[],
  segments: LogSegments,
): IterableIterator<LogRecord> {
  let next = 0;
  for (const [position, segment, chunk, start, length] of rows) {
    for (; next < staged.length && (staged[next] as StagedEntry).position < position; next++) {
      const entry = staged[next] as StagedEntry;
      yield { position: entry.position, body: segments.body(entry) };
    }
    yield { position, body: segments.body({ segment, chunk, start, length }) };
  }
  for (; next < staged.length; next++) {
    const entry = staged[next] as StagedEntry;
    yield { position: entry.position, body: segments.body(entry) };
  }
}

/**
 * Whether a copy of a table file (a snapshot, opened on its own) holds the log's record at a
 * position: for readers that check a copy against the live log.
 */
export function hasRecord(db: SqliteDatabase, log: number): (position: number) => boolean {
  const table = [sealedTable(log), inlineTable(log)].find((name) => tableExists(db, name));
  if (!table) return () => false;
  const find = db.prepare(`SELECT 1 FROM ${table} WHERE position = ?`).pluck();
  const staged = new Set(
    hasStagedColumn(db)
      ? decodeStaged(db.prepare(STAGED_READ).pluck().get() as Buffer | null)
          .filter((e) => e.log === log)
          .map((e) => e.position)
      : [],
  );
  return (position) => staged.has(position) || find.get(position) !== undefined;
}
