/**
 * Exports and imports in the engine, shared by every node: their records are sealed rows of
 * `transfer_catalog` (as the backups' of `backup_catalog`, under keys of their own derived from
 * the root of trust), and an export of the table as it is now reads its item rows in one
 * REPEATABLE READ transaction (PinnedRows), opened with the table's data key, in pages.
 */
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type { LiveTableData } from '../backup-storage.js';
import type { PinnedReader, TransferStorage } from '../transfer-storage.js';
import type { Engine } from './engine.js';
import { liveItemRows, PgRecordCatalog } from './pg-backups.js';

export function pgTransferStorage<R>(engine: Engine, services: Engine, root: RootOfTrust): TransferStorage<R> {
  return {
    available: true,
    // Another node may be running a job found IN_PROGRESS: its lease tells (dynamodb/exports).
    unfinishedAreOurs: false,
    catalog: new PgRecordCatalog<R>(services, root, {
      table: 'transfer_catalog',
      purpose: 'sealdb/engine-transfer-catalog',
    }),
    // On the tables' pool: an export's read is background work of the tables.
    readLive: (source: LiveTableData): PinnedReader => liveItemRows(engine, source),
  };
}
