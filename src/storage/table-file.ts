/**
 * One table's items in one encrypted database file. Keys arrive already
 * encoded as order-preserving bytes, so Query is an index range scan and Scan
 * walks the primary key in (partition hash, partition key, sort key) order.
 */

import type { Statement } from 'better-sqlite3-multiple-ciphers';
import { openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';

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

/** The narrow interface operations see; a second backend would implement it too. */
export interface TableStore {
  get(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined;
  /** Writes the item and returns the one it replaced. */
  put(item: StoredItem): StoredItem | undefined;
  delete(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined;
  query(range: RangeQuery): IterableIterator<StoredItem>;
  scan(range: ScanRange): IterableIterator<StoredItem>;
  stats(): { readonly itemCount: number; readonly sizeBytes: number };
  /** Runs fn atomically: all of its writes land or none do. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export class TableFile implements TableStore {
  readonly #db: SqliteDatabase;
  readonly #get: Statement;
  readonly #put: Statement;
  readonly #delete: Statement;
  readonly #stats: Statement;
  readonly #scanFrom: Statement;
  readonly #scanAfter: Statement;
  readonly #queries = new Map<string, Statement>();

  private constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS items (
      hash INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, body BLOB NOT NULL, size INTEGER NOT NULL,
      PRIMARY KEY (hash, pk, sk)) WITHOUT ROWID`);
    this.#get = db.prepare('SELECT * FROM items WHERE hash = ? AND pk = ? AND sk = ?');
    this.#put = db.prepare('INSERT OR REPLACE INTO items (hash, pk, sk, body, size) VALUES (?, ?, ?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM items WHERE hash = ? AND pk = ? AND sk = ?');
    this.#stats = db.prepare('SELECT count(*) AS itemCount, coalesce(sum(size), 0) AS sizeBytes FROM items');
    this.#scanFrom = db.prepare('SELECT * FROM items WHERE hash >= ? AND hash < ? ORDER BY hash, pk, sk');
    this.#scanAfter = db.prepare(
      'SELECT * FROM items WHERE (hash, pk, sk) > (?, ?, ?) AND hash >= ? AND hash < ? ORDER BY hash, pk, sk',
    );
  }

  /** Opens (or creates) the file; a wrong key fails with WrongKeyError before anything is read. */
  static open(file: string, key: Buffer): TableFile {
    return new TableFile(openEncryptedDatabase({ file, key }));
  }

  get(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    return this.#get.get(hash, pk, sk) as StoredItem | undefined;
  }

  put(item: StoredItem): StoredItem | undefined {
    const previous = this.get(item.hash, item.pk, item.sk);
    this.#put.run(item.hash, item.pk, item.sk, item.body, item.size);
    return previous;
  }

  delete(hash: number, pk: Buffer, sk: Buffer): StoredItem | undefined {
    const previous = this.get(hash, pk, sk);
    if (previous) this.#delete.run(hash, pk, sk);
    return previous;
  }

  query(range: RangeQuery): IterableIterator<StoredItem> {
    const lower = range.lower ? (range.lower.inclusive ? '>=' : '>') : '';
    const upper = range.upper ? (range.upper.inclusive ? '<=' : '<') : '';
    const shape = `${lower}|${upper}|${range.forward}`;
    let statement = this.#queries.get(shape);
    if (!statement) {
      const conditions = ['hash = @hash', 'pk = @pk'];
      if (lower) conditions.push(`sk ${lower} @lower`);
      if (upper) conditions.push(`sk ${upper} @upper`);
      statement = this.#db.prepare(
        `SELECT * FROM items WHERE ${conditions.join(' AND ')} ORDER BY sk ${range.forward ? 'ASC' : 'DESC'}`,
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

  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
