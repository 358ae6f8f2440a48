/**
 * The backup catalog: one encrypted database listing every backup (its record as opaque JSON and
 * the wrapped data key of its file). Kept apart from the table catalog: a backup outlives its
 * table, and listing backups never walks the tables.
 */
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { type CommitRecorder, openCommitRecorder } from './commit-counter.js';
import type { DataDir } from './data-dir.js';
import { openEncryptedDatabase, type SqliteDatabase } from './encrypted-db.js';
import { withRootWrappedKey } from './root-wrapped-key.js';
import { type Durability, syncMode } from './wal-sync.js';

export interface BackupCatalogEntry<R> {
  readonly arn: string;
  readonly record: R;
  /** The backup file's data key, wrapped by the source table's key of backup time. */
  readonly wrappedKey: Buffer;
}

export interface CatalogNames {
  readonly file: string;
  readonly keyFile: string;
  readonly wrapPurpose: string;
}

const BACKUP_NAMES: CatalogNames = {
  file: 'backups.db',
  keyFile: 'backups.key',
  wrapPurpose: 'sealdb/backup-catalog-key-wrap/v1',
};

/** The exports and imports catalog: their records, in a file and under a key of their own. */
export const TRANSFER_NAMES: CatalogNames = {
  file: 'exports.db',
  keyFile: 'exports.key',
  wrapPurpose: 'sealdb/export-catalog-key-wrap/v1',
};

export class BackupCatalog<R> {
  readonly #db: SqliteDatabase;
  readonly #upsert;
  readonly #delete;
  /** Every entry, in memory (backups are few; ListBackups filters them here). */
  readonly #entries = new Map<string, BackupCatalogEntry<R>>();

  private constructor(
    db: SqliteDatabase,
    /** How far the log was committed, for the check before the next open (commit-counter.ts). */
    private readonly commits: CommitRecorder | undefined,
  ) {
    this.#db = db;
    db.exec(
      'CREATE TABLE IF NOT EXISTS backups (arn TEXT PRIMARY KEY, record TEXT NOT NULL, wrapped_key BLOB NOT NULL)',
    );
    commits?.committed();
    this.#upsert = db.prepare(
      `INSERT INTO backups (arn, record, wrapped_key) VALUES (?, ?, ?)
       ON CONFLICT (arn) DO UPDATE SET record = excluded.record, wrapped_key = excluded.wrapped_key`,
    );
    this.#delete = db.prepare('DELETE FROM backups WHERE arn = ?');
    for (const row of db.prepare('SELECT * FROM backups').all() as Row[]) {
      this.#entries.set(row.arn, { arn: row.arn, record: JSON.parse(row.record) as R, wrappedKey: row.wrapped_key });
    }
  }

  /**
   * Its data key is wrapped by a key derived from the root of trust, as the table catalog's.
   * `names` opens another catalog of the same shape (the exports and imports catalog).
   */
  static open<R>(
    dataDir: DataDir,
    root: RootOfTrust,
    durability?: Durability,
    names: CatalogNames = BACKUP_NAMES,
  ): BackupCatalog<R> {
    const file = dataDir.file(names.file);
    return withRootWrappedKey(
      dataDir,
      root,
      names.keyFile,
      names.wrapPurpose,
      // Opening checks the log (wal-check.ts) against the commit record, as for the table catalog.
      (key) =>
        new BackupCatalog<R>(
          openEncryptedDatabase({ file, key, synchronous: syncMode(durability), checkPages: true }),
          openCommitRecorder(file, durability),
        ),
    );
  }

  get(arn: string): BackupCatalogEntry<R> | undefined {
    return this.#entries.get(arn);
  }

  all(): BackupCatalogEntry<R>[] {
    return [...this.#entries.values()];
  }

  put(entry: BackupCatalogEntry<R>): void {
    this.#upsert.run(entry.arn, JSON.stringify(entry.record), entry.wrappedKey);
    this.commits?.committed();
    this.#entries.set(entry.arn, entry);
  }

  delete(arn: string): void {
    this.#delete.run(arn);
    this.commits?.committed();
    this.#entries.delete(arn);
  }

  close(): void {
    this.#db.close();
    this.commits?.close();
  }
}

interface Row {
  arn: string;
  record: string;
  wrapped_key: Buffer;
}
