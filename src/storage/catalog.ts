/**
 * The catalog: one encrypted database listing every table (definition, status,
 * wrapped data key, tags). Storage keeps definitions as opaque JSON; the
 * DynamoDB layer gives them meaning.
 */
import { type Scope, scopeKey } from '../core/scope.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { type CommitRecorder, openCommitRecorder } from './commit-counter.js';
import { naming } from './damage.js';
import type { DataDir } from './data-dir.js';
import { openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';
import { withRootWrappedKey } from './root-wrapped-key.js';
import { type Durability, syncMode } from './wal-sync.js';

export interface CatalogEntry<D> {
  /** The account and region the table belongs to. */
  readonly scope: Scope;
  readonly name: string;
  /** Opaque id that names the table's file; never derived from the table name. */
  readonly id: string;
  readonly definition: D;
  /** The table file's data key, wrapped by the table keyring. */
  readonly wrappedKey: Buffer;
}

/** What the table layer asks of a catalog: this file, or the engine's (storage/postgres/pg-catalog.ts). */
export interface TableCatalog<D> {
  /** Named in the errors of damage found in it. */
  readonly file: string;
  get(scope: Scope, name: string): CatalogEntry<D> | undefined;
  /** One scope's entries named after `exclusiveStartName`, in name order. */
  list(scope: Scope, exclusiveStartName: string, limit: number): CatalogEntry<D>[];
  all(): CatalogEntry<D>[];
  put(entry: CatalogEntry<D>): void;
  delete(scope: Scope, name: string): void;
  close(): void;
}

const KEY_FILE = 'catalog.key';
const WRAP_PURPOSE = 'sealdb/catalog-key-wrap/v1';

export class Catalog<D> implements TableCatalog<D> {
  readonly #db: SqliteDatabase;
  readonly #statements;
  /**
   * Every request looks its table up: entries are kept parsed in memory, written through to the
   * encrypted file. Entries are immutable; callers replace them with put.
   */
  readonly #cache = new Map<string, CatalogEntry<D> | null>();

  private constructor(
    db: SqliteDatabase,
    legacyRegion: ((definition: D) => string) | undefined,
    /** Named in the errors of a damaged page (DamagedFileError). */
    readonly file: string,
    /** How far the log was committed, for the check before the next open (commit-counter.ts). */
    private readonly commits: CommitRecorder | undefined,
  ) {
    this.#db = db;
    naming(file, () =>
      db.transaction(() => {
        if (!hasRegionColumn(db)) db.exec('ALTER TABLE tables RENAME TO tables_without_region');
        db.exec(`CREATE TABLE IF NOT EXISTS tables (
        account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
        definition TEXT NOT NULL, wrapped_key BLOB NOT NULL, PRIMARY KEY (account, region, name)) WITHOUT ROWID`);
        migrateTablesWithoutRegion(db, legacyRegion);
      })(),
    );
    this.#statements = {
      get: db.prepare('SELECT * FROM tables WHERE account = ? AND region = ? AND name = ?'),
      list: db.prepare('SELECT * FROM tables WHERE account = ? AND region = ? AND name > ? ORDER BY name LIMIT ?'),
      all: db.prepare('SELECT * FROM tables'),
      upsert: db.prepare(
        `INSERT INTO tables (account, region, name, id, definition, wrapped_key)
         VALUES (@account, @region, @name, @id, @definition, @wrappedKey)
         ON CONFLICT (account, region, name) DO UPDATE SET definition = excluded.definition, wrapped_key = excluded.wrapped_key`,
      ),
      delete: db.prepare('DELETE FROM tables WHERE account = ? AND region = ? AND name = ?'),
    };
  }

  /**
   * Opens the catalog; its data key is wrapped by a key derived from the root of trust.
   * @param legacyRegion the region of a table stored before the catalog kept regions (needed
   *   only to open such a catalog, which is then rewritten with them, once).
   */
  static open<D>(
    dataDir: DataDir,
    root: RootOfTrust,
    durability?: Durability,
    legacyRegion?: (definition: D) => string,
  ): Catalog<D> {
    const file = dataDir.file('catalog.db');
    return withRootWrappedKey(
      dataDir,
      root,
      KEY_FILE,
      WRAP_PURPOSE,
      (key) =>
        new Catalog<D>(
          openEncryptedDatabase({ file, key, synchronous: syncMode(durability), checkPages: true }),
          legacyRegion,
          file,
          openCommitRecorder(file, durability),
        ),
    );
  }

  get(scope: Scope, name: string): CatalogEntry<D> | undefined {
    const slot = cacheKey(scope, name);
    const cached = this.#cache.get(slot);
    if (cached !== undefined) return cached ?? undefined;
    const entry = toEntry<D>(
      naming(this.file, () => this.#statements.get.get(scope.accountId, scope.region, name)) as Row | undefined,
    );
    this.#cache.set(slot, entry ?? null);
    return entry;
  }

  list(scope: Scope, exclusiveStartName: string, limit: number): CatalogEntry<D>[] {
    const rows = naming(this.file, () =>
      this.#statements.list.all(scope.accountId, scope.region, exclusiveStartName, limit),
    ) as Row[];
    return rows.map((r) => toEntry<D>(r) as CatalogEntry<D>);
  }

  all(): CatalogEntry<D>[] {
    return (naming(this.file, () => this.#statements.all.all()) as Row[]).map((r) => toEntry<D>(r) as CatalogEntry<D>);
  }

  put(entry: CatalogEntry<D>): void {
    this.#cache.delete(cacheKey(entry.scope, entry.name));
    naming(this.file, () =>
      this.#statements.upsert.run({
        account: entry.scope.accountId,
        region: entry.scope.region,
        name: entry.name,
        id: entry.id,
        definition: JSON.stringify(entry.definition),
        wrappedKey: entry.wrappedKey,
      }),
    );
    this.commits?.committed();
    this.#cache.set(cacheKey(entry.scope, entry.name), entry);
  }

  delete(scope: Scope, name: string): void {
    naming(this.file, () => this.#statements.delete.run(scope.accountId, scope.region, name));
    this.commits?.committed();
    this.#cache.set(cacheKey(scope, name), null);
  }

  close(): void {
    this.#db.close();
    this.commits?.close();
  }
}

const cacheKey = (scope: Scope, name: string): string => `${scopeKey(scope)}\u0000${name}`;

/** False only for a catalog written before tables were per region (its `tables` has no `region`). */
function hasRegionColumn(db: SqliteDatabase): boolean {
  const columns = db.prepare('PRAGMA table_info(tables)').all() as { name: string }[];
  return columns.length === 0 || columns.some((c) => c.name === 'region');
}

/** Moves the rows of a catalog from before regions into the per-region table, in the open's transaction. */
function migrateTablesWithoutRegion<D>(
  db: SqliteDatabase,
  legacyRegion: ((definition: D) => string) | undefined,
): void {
  const legacy = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'tables_without_region'")
    .get();
  if (!legacy) return;
  const insert = db.prepare(
    'INSERT INTO tables (account, region, name, id, definition, wrapped_key) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const row of db.prepare('SELECT * FROM tables_without_region').all() as Omit<Row, 'region'>[]) {
    if (!legacyRegion) throw new Error('This catalog predates regions: open it with legacyRegion');
    const region = legacyRegion(JSON.parse(row.definition) as D);
    insert.run(row.account, region, row.name, row.id, row.definition, row.wrapped_key);
  }
  db.exec('DROP TABLE tables_without_region');
}

interface Row {
  account: string;
  region: string;
  name: string;
  id: string;
  definition: string;
  wrapped_key: Buffer;
}

function toEntry<D>(row: Row | undefined): CatalogEntry<D> | undefined {
  if (!row) return undefined;
  return {
    scope: { accountId: row.account, region: row.region },
    name: row.name,
    id: row.id,
    definition: JSON.parse(row.definition) as D,
    wrappedKey: row.wrapped_key,
  };
}
