/**
 * Table lifecycle and open handles: the layer between DynamoDB operations and
 * storage. Operations ask for tables by account and name; this module keeps the
 * catalog, opens table files with keys from the keyring, and closes them.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import { type DataKeyScope, newDataKey, type TableKeyring } from '../encryption/table-keyring.js';
import type { Catalog, CatalogEntry } from '../storage/catalog.js';
import type { DataDir } from '../storage/data-dir.js';
import { TableFile, type TableStore } from '../storage/table-file.js';
import { resourceInUse, resourceNotFound } from './errors.js';
import { type TableDefinition, tableArn } from './table-definition.js';
import { type KeyAttributes, keyAttributes } from './table-schema.js';

export interface OpenTable {
  readonly definition: TableDefinition;
  readonly keys: KeyAttributes;
  readonly store: TableStore;
}

export type NewTable = Omit<TableDefinition, 'TableId' | 'TableArn' | 'CreationDateTime' | 'TableStatus'>;

const TABLE_PURPOSE = 'table';

export class TableManager {
  readonly #open = new Map<string, Promise<OpenTable>>();

  constructor(
    private readonly catalog: Catalog<TableDefinition>,
    private readonly dataDir: DataDir,
    private readonly keyring: TableKeyring,
    private readonly clock: Clock,
    readonly region: string,
  ) {}

  async create(account: string, table: NewTable): Promise<TableDefinition> {
    if (this.catalog.get(account, table.TableName)) {
      throw resourceInUse(`Table already exists: ${table.TableName}`);
    }
    const definition: TableDefinition = {
      ...table,
      TableId: randomUUID(),
      TableArn: tableArn(this.region, account, table.TableName),
      CreationDateTime: this.clock.now() / 1000,
      TableStatus: 'ACTIVE',
    };
    const dataKey = newDataKey();
    try {
      const wrappedKey = await this.keyring.wrapDataKey(this.#scope(definition), dataKey);
      // Someone may have created the same table while the key was being wrapped.
      if (this.catalog.get(account, table.TableName)) throw resourceInUse(`Table already exists: ${table.TableName}`);
      const store = TableFile.open(this.#file(definition.TableId), dataKey);
      this.catalog.put({ account, name: table.TableName, id: definition.TableId, definition, wrappedKey });
      this.#open.set(definition.TableId, Promise.resolve({ definition, keys: keysOf(definition), store }));
    } finally {
      dataKey.fill(0);
    }
    return definition;
  }

  /** The table's definition; ResourceNotFoundException when it does not exist. */
  describe(account: string, name: string): TableDefinition {
    return this.#entry(account, name).definition;
  }

  find(account: string, name: string): TableDefinition | undefined {
    return this.catalog.get(account, name)?.definition;
  }

  list(account: string, exclusiveStartName: string, limit: number): string[] {
    return this.catalog.list(account, exclusiveStartName, limit).map((e) => e.name);
  }

  /** Applies a change to the stored definition and returns the new one. */
  update(account: string, name: string, change: (definition: TableDefinition) => TableDefinition): TableDefinition {
    const entry = this.#entry(account, name);
    const definition = change(entry.definition);
    this.catalog.put({ ...entry, definition });
    const open = this.#open.get(entry.id);
    if (open)
      this.#open.set(
        entry.id,
        open.then((t) => ({ ...t, definition })),
      );
    return definition;
  }

  async delete(account: string, name: string): Promise<TableDefinition> {
    const entry = this.#entry(account, name);
    const open = this.#open.get(entry.id);
    this.#open.delete(entry.id);
    this.catalog.delete(account, name);
    if (open) (await open).store.close();
    this.#removeFiles(entry.id);
    return entry.definition;
  }

  /**
   * The open table. Data-plane operations report a missing table with DynamoDB's bare
   * `Requested resource not found`; control-plane ones name the table.
   */
  async open(account: string, name: string, plane: 'data' | 'control' = 'data'): Promise<OpenTable> {
    const entry = this.#entry(account, name, plane);
    let table = this.#open.get(entry.id);
    if (!table) {
      table = this.#openEntry(entry);
      this.#open.set(entry.id, table);
      table.catch(() => this.#open.delete(entry.id));
    }
    return table;
  }

  async close(): Promise<void> {
    const tables = [...this.#open.values()];
    this.#open.clear();
    for (const table of await Promise.allSettled(tables)) {
      if (table.status === 'fulfilled') table.value.store.close();
    }
    this.catalog.close();
  }

  async #openEntry(entry: CatalogEntry<TableDefinition>): Promise<OpenTable> {
    const dataKey = await this.keyring.unwrapDataKey(this.#scope(entry.definition), entry.wrappedKey);
    try {
      return {
        definition: entry.definition,
        keys: keysOf(entry.definition),
        store: TableFile.open(this.#file(entry.id), dataKey),
      };
    } finally {
      dataKey.fill(0);
    }
  }

  #entry(account: string, name: string, plane: 'data' | 'control' = 'control'): CatalogEntry<TableDefinition> {
    const entry = this.catalog.get(account, name);
    if (!entry) {
      throw plane === 'data'
        ? resourceNotFound()
        : resourceNotFound(`Requested resource not found: Table: ${name} not found`);
    }
    return entry;
  }

  #scope(definition: TableDefinition): DataKeyScope {
    return { tableArn: definition.TableArn, dataKeyId: definition.TableId, purpose: TABLE_PURPOSE };
  }

  #file(id: string): string {
    return this.dataDir.file('tables', `${id}.db`);
  }

  #removeFiles(id: string): void {
    if (this.dataDir.inMemory) return;
    const file = this.#file(id);
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  }
}

const keysOf = (definition: TableDefinition): KeyAttributes =>
  keyAttributes(definition.KeySchema, definition.AttributeDefinitions);
