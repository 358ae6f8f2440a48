/**
 * Where exports and imports keep their records, and how an export reads a live table as it is
 * at one instant: the narrow storage interface of src/dynamodb/exports. Embedded: the encrypted
 * exports catalog file and a read transaction of its own on the table file (snapshot.ts).
 * Engine: sealed rows of `transfer_catalog` and one REPEATABLE READ transaction over the table's
 * item rows (storage/postgres/pg-backups.ts), so every node describes and lists the same jobs.
 */
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import { TRANSFER_NAMES } from './backup-catalog.js';
import {
  type BackupReader,
  type BackupRecords,
  embeddedRecords,
  groupsOf,
  type LiveTableData,
} from './backup-storage.js';
import type { DataDir } from './data-dir.js';
import { openPinnedItems } from './snapshot.js';
import type { Durability } from './wal-sync.js';

/** A live table's items as of one instant: `pinned` settles once that instant is fixed. */
export interface PinnedReader extends BackupReader {
  readonly pinned: Promise<void>;
}

export interface TransferStorage<R> {
  /** False where nothing outlives the process (an in-memory server exports nothing). */
  readonly available: boolean;
  /**
   * Whether a job found IN_PROGRESS at start was this node's last process's (the embedded store:
   * one process per data directory). Over a shared engine another node may be running it.
   */
  readonly unfinishedAreOurs: boolean;
  readonly catalog: BackupRecords<R>;
  /**
   * The table's items as they are now, every write committed before in them, none after. The
   * data key is used during the call (the caller zeroes it).
   */
  readLive(source: LiveTableData): PinnedReader;
}

export class EmbeddedTransferStorage<R> implements TransferStorage<R> {
  readonly available: boolean;
  readonly unfinishedAreOurs = true;
  readonly catalog: BackupRecords<R>;

  constructor(dataDir: DataDir, root: RootOfTrust, durability: Durability) {
    this.available = !dataDir.inMemory;
    this.catalog = embeddedRecords<R>(dataDir, root, durability, TRANSFER_NAMES);
  }

  readLive(source: LiveTableData): PinnedReader {
    // A read transaction of its own on the table file: its first read fixed the snapshot.
    const { items, close } = openPinnedItems(source.file, source.dataKey);
    return { pinned: Promise.resolve(), read: groupsOf(items), close };
  }
}
