/**
 * Exports and imports in the engine, shared by every node: their records are sealed rows of
 * `transfer_catalog` (as the backups' of `backup_catalog`, under keys of their own derived from
 * the root of trust), and an export of the table as it is now reads its item rows in one
 * REPEATABLE READ transaction (PinnedRows), opened with the table's data key, in pages.
 */
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type { BackupRecords, LiveTableData } from '../backup-storage.js';
import type { PinnedReader, TransferStorage } from '../transfer-storage.js';
import type { Engine } from './engine.js';
import { liveItemRows, PgRecordCatalog } from './pg-backups.js';

export class PgTransferStorage<R> implements TransferStorage<R> {
  readonly available = true;
  readonly unfinishedAreOurs = false;
  readonly catalog: BackupRecords<R>;
  /** The tables' pool: an export's read is background work of the tables. */
  readonly #engine: Engine;

  constructor(engine: Engine, services: Engine, root: RootOfTrust) {
    this.#engine = engine;
    this.catalog = new PgRecordCatalog<R>(services, root, {
      table: 'transfer_catalog',
      purpose: 'sealdb/engine-transfer-catalog',
    });
  }

  readLive(source: LiveTableData): PinnedReader {
    return liveItemRows(this.#engine, source);
  }
}
