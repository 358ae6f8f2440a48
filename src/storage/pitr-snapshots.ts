/**
 * Where point-in-time recovery keeps the snapshots its history starts from: the narrow storage
 * interface the PITR manager (src/dynamodb/pitr) works through. The change log needs none of its
 * own: it is a record log of the table's store (TableStore.appendRecord), in the table file or in
 * the engine's rows, sealed as the table's. Embedded: a file per snapshot under `pitr/`, copied
 * on a worker thread (snapshot.ts). Engine: rows of the engine (storage/postgres/pg-pitr.ts), so
 * every node restores from the same history.
 */
import { readdirSync } from 'node:fs';
import type { BackupReader, LiveTableData } from './backup-storage.js';
import type { DataDir } from './data-dir.js';
import { openEncryptedDatabase } from './encrypted-db.js';
import { hasRecord } from './record-log.js';
import { removeFiles, snapshotItems, snapshotLookup, startSnapshot } from './snapshot.js';
import type { ItemKey, StoredItem } from './table-file.js';

export interface PitrSnapshotCopy {
  /** Resolves once the snapshot is fixed: writes committed before are in it, later ones not. */
  readonly pinned: Promise<void>;
  /** Resolves once it is copied in full, with the bytes it holds. */
  readonly done: Promise<{ readonly bytes: number }>;
}

/** An open snapshot: its items, and which records of the table's change log it holds. */
export interface PitrSnapshotImage {
  /** Every item of the snapshot, each once: an iterator (a file) or read in groups (the engine). */
  readonly items: IterableIterator<StoredItem> | Pick<BackupReader, 'read'>;
  /**
   * Whether the snapshot holds the change log's record at `position` (a record stamped just
   * before the pin may have committed after it).
   */
  holds(position: number): boolean;
  /** One item by its key, where the snapshot can answer at once (a file: an indexed read). */
  readonly lookup?: (key: ItemKey) => StoredItem | undefined;
  close(): void;
}

export interface PitrSnapshotStorage {
  /** False where nothing outlives the process (an in-memory server keeps no history). */
  readonly available: boolean;
  /**
   * Whether a snapshot found unfinished at start was being copied by this node's last process
   * (the embedded store), so its partial data may go; over a shared engine another node may
   * still be copying it.
   */
  readonly unfinishedAreOurs: boolean;
  /** Starts a consistent copy of a live table (its items and change log `log`) under `key`. */
  start(source: LiveTableData, snapshotId: string, key: Buffer, log: number): PitrSnapshotCopy;
  /** Opens a snapshot with its key (zeroed by the caller once this resolves). */
  open(snapshotId: string, key: Buffer, log: number): Promise<PitrSnapshotImage>;
  /** Removes a snapshot's data (nothing when it has none). */
  remove(snapshotId: string): Promise<void>;
  /** The ids of the snapshots with data kept (for the removal of those no table refers to). */
  stored(): Promise<string[]>;
}

/** The embedded store's snapshots: a copy of the table file each, under `pitr/`. */
export class EmbeddedPitrSnapshots implements PitrSnapshotStorage {
  readonly available: boolean;
  readonly unfinishedAreOurs = true;
  readonly #dataDir: DataDir;

  constructor(dataDir: DataDir) {
    this.#dataDir = dataDir;
    this.available = !dataDir.inMemory;
  }

  start(source: LiveTableData, snapshotId: string, key: Buffer): PitrSnapshotCopy {
    // The whole file: its items and its change log (which `holds` reads) as they were at the pin.
    return startSnapshot({
      source: source.file,
      sourceKey: source.dataKey,
      target: this.#file(snapshotId),
      targetKey: key,
    });
  }

  async open(snapshotId: string, key: Buffer, log: number): Promise<PitrSnapshotImage> {
    const db = openEncryptedDatabase({ file: this.#file(snapshotId), key, readonly: true, checkWal: false });
    try {
      const holds = hasRecord(db, log);
      const items = snapshotItems(db);
      return {
        items,
        holds,
        lookup: snapshotLookup(db),
        close: () => {
          // A statement the reader never started on keeps the connection from closing.
          items.return?.();
          db.close();
        },
      };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async remove(snapshotId: string): Promise<void> {
    // At once, in the call (as before this interface): the files are gone when it returns.
    removeFiles(this.#file(snapshotId));
  }

  async stored(): Promise<string[]> {
    let names: string[];
    try {
      names = readdirSync(this.#dataDir.file('pitr'));
    } catch {
      return [];
    }
    return [...new Set(names.map((entry) => entry.replace(/\.db(-wal|-shm)?$/, '')))];
  }

  #file(snapshotId: string): string {
    return this.#dataDir.file('pitr', `${snapshotId}.db`);
  }
}
