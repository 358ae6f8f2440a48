/**
 * One table's items in one encrypted database file. Keys arrive already
 * encoded as order-preserving bytes, so Query is an index range scan and Scan
 * walks the primary key in (partition hash, partition key, sort key) order.
 */

import { statSync } from 'node:fs';
import type { Statement } from 'better-sqlite3-multiple-ciphers';
import type { Checkpointer } from './checkpointer.js';
import { type CommitRecorder, openCommitRecorder } from './commit-counter.js';
import { DamagedFileError } from './damage.js';
import { openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';
import { describePageProblem } from './page-auth.js';
import type { PageChecker } from './page-checker.js';
import { type LogRecord, RecordLogs, type RecordSegmentsOptions } from './record-log.js';
import { DiskSegmentFiles, MemorySegmentFiles, segmentMasterKey } from './record-segments.js';
import { type Durability, WalSync } from './wal-sync.js';

export interface StoredItem {
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
  readonly body: Buffer;
  readonly size: number;
}

export interface KeyBound {
  readonly key: Buffer;
  readonly inclusive: boolean;
}

export interface RangeQuery {
  readonly hash: number;
  readonly pk: Buffer;
  readonly lower?: KeyBound;
  readonly upper?: KeyBound;
  readonly forward: boolean;
}

export interface ScanRange {
  /** Inclusive lower and exclusive upper bound on the 32-bit partition hash (a scan segment). */
  readonly fromHash: number;
  readonly toHash: number;
  /** Continue after this position (ExclusiveStartKey). */
  readonly after?: { readonly hash: number; readonly pk: Buffer; readonly sk: Buffer };
}

export interface ItemKey {
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
}

/**
 * The key of an entry in one of a table file's secondary keyspaces (each secondary index is one):
 * entries are ordered by (hash, pk, sk, tk) within their space. `tk` keeps entries apart that share
 * (pk, sk), as index entries of different items do (it holds the item's table key).
 */
export interface EntryKey {
  readonly space: number;
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
  readonly tk: Buffer;
}

export interface KeyspaceEntry extends EntryKey {
  readonly body: Buffer;
  readonly size: number;
  /**
   * Set when the body is that of this stored item of the same table (an ALL projection), as it is
   * now or will be once the write set that holds this entry is applied: a store may then keep a
   * reference to the item's row instead of a second copy (the embedded file does), and must then
   * answer reads with the item's body. `body` and `size` still hold the item's own.
   */
  readonly item?: ItemKey;
  /**
   * A hint from the writer: no entry has this key yet (a new item's index entry), so the store
   * need not look for one first. A wrong hint costs a second statement, never a wrong write.
   */
  readonly fresh?: boolean;
}

/** A range of one partition of a keyspace; `after` resumes strictly after an entry in the direction of travel. */
export interface EntryRangeQuery extends RangeQuery {
  readonly space: number;
  readonly after?: { readonly sk: Buffer; readonly tk: Buffer };
}

export interface EntryScanRange {
  readonly space: number;
  readonly fromHash: number;
  readonly toHash: number;
  readonly after?: Omit<EntryKey, 'space'>;
}

/** A record for an append-only log (a stream): positions only increase within a log. */
export interface AppendedRecord {
  readonly log: number;
  readonly position: number;
  readonly body: Buffer;
}

export type { LogRecord };

/**
 * One write of a multi-item change: a whole new row, the removal of one, the same for a keyspace
 * entry, or a record appended to a log.
 */
export type StoredWrite =
  | { readonly put: StoredItem }
  | { readonly delete: ItemKey }
  | { readonly putEntry: KeyspaceEntry }
  | { readonly deleteEntry: EntryKey }
  | { readonly appendRecord: AppendedRecord };

/** The narrow interface operations see; a second backend would implement it too. */
export interface TableStore {
  get(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined;
  /**
   * A hint that the request is about to read these items (a restore's puts need each one's
   * previous version): over the engine they are fetched in one round trip rather than one each.
   * Absent where reads cost nothing to ask for one at a time (the embedded file).
   */
  prefetch?(keys: readonly ItemKey[]): void;
  /** Writes the item and returns the one it replaced. */
  put(item: StoredItem): StoredItem | undefined;
  delete(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined;
  query(range: RangeQuery): IterableIterator<StoredItem>;
  scan(range: ScanRange): IterableIterator<StoredItem>;
  stats(): { readonly itemCount: number; readonly sizeBytes: number };
  /** Writes (or replaces) an entry of a secondary keyspace. */
  putEntry(entry: KeyspaceEntry): void;
  deleteEntry(key: EntryKey): void;
  queryEntries(range: EntryRangeQuery): IterableIterator<KeyspaceEntry>;
  scanEntries(range: EntryScanRange): IterableIterator<KeyspaceEntry>;
  /** The running totals of one keyspace. */
  spaceStats(space: number): { readonly itemCount: number; readonly sizeBytes: number };
  /** Removes up to `limit` entries of a keyspace (a dropped index, in bounded slices); returns how many went. */
  dropEntries(space: number, limit: number): number;
  /**
   * The bytes one partition holds: its items' sizes plus those of its entries in the given
   * keyspaces (DynamoDB's item collection of a table with local secondary indexes).
   */
  partitionSize(hash: number, pk: Buffer, spaces: readonly number[]): number;
  /**
   * The 32-bit hash Scan orders partitions by and splits into segments, for a partition whose
   * key the layer hashed to `hash` (`space` undefined: the items). The embedded file keeps the
   * layer's; an engine keeps a keyed one, as it must never see an unkeyed hash of a key.
   */
  scanHash(hash: number, space: number | undefined, pk: Buffer): number;
  /** Appends to a log (record-log.ts); its position must be above every other of the log's. */
  appendRecord(record: AppendedRecord): void;
  /** The log's records with positions in [from, below), oldest first. */
  records(log: number, from: number, below: number): IterableIterator<LogRecord>;
  /** The newest position of the log below `below`, if any. */
  lastRecord(log: number, below: number): number | undefined;
  /** About the bytes the log takes on disk, cheaply (no record read); 0 for a log with none. */
  recordBytes(log: number): number;
  /** Removes up to `limit` of the log's oldest records below `below`; returns how many went. */
  trimRecords(log: number, below: number, limit: number): number;
  /** Removes up to `limit` records of the log, and the log once empty; returns how many went. */
  dropRecords(log: number, limit: number): number;
  /** Runs fn atomically: all of its writes land or none do. */
  transaction<T>(fn: () => T): T;
  /** Applies the writes atomically; with `commitMarker`, records it in the same SQLite transaction. */
  write(writes: readonly StoredWrite[], commitMarker?: string): void;
  /**
   * Cross-file transactions (see storage/transaction.ts): writes kept aside, invisible to
   * reads, until applied or discarded; and the commit markers of a coordinating file.
   */
  stage(txid: string, coordinator: string, writes: readonly StoredWrite[]): void;
  staged(): readonly { readonly txid: string; readonly coordinator: string }[];
  applyStaged(txid: string): void;
  discardStaged(txid: string): void;
  isCommitted(txid: string): boolean;
  forgetCommitted(txid: string): void;
  /**
   * Resolves once every write made so far is committed (writes of concurrent requests are
   * committed together, once per event-loop turn: group commit). Answer no request before it.
   */
  durable(): Promise<void>;
  /** Commits the open group now: for protocols whose steps must be durable in order. */
  commitNow(): void;
  close(): void;
}

/**
 * Pages are decrypted and authenticated on every read from disk, so a page cache large enough
 * for the hot set keeps random reads from decrypting the same pages again and again.
 */
const TABLE_PAGE_CACHE_KIB = 64 * 1024;

/**
 * A log this many times its limit is restarted by a commit even if the worker has not caught up
 * (the commit then copies it all on the request's thread: 128 MiB at the default limit).
 */
const LAST_RESORT_FACTOR = 2;

/**
 * Keys and bodies live apart: the key b-tree holds small rows (many per page) pointing at body
 * rows, which new items append at the end of their table. A random insert so dirties about one
 * small-row page instead of splitting and rebalancing pages of 1 KB rows, which halves the pages
 * (each encrypted and authenticated) a commit writes. Items up to ~8 KB also stay within a page.
 */
function createItemTables(db: SqliteDatabase): void {
  db.exec(`CREATE TABLE IF NOT EXISTS item_bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL, size INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS item_keys (
      hash INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, id INTEGER NOT NULL,
      PRIMARY KEY (hash, pk, sk)) WITHOUT ROWID`);
  // Files written before this layout kept whole items in one table: moved over once, atomically.
  const legacy = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'items'`).get();
  if (!legacy) return;
  db.transaction(() => {
    const base = (db.prepare('SELECT coalesce(max(id), 0) AS base FROM item_bodies').get() as { base: number }).base;
    db.prepare(
      'INSERT INTO item_bodies (id, body, size) SELECT ? + row_number() OVER w, body, size FROM items WINDOW w AS (ORDER BY hash, pk, sk)',
    ).run(base);
    db.prepare(
      'INSERT INTO item_keys (hash, pk, sk, id) SELECT hash, pk, sk, ? + row_number() OVER w FROM items WINDOW w AS (ORDER BY hash, pk, sk)',
    ).run(base);
    db.exec('DROP TABLE items');
  })();
}

/**
 * Secondary keyspaces (index entries) use the same split of small key rows and appended bodies as
 * items, for the same reason, with running totals per space. An entry whose body is its item's
 * (an ALL projection) has no body row of its own: `item_size` is set (the size it was counted
 * at) and `id` is then the row id of the item's body in item_bodies, so an indexed write appends
 * no second copy of the item. Item bodies keep their row id when the item is replaced in place,
 * and an item's entries go in the same write set as the item.
 */
function createEntryTables(db: SqliteDatabase): void {
  db.exec(`CREATE TABLE IF NOT EXISTS entry_bodies (id INTEGER PRIMARY KEY, body BLOB NOT NULL, size INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS entry_keys (
      space INTEGER NOT NULL, hash INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, tk BLOB NOT NULL,
      id INTEGER NOT NULL, item_size INTEGER, PRIMARY KEY (space, hash, pk, sk, tk)) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS entry_counters (
      space INTEGER PRIMARY KEY, item_count INTEGER NOT NULL, size_bytes INTEGER NOT NULL);`);
  // Files of builds before item references: their entries all have body rows (item_size NULL),
  // which stay readable as they are; adding a nullable column rewrites no row.
  const columns = db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('entry_keys') as string[];
  if (!columns.includes('item_size')) db.exec('ALTER TABLE entry_keys ADD COLUMN item_size INTEGER');
}

const ENTRIES = 'entry_keys k';
/** An entry's body is its own row's or, with item_size set, its item's (one lookup either way). */
const ENTRY_VALUE_COLUMNS =
  'k.sk AS sk, k.tk AS tk, ' +
  'CASE WHEN k.item_size IS NULL THEN (SELECT body FROM entry_bodies WHERE id = k.id) ' +
  'ELSE (SELECT body FROM item_bodies WHERE id = k.id) END AS body, ' +
  'coalesce(k.item_size, (SELECT size FROM entry_bodies WHERE id = k.id)) AS size';
const ENTRY_COLUMNS = `k.space AS space, k.hash AS hash, k.pk AS pk, ${ENTRY_VALUE_COLUMNS}`;
/** The size an entry was counted at. */
const ENTRY_SIZE = 'coalesce(k.item_size, (SELECT size FROM entry_bodies WHERE id = k.id))';

/** CROSS JOIN makes SQLite walk the keys (in key order) and fetch each body by its row id. */
const ITEMS = 'item_keys k CROSS JOIN item_bodies b ON b.id = k.id';
const ITEM_COLUMNS = 'k.hash AS hash, k.pk AS pk, k.sk AS sk, b.body AS body, b.size AS size';

export interface TableFileOptions {
  /** Runs WAL checkpoints off the event loop (absent in memory). */
  readonly checkpointer?: Checkpointer;
  readonly durability?: Durability;
  /** Told after each WAL flush in `fsync` durability (a metric). */
  readonly onWalSync?: () => void;
  /**
   * Checks every page of the file once it is open, in the background (absent in memory):
   * SQLite authenticates only the pages it reads, never a free page.
   */
  readonly pageChecker?: PageChecker;
  /** Told when that check finds the file damaged (the table is then taken out of service). */
  readonly onDamage?: (error: DamagedFileError) => void;
}

export class TableFile implements TableStore {
  readonly #db: SqliteDatabase;
  readonly #get: Statement;
  readonly #stats: Statement;
  readonly #count: Statement;
  readonly #putCounted: (item: StoredItem) => StoredItem | undefined;
  readonly #deleteCounted: (hash: number, pk: Buffer, sk: Buffer) => StoredItem | undefined;
  /** The same statements without a savepoint of their own, for use inside transaction(fn). */
  readonly #putInline: (item: StoredItem) => StoredItem | undefined;
  readonly #deleteInline: (hash: number, pk: Buffer, sk: Buffer) => StoredItem | undefined;
  /**
   * How many transaction(fn) calls are running: inside one, a put or delete is already undone
   * with fn's savepoint if anything fails, so it takes no savepoint of its own (a PITR write,
   * item and log record, is then one SAVEPOINT/RELEASE pair instead of two).
   */
  #transactionDepth = 0;
  /** One wrapper for every transaction(fn): better-sqlite3 builds four per db.transaction call. */
  readonly #inTransaction: (fn: () => unknown) => unknown;
  readonly #scanFrom: Statement;
  readonly #scanAfter: Statement;
  readonly #queries = new Map<string, Statement>();
  /** Prepared on first use: tables without secondary indexes never pay for them. */
  #entryStatements: EntryStatements | undefined;
  readonly #logs: RecordLogs;
  #partitionSize: Statement | undefined;
  #itemIdOf: Statement | undefined;
  /**
   * The row id of the body of the item written last, for the entries of that item that follow it
   * in its write set (an ALL projection refers to it): most indexed writes so look up no key.
   */
  #lastItem: (ItemKey & { readonly id: number }) | undefined;
  #group: { readonly done: Promise<void>; resolve(): void; reject(error: unknown): void } | undefined;

  readonly #onClose: (() => void) | undefined;
  /** Present in `fsync` durability only. */
  readonly #walSync: WalSync | undefined;
  /** The newest WAL flush still running: writes committed before it are durable once it settles. */
  #lastFlush: Promise<void> | undefined;
  /** Present when a checkpointer copies the log: the log path and its size limit. */
  readonly #walLimit: { readonly file: string; readonly bytes: number } | undefined;
  /** How far the log was committed, for the check before the next open (commit-counter.ts). */
  #commits: CommitRecorder | undefined;
  /** The checkpoint worker has copied nearly all of the log: the next commit restarts it. */
  #restartWanted = false;

  private constructor(
    db: SqliteDatabase,
    onClose: (() => void) | undefined,
    walSync: WalSync | undefined,
    walLimit: { readonly file: string; readonly bytes: number } | undefined,
    segments: RecordSegmentsOptions,
  ) {
    this.#db = db;
    this.#onClose = onClose;
    this.#walSync = walSync;
    this.#walLimit = walLimit;
    createItemTables(db);
    createEntryTables(db);
    db.exec(`CREATE TABLE IF NOT EXISTS staged (txid TEXT PRIMARY KEY, coordinator TEXT NOT NULL, writes BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS committed (txid TEXT PRIMARY KEY);`);
    // Only what the key does not already say, as an array: the hot read materialises one Buffer
    // (the body) per row, not three, and no object keyed by column names.
    this.#get = db
      .prepare(`SELECT k.id, b.body, b.size FROM ${ITEMS} WHERE k.hash = ? AND k.pk = ? AND k.sk = ?`)
      .raw(true);
    const insertBody = db.prepare('INSERT INTO item_bodies (body, size) VALUES (?, ?)');
    const insertKey = db.prepare('INSERT INTO item_keys (hash, pk, sk, id) VALUES (?, ?, ?, ?)');
    const updateBody = db.prepare('UPDATE item_bodies SET body = ?, size = ? WHERE id = ?');
    const deleteBody = db.prepare('DELETE FROM item_bodies WHERE id = ?');
    const deleteKey = db.prepare('DELETE FROM item_keys WHERE hash = ? AND pk = ? AND sk = ?');
    // Item count and size are kept as running totals, updated with each write in the same
    // transaction, so DescribeTable and key switches never scan the table.
    db.exec(`CREATE TABLE IF NOT EXISTS counters (
      id INTEGER PRIMARY KEY CHECK (id = 0), item_count INTEGER NOT NULL, size_bytes INTEGER NOT NULL)`);
    db.exec(`INSERT OR IGNORE INTO counters (id, item_count, size_bytes)
      SELECT 0, count(*), coalesce(sum(size), 0) FROM item_bodies`);
    this.#logs = new RecordLogs(db, segments);
    this.#stats = db.prepare('SELECT item_count AS itemCount, size_bytes AS sizeBytes FROM counters WHERE id = 0');
    this.#count = db.prepare(
      'UPDATE counters SET item_count = item_count + ?, size_bytes = size_bytes + ? WHERE id = 0',
    );
    this.#putInline = (item: StoredItem) => {
      const previous = this.#row(item.hash, item.pk, item.sk);
      this.#lastItem = undefined;
      let id: number;
      if (previous) {
        updateBody.run(item.body, item.size, previous.id);
        id = previous.id;
      } else {
        id = Number(insertBody.run(item.body, item.size).lastInsertRowid);
        insertKey.run(item.hash, item.pk, item.sk, id);
      }
      this.#count.run(previous ? 0 : 1, item.size - (previous?.size ?? 0));
      this.#lastItem = { hash: item.hash, pk: item.pk, sk: item.sk, id };
      return previous;
    };
    this.#deleteInline = (hash: number, pk: Buffer, sk: Buffer) => {
      const previous = this.#row(hash, pk, sk);
      this.#lastItem = undefined;
      if (previous) {
        deleteKey.run(hash, pk, sk);
        deleteBody.run(previous.id);
        this.#count.run(-1, -previous.size);
      }
      return previous;
    };
    const putCounted = db.transaction(this.#putInline);
    this.#putCounted = (item) => this.#forgettingOnFailure(() => putCounted(item));
    this.#deleteCounted = db.transaction(this.#deleteInline);
    const inTransaction = db.transaction((fn: () => unknown) => fn());
    this.#inTransaction = (fn) => this.#forgettingOnFailure(() => inTransaction(fn));
    const inSegment = 'k.hash >= ? AND k.hash < ? ORDER BY k.hash, k.pk, k.sk';
    this.#scanFrom = db.prepare(`SELECT ${ITEM_COLUMNS} FROM ${ITEMS} WHERE ${inSegment}`);
    this.#scanAfter = db.prepare(
      `SELECT ${ITEM_COLUMNS} FROM ${ITEMS} WHERE (k.hash, k.pk, k.sk) > (?, ?, ?) AND ${inSegment}`,
    );
  }

  /** Opens (or creates) the file; a wrong key fails with WrongKeyError before anything is read. */
  static open(file: string, key: Buffer, options: TableFileOptions = {}): TableFile {
    const { checkpointer } = options;
    const db = openEncryptedDatabase({
      file,
      key,
      cacheKiB: TABLE_PAGE_CACHE_KIB,
      ...(checkpointer ? { autoCheckpointPages: 0 } : {}),
    });
    const commits = openCommitRecorder(file, options.durability, true);
    const walSync =
      options.durability === 'fsync' && file !== ':memory:' ? new WalSync(file, options.onWalSync, commits) : undefined;
    const walLimit = checkpointer ? { file: `${file}-wal`, bytes: checkpointer.walLimitBytes } : undefined;
    // A restarted log reuses its file: without this the file keeps its largest size, and the
    // size check after each commit (#limitWal) would take every later commit for an overgrown log.
    if (walLimit) db.pragma(`journal_size_limit = ${walLimit.bytes}`);
    let table: TableFile;
    const segments: RecordSegmentsOptions = {
      files: file === ':memory:' ? new MemorySegmentFiles() : new DiskSegmentFiles(file, walSync !== undefined),
      masterKey: segmentMasterKey(key),
      tableFile: file,
    };
    try {
      table = new TableFile(db, checkpointer ? () => checkpointer.close(file) : undefined, walSync, walLimit, segments);
    } catch (error) {
      segments.masterKey.fill(0);
      // A damaged page met while preparing the file: the connection must not stay open.
      db.close();
      walSync?.close();
      throw error;
    }
    checkpointer?.open(file, key, () => {
      table.#restartWanted = true;
    });
    table.#commits = commits;
    if (options.pageChecker && file !== ':memory:') {
      const { onDamage } = options;
      const expected = db.pragma('page_count', { simple: true }) as number;
      void options.pageChecker.check(file, key, expected, true).then((outcome) => {
        if (outcome.problem) onDamage?.(new DamagedFileError(file, describePageProblem(outcome.problem)));
      });
    }
    return table;
  }

  get(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    return this.#row(hash, pk, sk);
  }

  /** A write rolled back may have taken the remembered item's body row with it. */
  #forgettingOnFailure<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      this.#lastItem = undefined;
      throw error;
    }
  }

  /** The row id of a stored item's body, if the item is stored. */
  #itemId(key: ItemKey): number | undefined {
    const last = this.#lastItem;
    if (last && last.hash === key.hash && last.pk.equals(key.pk) && last.sk.equals(key.sk)) return last.id;
    this.#itemIdOf ??= this.#db.prepare('SELECT id FROM item_keys WHERE hash = ? AND pk = ? AND sk = ?').pluck();
    return this.#itemIdOf.get(key.hash, key.pk, key.sk) as number | undefined;
  }

  /** The stored item with the row id of its body. */
  #row(hash: number, pk: Buffer, sk: Buffer): (StoredItem & { readonly id: number }) | undefined {
    const row = this.#get.get(hash, pk, sk) as [number, Buffer, number] | undefined;
    // The key columns matched byte for byte (BLOB equality), so the caller's key stands for them.
    return row === undefined ? undefined : { hash, pk, sk, body: row[1], size: row[2], id: row[0] };
  }

  put(item: StoredItem): StoredItem | undefined {
    this.#joinGroup();
    return this.#transactionDepth > 0 ? this.#putInline(item) : this.#putCounted(item);
  }

  delete(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    this.#joinGroup();
    return this.#transactionDepth > 0 ? this.#deleteInline(hash, pk, sk) : this.#deleteCounted(hash, pk, sk);
  }

  durable(): Promise<void> {
    return this.#group?.done ?? this.#lastFlush ?? Promise.resolve();
  }

  commitNow(): void {
    const group = this.#takeGroup();
    if (!group) return;
    try {
      this.#commit();
      this.#walSync?.flushNow();
      group.resolve();
    } catch (error) {
      group.reject(error);
    }
  }

  /** The group's own commit, at the end of its event-loop turn: the WAL is flushed off the loop. */
  #commitGroup(): void {
    const group = this.#takeGroup();
    if (!group) return;
    try {
      this.#commit();
    } catch (error) {
      group.reject(error);
      return;
    }
    if (!this.#walSync) {
      group.resolve();
      return;
    }
    const flush = this.#walSync.flush();
    this.#lastFlush = flush;
    flush.then(group.resolve, group.reject);
    flush
      .finally(() => {
        if (this.#lastFlush === flush) this.#lastFlush = undefined;
      })
      .catch(() => undefined);
  }

  #takeGroup() {
    const group = this.#group;
    this.#group = undefined;
    return group;
  }

  #commit(): void {
    try {
      // The record bodies the rows of this commit name are written (in `fsync` durability,
      // flushed) first: record-segments.ts.
      this.#logs.beforeCommit();
      this.#db.exec('COMMIT');
      this.#commits?.committed();
    } catch (error) {
      this.#lastItem = undefined;
      this.#logs.rolledBack();
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
    try {
      this.#logs.committed();
    } catch {
      // A segment left behind is named by nothing; the next trim of its log removes it.
    }
    this.#limitWal();
  }

  /**
   * Right after a commit no transaction is open here, so a checkpoint can copy the frames the
   * worker has not yet copied and restart the log. Normally only once the worker said it has
   * copied all but the newest few frames (checkpoint-worker.ts), so this copies a few frames,
   * not the log; only a log far past its limit (a worker that cannot keep up) is copied here
   * whatever it costs. It never waits: if the worker holds the checkpoint lock, a later commit
   * tries again.
   */
  #limitWal(): void {
    const limit = this.#walLimit;
    if (!limit) return;
    if (!this.#restartWanted) {
      // One stat per commit: a commit costs far more, and checking less often lets the log overshoot.
      let size: number;
      try {
        size = statSync(limit.file).size;
      } catch {
        return;
      }
      if (size <= limit.bytes * LAST_RESORT_FACTOR) return;
    }
    this.#restartWanted = false;
    const timeout = this.#db.pragma('busy_timeout', { simple: true }) as number;
    this.#db.pragma('busy_timeout = 0');
    try {
      this.#db.pragma('wal_checkpoint(RESTART)');
    } catch {
      // The commit before it stands: a checkpoint that fails is tried again after a later commit.
    } finally {
      this.#db.pragma(`busy_timeout = ${timeout}`);
    }
  }

  /**
   * Writes join one SQLite transaction per event-loop turn, committed in setImmediate: one
   * commit (and one round of page encryption) for all the writes concurrent requests made.
   */
  #joinGroup(): void {
    if (this.#group) return;
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be left with an unhandled rejection when no request waits on this group.
    done.catch(() => undefined);
    this.#db.exec('BEGIN IMMEDIATE');
    this.#group = { done, resolve, reject };
    setImmediate(() => this.#commitGroup());
  }

  query(range: RangeQuery): IterableIterator<StoredItem> {
    const lower = range.lower ? (range.lower.inclusive ? '>=' : '>') : '';
    const upper = range.upper ? (range.upper.inclusive ? '<=' : '<') : '';
    const shape = `${lower}|${upper}|${range.forward}`;
    let statement = this.#queries.get(shape);
    if (!statement) {
      const conditions = ['k.hash = @hash', 'k.pk = @pk'];
      if (lower) conditions.push(`k.sk ${lower} @lower`);
      if (upper) conditions.push(`k.sk ${upper} @upper`);
      statement = this.#db.prepare(
        `SELECT ${ITEM_COLUMNS} FROM ${ITEMS} WHERE ${conditions.join(' AND ')} ORDER BY k.sk ${range.forward ? 'ASC' : 'DESC'}`,
      );
      this.#queries.set(shape, statement);
    }
    return statement.iterate({
      hash: range.hash,
      pk: range.pk,
      ...(range.lower ? { lower: range.lower.key } : {}),
      ...(range.upper ? { upper: range.upper.key } : {}),
    }) as IterableIterator<StoredItem>;
  }

  scan(range: ScanRange): IterableIterator<StoredItem> {
    const { after } = range;
    return (
      after
        ? this.#scanAfter.iterate(after.hash, after.pk, after.sk, range.fromHash, range.toHash)
        : this.#scanFrom.iterate(range.fromHash, range.toHash)
    ) as IterableIterator<StoredItem>;
  }

  stats(): { itemCount: number; sizeBytes: number } {
    return this.#stats.get() as { itemCount: number; sizeBytes: number };
  }

  get #entries(): EntryStatements {
    this.#entryStatements ??= new EntryStatements(this.#db, (key) => this.#itemId(key));
    return this.#entryStatements;
  }

  putEntry(entry: KeyspaceEntry): void {
    this.#joinGroup();
    this.#entries.put(entry);
  }

  deleteEntry(key: EntryKey): void {
    this.#joinGroup();
    this.#entries.delete(key);
  }

  queryEntries(range: EntryRangeQuery): IterableIterator<KeyspaceEntry> {
    return this.#entries.query(range);
  }

  scanEntries(range: EntryScanRange): IterableIterator<KeyspaceEntry> {
    return this.#entries.scan(range);
  }

  spaceStats(space: number): { itemCount: number; sizeBytes: number } {
    return this.#entries.stats(space);
  }

  dropEntries(space: number, limit: number): number {
    this.#joinGroup();
    return this.#db.transaction(() => this.#entries.drop(space, limit))();
  }

  partitionSize(hash: number, pk: Buffer, spaces: readonly number[]): number {
    this.#partitionSize ??= this.#db.prepare(
      `SELECT coalesce(sum(b.size), 0) AS size FROM ${ITEMS} WHERE k.hash = ? AND k.pk = ?`,
    );
    let size = (this.#partitionSize.get(hash, pk) as { size: number }).size;
    for (const space of spaces) size += this.#entries.partitionSize(space, hash, pk);
    return size;
  }

  scanHash(hash: number): number {
    return hash;
  }

  appendRecord(record: AppendedRecord): void {
    this.#joinGroup();
    this.#logs.append(record.log, record.position, record.body);
  }

  records(log: number, from: number, below: number): IterableIterator<LogRecord> {
    return this.#logs.read(log, from, below);
  }

  lastRecord(log: number, below: number): number | undefined {
    return this.#logs.last(log, below);
  }

  recordBytes(log: number): number {
    return this.#logs.bytes(log);
  }

  trimRecords(log: number, below: number, limit: number): number {
    this.#joinGroup();
    return this.#logs.trim(log, below, limit);
  }

  dropRecords(log: number, limit: number): number {
    this.#joinGroup();
    return this.#db.transaction(() => this.#logs.drop(log, limit))();
  }

  transaction<T>(fn: () => T): T {
    this.#joinGroup();
    // Inside the group's transaction this is a savepoint: a failed fn undoes only its own writes.
    this.#transactionDepth++;
    const mark = this.#logs.mark();
    try {
      return this.#inTransaction(fn) as T;
    } catch (error) {
      // SQLite rolled fn's savepoint back: so go the log rows fn appended (held until COMMIT).
      this.#logs.undoTo(mark);
      throw error;
    } finally {
      this.#transactionDepth--;
    }
  }

  write(writes: readonly StoredWrite[], commitMarker?: string): void {
    this.transaction(() => {
      for (const write of writes) {
        if ('put' in write) this.put(write.put);
        else if ('delete' in write) this.delete(write.delete.hash, write.delete.pk, write.delete.sk);
        else if ('putEntry' in write) this.putEntry(write.putEntry);
        else if ('appendRecord' in write) this.appendRecord(write.appendRecord);
        else this.deleteEntry(write.deleteEntry);
      }
      if (commitMarker !== undefined) this.#db.prepare('INSERT INTO committed (txid) VALUES (?)').run(commitMarker);
    });
  }

  stage(txid: string, coordinator: string, writes: readonly StoredWrite[]): void {
    this.#joinGroup();
    this.#db
      .prepare('INSERT INTO staged (txid, coordinator, writes) VALUES (?, ?, ?)')
      .run(txid, coordinator, encodeWrites(writes));
  }

  staged(): { txid: string; coordinator: string }[] {
    return this.#db.prepare('SELECT txid, coordinator FROM staged ORDER BY rowid').all() as {
      txid: string;
      coordinator: string;
    }[];
  }

  applyStaged(txid: string): void {
    this.transaction(() => {
      const row = this.#db.prepare('SELECT writes FROM staged WHERE txid = ?').get(txid) as
        | { writes: Buffer }
        | undefined;
      if (!row) return;
      this.write(decodeWrites(row.writes));
      this.discardStaged(txid);
    });
  }

  discardStaged(txid: string): void {
    this.#joinGroup();
    this.#db.prepare('DELETE FROM staged WHERE txid = ?').run(txid);
  }

  isCommitted(txid: string): boolean {
    return this.#db.prepare('SELECT 1 FROM committed WHERE txid = ?').get(txid) !== undefined;
  }

  forgetCommitted(txid: string): void {
    this.#joinGroup();
    this.#db.prepare('DELETE FROM committed WHERE txid = ?').run(txid);
  }

  close(): void {
    this.commitNow();
    this.#walSync?.close();
    if (this.#db.open) {
      this.#db.close();
      this.#onClose?.();
    }
    this.#logs.close();
    this.#commits?.close();
  }
}

/** Staged writes are stored inside the (encrypted) table file itself, as JSON with base64 keys. */
function encodeWrites(writes: readonly StoredWrite[]): Buffer {
  const b64 = (b: Buffer) => b.toString('base64');
  const entryKey = (k: EntryKey) => [k.space, k.hash, b64(k.pk), b64(k.sk), b64(k.tk)] as const;
  return Buffer.from(
    JSON.stringify(
      writes.map((w) => {
        if ('put' in w) return { put: [w.put.hash, b64(w.put.pk), b64(w.put.sk), b64(w.put.body), w.put.size] };
        if ('delete' in w) return { delete: [w.delete.hash, b64(w.delete.pk), b64(w.delete.sk)] };
        if ('putEntry' in w) {
          const { item } = w.putEntry;
          const of = item ? [item.hash, b64(item.pk), b64(item.sk)] : [];
          return { putEntry: [...entryKey(w.putEntry), b64(w.putEntry.body), w.putEntry.size, ...of] };
        }
        if ('appendRecord' in w) {
          return { appendRecord: [w.appendRecord.log, w.appendRecord.position, b64(w.appendRecord.body)] };
        }
        return { deleteEntry: entryKey(w.deleteEntry) };
      }),
    ),
    'utf8',
  );
}

type EncodedEntryKey = [number, number, string, string, string];
type EncodedWrite =
  | { put: [number, string, string, string, number] }
  | { delete: [number, string, string] }
  | { putEntry: [...EncodedEntryKey, string, number] | [...EncodedEntryKey, string, number, number, string, string] }
  | { appendRecord: [number, number, string] }
  | { deleteEntry: EncodedEntryKey };

function decodeWrites(blob: Buffer): StoredWrite[] {
  const bytes = (s: string) => Buffer.from(s, 'base64');
  const entryKey = ([space, hash, pk, sk, tk]: EncodedEntryKey): EntryKey => ({
    space,
    hash,
    pk: bytes(pk),
    sk: bytes(sk),
    tk: bytes(tk),
  });
  return (JSON.parse(blob.toString('utf8')) as EncodedWrite[]).map((w) => {
    if ('put' in w) {
      const [hash, pk, sk, body, size] = w.put;
      return { put: { hash, pk: bytes(pk), sk: bytes(sk), body: bytes(body), size } };
    }
    if ('delete' in w) {
      const [hash, pk, sk] = w.delete;
      return { delete: { hash, pk: bytes(pk), sk: bytes(sk) } };
    }
    if ('putEntry' in w) {
      const [space, hash, pk, sk, tk, body, size, itemHash, itemPk, itemSk] = w.putEntry;
      const item =
        itemHash === undefined ? {} : { item: { hash: itemHash, pk: bytes(itemPk ?? ''), sk: bytes(itemSk ?? '') } };
      return { putEntry: { ...entryKey([space, hash, pk, sk, tk]), body: bytes(body), size, ...item } };
    }
    if ('appendRecord' in w) {
      const [log, position, body] = w.appendRecord;
      return { appendRecord: { log, position, body: bytes(body) } };
    }
    return { deleteEntry: entryKey(w.deleteEntry) };
  });
}

/** Rows of one partition with its key: one copy of the range's key, shared by the rows (equal keys). */
function* inPartition(
  rows: IterableIterator<Omit<KeyspaceEntry, 'space' | 'hash' | 'pk'>>,
  range: Pick<EntryKey, 'space' | 'hash' | 'pk'>,
): IterableIterator<KeyspaceEntry> {
  const { space, hash } = range;
  const pk = Buffer.from(range.pk);
  for (const row of rows) {
    const entry = row as { -readonly [K in keyof KeyspaceEntry]: KeyspaceEntry[K] };
    entry.space = space;
    entry.hash = hash;
    entry.pk = pk;
    yield entry;
  }
}

/** An entry row as found: `itemSize` set when its body is its item's (row `id` of item_bodies). */
interface FoundEntry {
  readonly id: number;
  readonly itemSize: number | null;
  readonly size: number;
}

/** The statements of the secondary keyspaces, with their running totals kept in the same transaction. */
class EntryStatements {
  readonly #db: SqliteDatabase;
  readonly #itemId: (key: ItemKey) => number | undefined;
  readonly #find: Statement;
  readonly #insertBody: Statement;
  readonly #insertKey: Statement;
  readonly #insertKeyIfNew: Statement;
  readonly #updateBody: Statement;
  readonly #updateKey: Statement;
  readonly #deleteBody: Statement;
  readonly #deleteKey: Statement;
  readonly #count: Statement;
  readonly #stats: Statement;
  readonly #someOfSpace: Statement;
  readonly #scanFrom: Statement;
  readonly #scanAfter: Statement;
  readonly #queries = new Map<string, Statement>();
  #partitionSize: Statement | undefined;

  constructor(db: SqliteDatabase, itemId: (key: ItemKey) => number | undefined) {
    this.#db = db;
    this.#itemId = itemId;
    const key = 'k.space = ? AND k.hash = ? AND k.pk = ? AND k.sk = ? AND k.tk = ?';
    this.#find = db.prepare(
      `SELECT k.id AS id, k.item_size AS itemSize, ${ENTRY_SIZE} AS size FROM ${ENTRIES} WHERE ${key}`,
    );
    this.#insertBody = db.prepare('INSERT INTO entry_bodies (body, size) VALUES (?, ?)');
    this.#insertKey = db.prepare(
      'INSERT INTO entry_keys (space, hash, pk, sk, tk, id, item_size) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.#insertKeyIfNew = db.prepare(
      'INSERT INTO entry_keys (space, hash, pk, sk, tk, id, item_size) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.#updateBody = db.prepare('UPDATE entry_bodies SET body = ?, size = ? WHERE id = ?');
    this.#updateKey = db.prepare(
      'UPDATE entry_keys SET id = ?, item_size = ? WHERE space = ? AND hash = ? AND pk = ? AND sk = ? AND tk = ?',
    );
    this.#deleteBody = db.prepare('DELETE FROM entry_bodies WHERE id = ?');
    this.#deleteKey = db.prepare(
      'DELETE FROM entry_keys WHERE space = ? AND hash = ? AND pk = ? AND sk = ? AND tk = ?',
    );
    this.#count = db.prepare(`INSERT INTO entry_counters (space, item_count, size_bytes) VALUES (?, ?, ?)
      ON CONFLICT (space) DO UPDATE SET item_count = item_count + excluded.item_count,
        size_bytes = size_bytes + excluded.size_bytes`);
    this.#stats = db.prepare(
      'SELECT item_count AS itemCount, size_bytes AS sizeBytes FROM entry_counters WHERE space = ?',
    );
    this.#someOfSpace = db.prepare(
      'SELECT k.hash AS hash, k.pk AS pk, k.sk AS sk, k.tk AS tk, k.id AS id, k.item_size AS itemSize, ' +
        `${ENTRY_SIZE} AS size FROM ${ENTRIES} WHERE k.space = ? LIMIT ?`,
    );
    const inSegment = 'k.space = ? AND k.hash >= ? AND k.hash < ? ORDER BY k.hash, k.pk, k.sk, k.tk';
    this.#scanFrom = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM ${ENTRIES} WHERE ${inSegment}`);
    this.#scanAfter = db.prepare(
      `SELECT ${ENTRY_COLUMNS} FROM ${ENTRIES} WHERE (k.hash, k.pk, k.sk, k.tk) > (?, ?, ?, ?) AND ${inSegment}`,
    );
  }

  put(entry: KeyspaceEntry): void {
    const { space, hash, pk, sk, tk, size } = entry;
    // The item's own body row when the entry's body is the item's; a copy only if it is not stored.
    const itemId = entry.item ? this.#itemId(entry.item) : undefined;
    if (entry.fresh) {
      const id = itemId ?? Number(this.#insertBody.run(entry.body, size).lastInsertRowid);
      const itemSize = itemId === undefined ? null : size;
      if (this.#insertKeyIfNew.run(space, hash, pk, sk, tk, id, itemSize).changes === 1) {
        this.#count.run(space, 1, size);
        return;
      }
      if (itemId === undefined) this.#deleteBody.run(id);
    }
    const previous = this.#find.get(space, hash, pk, sk, tk) as FoundEntry | undefined;
    if (previous) {
      if (itemId !== undefined) {
        this.#updateKey.run(itemId, size, space, hash, pk, sk, tk);
        if (previous.itemSize === null) this.#deleteBody.run(previous.id);
      } else if (previous.itemSize === null) {
        this.#updateBody.run(entry.body, size, previous.id);
      } else {
        const id = this.#insertBody.run(entry.body, size).lastInsertRowid;
        this.#updateKey.run(id, null, space, hash, pk, sk, tk);
      }
      this.#count.run(space, 0, size - previous.size);
      return;
    }
    if (itemId !== undefined) this.#insertKey.run(space, hash, pk, sk, tk, itemId, size);
    else this.#insertKey.run(space, hash, pk, sk, tk, this.#insertBody.run(entry.body, size).lastInsertRowid, null);
    this.#count.run(space, 1, size);
  }

  delete(key: EntryKey): void {
    const previous = this.#find.get(key.space, key.hash, key.pk, key.sk, key.tk) as FoundEntry | undefined;
    if (!previous) return;
    this.#deleteKey.run(key.space, key.hash, key.pk, key.sk, key.tk);
    // A reference leaves the item's body to the item.
    if (previous.itemSize === null) this.#deleteBody.run(previous.id);
    this.#count.run(key.space, -1, -previous.size);
  }

  query(range: EntryRangeQuery): IterableIterator<KeyspaceEntry> {
    const lower = range.lower ? (range.lower.inclusive ? '>=' : '>') : '';
    const upper = range.upper ? (range.upper.inclusive ? '<=' : '<') : '';
    const shape = `${lower}|${upper}|${range.forward}|${range.after !== undefined}`;
    let statement = this.#queries.get(shape);
    if (!statement) {
      const conditions = ['k.space = @space', 'k.hash = @hash', 'k.pk = @pk'];
      if (lower) conditions.push(`k.sk ${lower} @lower`);
      if (upper) conditions.push(`k.sk ${upper} @upper`);
      if (range.after) conditions.push(`(k.sk, k.tk) ${range.forward ? '>' : '<'} (@afterSk, @afterTk)`);
      const order = range.forward ? 'ASC' : 'DESC';
      // Not the partition's columns, which the range names: a Query of 10 items so costs about
      // what the same Query of the table does (SQLite copies every blob column into a new Buffer).
      statement = this.#db.prepare(
        `SELECT ${ENTRY_VALUE_COLUMNS} FROM ${ENTRIES} WHERE ${conditions.join(' AND ')} ORDER BY k.sk ${order}, k.tk ${order}`,
      );
      this.#queries.set(shape, statement);
    }
    const rows = statement.iterate({
      space: range.space,
      hash: range.hash,
      pk: range.pk,
      ...(range.lower ? { lower: range.lower.key } : {}),
      ...(range.upper ? { upper: range.upper.key } : {}),
      ...(range.after ? { afterSk: range.after.sk, afterTk: range.after.tk } : {}),
    }) as IterableIterator<Omit<KeyspaceEntry, 'space' | 'hash' | 'pk'>>;
    return inPartition(rows, range);
  }

  scan(range: EntryScanRange): IterableIterator<KeyspaceEntry> {
    const { after } = range;
    return (
      after
        ? this.#scanAfter.iterate(after.hash, after.pk, after.sk, after.tk, range.space, range.fromHash, range.toHash)
        : this.#scanFrom.iterate(range.space, range.fromHash, range.toHash)
    ) as IterableIterator<KeyspaceEntry>;
  }

  stats(space: number): { itemCount: number; sizeBytes: number } {
    return (
      (this.#stats.get(space) as { itemCount: number; sizeBytes: number } | undefined) ?? {
        itemCount: 0,
        sizeBytes: 0,
      }
    );
  }

  partitionSize(space: number, hash: number, pk: Buffer): number {
    this.#partitionSize ??= this.#db.prepare(
      `SELECT coalesce(sum(${ENTRY_SIZE}), 0) AS size FROM ${ENTRIES} WHERE k.space = ? AND k.hash = ? AND k.pk = ?`,
    );
    return (this.#partitionSize.get(space, hash, pk) as { size: number }).size;
  }

  drop(space: number, limit: number): number {
    const rows = this.#someOfSpace.all(space, limit) as (Omit<EntryKey, 'space'> & FoundEntry)[];
    for (const row of rows) {
      this.#deleteKey.run(space, row.hash, row.pk, row.sk, row.tk);
      if (row.itemSize === null) this.#deleteBody.run(row.id);
    }
    if (rows.length < limit) this.#db.prepare('DELETE FROM entry_counters WHERE space = ?').run(space);
    else this.#count.run(space, -rows.length, -rows.reduce((sum, r) => sum + r.size, 0));
    return rows.length;
  }
}
