/**
 * Where tables keep their rows: the embedded encrypted SQLite files (the default), or a
 * PostgreSQL-compatible engine shared by many nodes (storage/postgres). The table layer opens
 * stores, removes a table's data and runs each request through the backend; everything above
 * sees only TableStore and TableCatalog.
 */
import { rmSync } from 'node:fs';
import { COMMIT_RECORD_SUFFIX } from './commit-counter.js';
import { namingStore } from './damage.js';
import { Miss } from './postgres/unit-of-work.js';
import { segmentFolder } from './record-segments.js';

export {
  type Fence,
  FenceLost,
  fencedWork,
  inUnit,
  oncePerUnit,
  outsideUnit,
  unitIdentity,
  whenCommitted,
  whenRolledBack,
} from './postgres/unit-of-work.js';

import { TableFile, type TableFileOptions, type TableStore } from './table-file.js';

export type UnitKind = 'read' | 'write';

export interface StorageBackend {
  /** `embedded`: one encrypted file per table on this node; `engine`: rows in the shared engine. */
  readonly kind: 'embedded' | 'engine';
  /** Opens a table's store with its data key; the caller zeroes the key once this returns. */
  openTable(id: string, file: string, dataKey: Buffer, options: TableFileOptions): TableStore;
  /** Removes the data of a deleted table (its files, or its rows with the request's commit). */
  removeTable(id: string, file: string): void;
  /**
   * Runs a request (or a step of background work) against the stores: at once in the embedded
   * store; as one retried unit of work over the engine (storage/postgres/unit-of-work.ts).
   */
  run<T>(fn: () => Promise<T>, kind: UnitKind): Promise<T>;
  /** A table's live counts without its key (the engine counts rows; undefined when the file is closed). */
  countsOf?(id: string): Pick<TableStore, 'stats' | 'spaceStats'>;
  close(): Promise<void>;
}

/**
 * Whether an error is the engine's signal to fetch rows and run the unit again: code that
 * swallows errors (background work reporting them) must let it through.
 */
export const isUnitSignal = (error: unknown): boolean => error instanceof Miss;

export class EmbeddedBackend implements StorageBackend {
  readonly kind = 'embedded';

  constructor(private readonly inMemory: boolean) {}

  openTable(_id: string, file: string, dataKey: Buffer, options: TableFileOptions): TableStore {
    return namingStore(file, TableFile.open(file, dataKey, options));
  }

  removeTable(_id: string, file: string): void {
    if (this.inMemory) return;
    for (const suffix of ['', '-wal', '-shm', COMMIT_RECORD_SUFFIX, `${COMMIT_RECORD_SUFFIX}.tmp`]) {
      rmSync(`${file}${suffix}`, { force: true });
    }
    rmSync(segmentFolder(file), { recursive: true, force: true });
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async close(): Promise<void> {}
}
