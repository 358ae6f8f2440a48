/** The engine backend: tables' rows and the catalog in a PostgreSQL-compatible engine. */

import type { Clock } from '../../core/clock.js';
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type { StorageBackend, UnitKind } from '../backend.js';
import type { BackupStorage } from '../backup-storage.js';
import type { PitrSnapshotStorage } from '../pitr-snapshots.js';
import type { TableStore } from '../table-file.js';
import type { TransferStorage } from '../transfer-storage.js';
import { Engine, type EngineOptions } from './engine.js';
import { PgBackupStorage } from './pg-backups.js';
import { PgCatalog } from './pg-catalog.js';
import { PgKeyStore } from './pg-key-store.js';
import { PgPitrSnapshots } from './pg-pitr.js';
import { PgTableStore } from './pg-table-store.js';
import { PgTrailStore, type PgTrailStoreOptions } from './pg-trail-store.js';
import { pgTransferStorage } from './pg-transfers.js';
import { RowSeal } from './row-seal.js';
import { currentUnit } from './unit-of-work.js';

/** Counting needs no key: a store whose seal is never used. */
const NO_KEY = Buffer.alloc(32);

/** Connections of the KMS and the audit trail (a pool of their own, see `services`). */
const SERVICE_POOL_SIZE = 8;

export class EngineBackend implements StorageBackend {
  readonly kind = 'engine';
  readonly engine: Engine;
  /**
   * The KMS key store's and the audit trail's connections. A pool apart from the tables': a
   * request's unit holds a connection while it calls KMS (a table key), and KMS units waiting
   * for that same pool would deadlock it once every connection is held so.
   */
  readonly services: Engine;

  private constructor(engine: Engine, services: Engine) {
    this.engine = engine;
    this.services = services;
  }

  static async open(options: EngineOptions): Promise<EngineBackend> {
    const engine = await Engine.open(options);
    try {
      return new EngineBackend(engine, await Engine.open({ ...options, poolSize: SERVICE_POOL_SIZE }));
    } catch (error) {
      await engine.close();
      throw error;
    }
  }

  /** The built-in KMS's key store in the engine (used only inside `runService` units). */
  keyStore(root: RootOfTrust): PgKeyStore {
    return new PgKeyStore(this.services, root);
  }

  /** Runs one KMS call's work as a SERIALIZABLE unit of work of its own (nested in a request's, if any). */
  runService<T>(work: () => Promise<T>): Promise<T> {
    return this.services.run(work, 'write');
  }

  /** The audit trail in the engine. */
  trailStore(
    root: RootOfTrust,
    clock: Clock,
    options: Omit<PgTrailStoreOptions, 'engine' | 'root' | 'clock'> = {},
  ): PgTrailStore {
    return new PgTrailStore({ engine: this.services, root, clock, ...options });
  }

  /** Backups and their catalog in the engine (any node lists and restores the same backups). */
  backupStorage<R>(root: RootOfTrust): BackupStorage<R> {
    return new PgBackupStorage<R>(this.engine, this.services, root);
  }

  /** Exports' and imports' records in the engine (any node describes and lists the same jobs). */
  transferStorage<R>(root: RootOfTrust): TransferStorage<R> {
    return pgTransferStorage<R>(this.engine, this.services, root);
  }

  /** Point-in-time recovery's snapshots in the engine (any node restores from the same history). */
  pitrSnapshots(): PitrSnapshotStorage {
    return new PgPitrSnapshots(this.engine);
  }

  catalog<D>(root: RootOfTrust): PgCatalog<D> {
    return new PgCatalog<D>(this.engine, root);
  }

  openTable(id: string, _file: string, dataKey: Buffer): TableStore {
    return new PgTableStore(this.engine, id, new RowSeal(dataKey, id));
  }

  removeTable(id: string): void {
    currentUnit().dropTables.push(id);
  }

  run<T>(fn: () => Promise<T>, kind: UnitKind): Promise<T> {
    return this.engine.run(fn, kind);
  }

  countsOf(id: string): Pick<TableStore, 'stats' | 'spaceStats'> {
    return new PgTableStore(this.engine, id, new RowSeal(NO_KEY, id));
  }

  /** Closes the tables' connections (the table layer's close); the services' stay for the KMS and trail. */
  async close(): Promise<void> {
    await this.engine.close();
  }

  /** After the KMS and the audit trail have closed. */
  async closeServices(): Promise<void> {
    await this.services.close();
  }
}
