/** The engine backend: tables' rows and the catalog in a PostgreSQL-compatible engine. */
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type { StorageBackend, UnitKind } from '../backend.js';
import type { TableStore } from '../table-file.js';
import { Engine, type EngineOptions } from './engine.js';
import { PgCatalog } from './pg-catalog.js';
import { PgTableStore } from './pg-table-store.js';
import { RowSeal } from './row-seal.js';
import { currentUnit } from './unit-of-work.js';

/** Counting needs no key: a store whose seal is never used. */
const NO_KEY = Buffer.alloc(32);

export class EngineBackend implements StorageBackend {
  readonly kind = 'engine';
  readonly engine: Engine;

  private constructor(engine: Engine) {
    this.engine = engine;
  }

  static async open(options: EngineOptions): Promise<EngineBackend> {
    return new EngineBackend(await Engine.open(options));
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

  async close(): Promise<void> {
    await this.engine.close();
  }
}
