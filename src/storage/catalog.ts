/**
 * The catalog: one encrypted database listing every table (definition, status,
 * wrapped data key, tags). Storage keeps definitions as opaque JSON; the
 * DynamoDB layer gives them meaning.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { unwrapKey, wrapKey } from '../encryption/key-wrap.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import type { DataDir } from './data-dir.js';
import { openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';
import { type Durability, syncMode } from './wal-sync.js';

export interface CatalogEntry<D> {
  readonly account: string;
  readonly name: string;
  /** Opaque id that names the table's file; never derived from the table name. */
  readonly id: string;
  readonly definition: D;
  /** The table file's data key, wrapped by the table keyring. */
  readonly wrappedKey: Buffer;
}

const KEY_FILE = 'catalog.key';
const WRAP_PURPOSE = 'sealdb/catalog-key-wrap/v1';

export class Catalog<D> {
  readonly #db: SqliteDatabase;
  readonly #statements;
  /**
   * Every request looks its table up: entries are kept parsed in memory, written through to the
   * encrypted file. Entries are immutable; callers replace them with put.
   */
  readonly #cache = new Map<string, CatalogEntry<D> | null>();

  private constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS tables (
      account TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
      definition TEXT NOT NULL, wrapped_key BLOB NOT NULL, PRIMARY KEY (account, name)) WITHOUT ROWID`);
    this.#statements = {
      get: db.prepare('SELECT * FROM tables WHERE account = ? AND name = ?'),
      list: db.prepare('SELECT * FROM tables WHERE account = ? AND name > ? ORDER BY name LIMIT ?'),
      all: db.prepare('SELECT * FROM tables'),
      upsert: db.prepare(
        `INSERT INTO tables (account, name, id, definition, wrapped_key) VALUES (@account, @name, @id, @definition, @wrappedKey)
         ON CONFLICT (account, name) DO UPDATE SET definition = excluded.definition, wrapped_key = excluded.wrapped_key`,
      ),
      delete: db.prepare('DELETE FROM tables WHERE account = ? AND name = ?'),
    };
  }

  /** Opens the catalog; its data key is wrapped by a key derived from the root of trust. */
  static open<D>(dataDir: DataDir, root: RootOfTrust, durability?: Durability): Catalog<D> {
    const file = dataDir.file('catalog.db');
    const kek = root.deriveKey(WRAP_PURPOSE);
    let key: Buffer | undefined;
    try {
      if (dataDir.inMemory) key = randomBytes(32);
      else {
        const keyPath = dataDir.file(KEY_FILE);
        if (existsSync(keyPath)) {
          key = unwrapKey(kek, Buffer.from(readFileSync(keyPath, 'utf8').trim(), 'base64'), WRAP_PURPOSE);
        } else {
          key = randomBytes(32);
          writeFileSync(keyPath, `${wrapKey(kek, key, WRAP_PURPOSE).toString('base64')}\n`, {
            mode: 0o600,
            flag: 'wx',
          });
        }
      }
      return new Catalog<D>(openEncryptedDatabase({ file, key, synchronous: syncMode(durability) }));
    } finally {
      kek.fill(0);
      key?.fill(0);
    }
  }

  get(account: string, name: string): CatalogEntry<D> | undefined {
    const slot = cacheKey(account, name);
    const cached = this.#cache.get(slot);
    if (cached !== undefined) return cached ?? undefined;
    const entry = toEntry<D>(this.#statements.get.get(account, name) as Row | undefined);
    this.#cache.set(slot, entry ?? null);
    return entry;
  }

  list(account: string, exclusiveStartName: string, limit: number): CatalogEntry<D>[] {
    return (this.#statements.list.all(account, exclusiveStartName, limit) as Row[]).map(
      (r) => toEntry<D>(r) as CatalogEntry<D>,
    );
  }

  all(): CatalogEntry<D>[] {
    return (this.#statements.all.all() as Row[]).map((r) => toEntry<D>(r) as CatalogEntry<D>);
  }

  put(entry: CatalogEntry<D>): void {
    this.#cache.delete(cacheKey(entry.account, entry.name));
    this.#statements.upsert.run({
      account: entry.account,
      name: entry.name,
      id: entry.id,
      definition: JSON.stringify(entry.definition),
      wrappedKey: entry.wrappedKey,
    });
    this.#cache.set(cacheKey(entry.account, entry.name), entry);
  }

  delete(account: string, name: string): void {
    this.#statements.delete.run(account, name);
    this.#cache.set(cacheKey(account, name), null);
  }

  close(): void {
    this.#db.close();
  }
}

const cacheKey = (account: string, name: string): string => `${account}\u0000${name}`;

interface Row {
  account: string;
  name: string;
  id: string;
  definition: string;
  wrapped_key: Buffer;
}

function toEntry<D>(row: Row | undefined): CatalogEntry<D> | undefined {
  if (!row) return undefined;
  return {
    account: row.account,
    name: row.name,
    id: row.id,
    definition: JSON.parse(row.definition) as D,
    wrappedKey: row.wrapped_key,
  };
}
