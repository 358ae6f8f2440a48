/**
 * Where backups keep their items and their catalog: the narrow storage interface the backup
 * manager (src/dynamodb/backups) works through. Embedded: a file per backup and an encrypted
 * catalog file in the data directory (snapshot.ts, backup-catalog.ts). Engine: rows of the
 * engine (storage/postgres/pg-backups.ts), so every node lists and restores the same backups.
 */
import { copyFileSync, existsSync } from 'node:fs';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { BackupCatalog, type BackupCatalogEntry, type CatalogNames } from './backup-catalog.js';
import type { DataDir } from './data-dir.js';
import type { PageChecker } from './page-checker.js';
import type { Fence } from './postgres/unit-of-work.js';
import { openBackupItems, removeFiles, startSnapshot } from './snapshot.js';
import type { StoredItem } from './table-file.js';
import type { Durability } from './wal-sync.js';

export type { BackupCatalogEntry } from './backup-catalog.js';

/** The catalog of backups: one entry per backup (its record and its wrapped data key). */
export interface BackupRecords<R> {
  get(arn: string): Promise<BackupCatalogEntry<R> | undefined>;
  all(): Promise<BackupCatalogEntry<R>[]>;
  /**
   * `fence` (engine storage): written only while that lease stands (src/cluster/leases.ts), in
   * the transaction that checks it; else FenceLost and nothing is written.
   */
  put(entry: BackupCatalogEntry<R>, fence?: Fence): Promise<void>;
  delete(arn: string): Promise<void>;
  close(): void;
}

/** A live table to copy: where its data is and the data key it is sealed under. */
export interface LiveTableData {
  readonly tableId: string;
  readonly file: string;
  /** Valid only during startCopy: used (or copied) at once. */
  readonly dataKey: Buffer;
}

export interface BackupCopy {
  /** Resolves once the copy's snapshot is fixed: writes committed before are in it, later ones not. */
  readonly pinned: Promise<void>;
  /** How many items were copied, where the storage counts them apart (the engine: a row each). */
  readonly done: Promise<{ readonly items?: number }>;
}

/** A backup's items, read in its order. */
export interface BackupReader {
  /** Up to `max` items; fewer only at the end (none: every item was read). */
  read(max: number): Promise<StoredItem[]>;
  close(): void;
  /** Rejects when the backup proves damaged in parts a restore does not read (absent: nothing apart to check). */
  readonly verified?: Promise<void>;
}

/** A source read in groups: a backup reader as it is, an iterator (a snapshot file's) a group at a time. */
export function groupsOf(
  items: Iterator<StoredItem> | Pick<BackupReader, 'read'>,
): (max: number) => Promise<StoredItem[]> {
  if ('read' in items) return (max) => items.read(max);
  return async (max) => nextItems(items, max);
}

/** Up to `max` items from an iterator; fewer only at its end. */
export function nextItems(items: Iterator<StoredItem>, max: number): StoredItem[] {
  const out: StoredItem[] = [];
  while (out.length < max) {
    const next = items.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

export interface BackupStorage<R> {
  /** False where nothing outlives the process (an in-memory server keeps no backups). */
  readonly available: boolean;
  /**
   * Whether a backup found CREATING at start was being copied by this node's last process (the
   * embedded store: one process per data directory), so its partial data may go. Over a shared
   * engine another node may still be copying it.
   */
  readonly unfinishedAreOurs: boolean;
  readonly catalog: BackupRecords<R>;
  /**
   * Starts a consistent copy of a live table's items into backup `backupId`, sealed under
   * `targetKey`. Both keys are used or copied during this call; the caller zeroes its own.
   */
  startCopy(source: LiveTableData, backupId: string, targetKey: Buffer): BackupCopy;
  /**
   * Copies a table's data as the ciphertext it is (archival: its key is unusable). False when the
   * table has no data kept to copy (no backup is then made).
   */
  copySealed(source: { readonly tableId: string; readonly file: string }, backupId: string): Promise<boolean>;
  /**
   * Opens a backup's items with its data key (zeroed by the caller once this returns).
   * `sealedAsTable`: the backup is that table's data as it was, sealed as that table's (archival).
   */
  open(backupId: string, key: Buffer, sealedAsTable?: string): BackupReader;
  /** Removes a backup's data (nothing when it has none). */
  remove(backupId: string): Promise<void>;
}

/**
 * A catalog file of the data directory behind the async interface. It answers from memory and
 * writes SQLite synchronously: the promises are settled at once (a write is made in the call).
 */
export function embeddedRecords<R>(
  dataDir: DataDir,
  root: RootOfTrust,
  durability: Durability,
  names?: CatalogNames,
): BackupRecords<R> {
  const catalog = BackupCatalog.open<R>(dataDir, root, durability, names);
  return {
    get: async (arn) => catalog.get(arn),
    all: async () => catalog.all(),
    put: async (entry) => catalog.put(entry),
    delete: async (arn) => catalog.delete(arn),
    close: () => catalog.close(),
  };
}

/** The embedded store's backups: a file each under `backups/`, listed in the encrypted `backups.db`. */
export class EmbeddedBackupStorage<R> implements BackupStorage<R> {
  readonly available: boolean;
  readonly unfinishedAreOurs = true;
  readonly catalog: BackupRecords<R>;
  readonly #dataDir: DataDir;
  readonly #pageChecker: PageChecker | undefined;

  constructor(dataDir: DataDir, root: RootOfTrust, durability: Durability, pageChecker?: PageChecker) {
    this.#dataDir = dataDir;
    this.#pageChecker = pageChecker;
    this.available = !dataDir.inMemory;
    this.catalog = embeddedRecords<R>(dataDir, root, durability);
  }

  startCopy(source: LiveTableData, backupId: string, targetKey: Buffer): BackupCopy {
    const { pinned, done } = startSnapshot({
      source: source.file,
      sourceKey: source.dataKey,
      target: this.#file(backupId),
      targetKey,
    });
    // The file copy counts its rows of every keyspace, not items; its pages are authenticated instead.
    return { pinned, done: done.then(() => ({})) };
  }

  async copySealed(source: { readonly file: string }, backupId: string): Promise<boolean> {
    if (this.#dataDir.inMemory || !existsSync(source.file)) return false;
    const file = this.#file(backupId);
    // Ciphertext copied as ciphertext: the table's file is closed while its key is unusable.
    copyFileSync(source.file, file);
    if (existsSync(`${source.file}-wal`)) copyFileSync(`${source.file}-wal`, `${file}-wal`);
    return true;
  }

  open(backupId: string, key: Buffer): BackupReader {
    const { items, close, verified } = openBackupItems(this.#file(backupId), key, this.#pageChecker);
    return {
      async read(max) {
        return nextItems(items, max);
      },
      close,
      ...(verified ? { verified } : {}),
    };
  }

  async remove(backupId: string): Promise<void> {
    removeFiles(this.#file(backupId));
  }

  #file(backupId: string): string {
    return this.#dataDir.file('backups', `${backupId}.db`);
  }
}
