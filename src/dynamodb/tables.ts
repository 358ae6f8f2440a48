/**
 * Table lifecycle, keys and open handles: the layer between DynamoDB operations
 * and storage. Operations ask for tables by account and name in the region of their
 * manager (`inRegion`: tables are per account and region, as in AWS); this module keeps
 * the catalog, gets each request's table key (per-connection cache → KMS),
 * opens table files with data keys unwrapped by the table key, switches keys,
 * and takes tables offline when their KMS key becomes unusable.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Clock } from '../core/clock.js';
import type { Scope } from '../core/scope.js';
import { type DataKeyScope, newDataKey, unwrapDataKey, wrapDataKey } from '../encryption/data-keys.js';
import { KeyAccessError } from '../encryption/key-access-error.js';
import { UnwrapError } from '../encryption/key-wrap.js';
import { TABLE_KEY_REFRESH_MS } from '../encryption/table-key-cache.js';
import type { KeyCaller, KeyChoice, TableKeyService, TableKeyTarget } from '../encryption/table-keys.js';
import type { AwsError } from '../http/aws-error.js';
import {
  EmbeddedBackend,
  oncePerUnit,
  type StorageBackend,
  type UnitKind,
  whenRolledBack,
} from '../storage/backend.js';
import type { CatalogEntry, TableCatalog } from '../storage/catalog.js';
import { asDamage, DamagedFileError, type DamagedFileKind, namingStore } from '../storage/damage.js';
import type { DataDir } from '../storage/data-dir.js';
import { WrongKeyError } from '../storage/encrypted-db.js';
import type { TableFileOptions, TableStore } from '../storage/table-file.js';
import { assertWalIntact } from '../storage/wal-check.js';
import { streamDeriver } from '../streams/deriver.js';
import { isRetired, RETIRED_PREFIX, retainedStreams, retiredExpired, retiredName } from '../streams/retired.js';
import type { ArchivalBackups, LentTable } from './backups/lent-table.js';
import { internalServerError, resourceInUse, resourceNotFound, tableExists } from './errors.js';
import { indexDeriver } from './indexes/entries.js';
import { indexSchemas, type TableIndexSchemas } from './indexes/schema.js';
import { DerivingStore, type WriteDeriver } from './item-changes/deriving-store.js';
import { kmsAccessDenied } from './kms-errors.js';
import { changeLogDeriver, changeLogOf } from './pitr/change-log.js';
import { type TableDefinition, type TableStatus, tableArn } from './table-definition.js';
import type { TableStats } from './table-description.js';
import { type KeyAttributes, keyAttributes } from './table-schema.js';

export interface OpenTable {
  readonly definition: TableDefinition;
  readonly keys: KeyAttributes;
  /** Makes the writes item changes imply (index entries) with every item write (the bare file when none do). */
  readonly store: TableStore;
  readonly indexes: TableIndexSchemas;
}

/** A table to create; its CreationDateTime is the caller's, so that all its timestamps share one clock reading. */
export type NewTable = Omit<TableDefinition, 'TableId' | 'TableArn' | 'TableStatus' | 'TableKey' | 'SseChanges'>;

export interface TableManagerOptions {
  readonly catalog: TableCatalog<TableDefinition>;
  readonly dataDir: DataDir;
  readonly keys: TableKeyService;
  readonly clock: Clock;
  /** The region of this manager; `inRegion` gives the managers of the others. */
  readonly region: string;
  /** How long a table may stay inaccessible before it is archived (DynamoDB: 7 days). */
  readonly archiveAfterMs?: number;
  /** How table files are checkpointed and made durable. */
  readonly storage?: TableFileOptions;
  /** Where the tables' rows live (default: the embedded encrypted files under dataDir). */
  readonly backend?: StorageBackend;
  /** Told once per file when damage to a table file or the catalog is found (a log line, a metric). */
  readonly onDamagedFile?: (error: DamagedFileError, kind: DamagedFileKind) => void;
}

/** Shared by the managers of all regions, as the files are. */
interface Damage {
  /** What every call on a table whose file is damaged answers, by table id. */
  readonly refusals: Map<string, AwsError>;
  /** The table of each file opened (or tried), to name it when damage is found there. */
  readonly tableOfFile: Map<string, { readonly id: string; readonly name: string }>;
  /** Files already reported: the operator is told once, not at every request. */
  readonly reported: Set<string>;
}

const TABLE_PURPOSE = 'table';
/** The store operations see for each open file, made for the definition it was made for. */
const derivingStores = new WeakMap<TableStore, { readonly definition: TableDefinition; readonly store: TableStore }>();
const DAY_MS = 24 * 60 * 60 * 1000;
/** Above every retired entry's name and below every table name (`$` follows `#`, precedes `-`). */
const RETIRED_END = '$';

export class TableManager {
  /** Open table files by table id (opening is synchronous: no half-open state to track); shared by all regions. */
  readonly #files: Map<string, TableStore>;
  /** The manager of each region, all sharing one catalog and the open files. */
  readonly #regions: Map<string, TableManager>;
  /** When the background check last proved each live table's KMS key (by table id; in memory only). */
  readonly #keyChecks: Map<string, number>;
  readonly #options: TableManagerOptions;
  readonly #catalog: TableCatalog<TableDefinition>;
  readonly #dataDir: DataDir;
  readonly #keys: TableKeyService;
  readonly #clock: Clock;
  readonly #archiveAfterMs: number;
  readonly #storage: TableFileOptions;
  readonly #backend: StorageBackend;
  readonly #damage: Damage;
  /** Makes the backup a table is archived into (src/dynamodb/backups); shared by all regions. */
  readonly #archival: { backups?: ArchivalBackups };
  readonly region: string;

  constructor(options: TableManagerOptions, sharedWith?: TableManager) {
    this.#options = options;
    this.#files = sharedWith ? sharedWith.#files : new Map();
    this.#regions = sharedWith ? sharedWith.#regions : new Map();
    this.#keyChecks = sharedWith ? sharedWith.#keyChecks : new Map();
    this.#archival = sharedWith ? sharedWith.#archival : {};
    this.#damage = sharedWith
      ? sharedWith.#damage
      : { refusals: new Map(), tableOfFile: new Map(), reported: new Set() };
    this.#regions.set(options.region, this);
    this.#catalog = options.catalog;
    this.#dataDir = options.dataDir;
    this.#keys = options.keys;
    this.#clock = options.clock;
    this.region = options.region;
    this.#archiveAfterMs = options.archiveAfterMs ?? 7 * DAY_MS;
    this.#storage = options.storage ?? {};
    this.#backend = options.backend ?? new EmbeddedBackend(options.dataDir.inMemory);
  }

  /**
   * Runs a request against the tables: directly over the embedded files; as one unit of work
   * (fetched, retried on conflicts, committed before it answers) over an engine.
   */
  run<T>(fn: () => Promise<T>, kind: UnitKind): Promise<T> {
    return this.#backend.run(fn, kind);
  }

  /** Whether tables live in a shared engine (many nodes) rather than in this node's files. */
  get sharedStorage(): boolean {
    return this.#backend.kind === 'engine';
  }

  /** The manager of a region's tables (the same table name in two regions is two tables). */
  inRegion(region: string): TableManager {
    return this.#regions.get(region) ?? new TableManager({ ...this.#options, region }, this);
  }

  /** `status` CREATING: a table whose data is still being put in (a restore), made ACTIVE by `update`. */
  async create(
    account: string,
    table: NewTable,
    choice: KeyChoice,
    caller: KeyCaller,
    status: TableStatus = 'ACTIVE',
  ): Promise<TableDefinition> {
    const scope = this.#scope(account);
    const existing = this.#catalog.get(scope, table.TableName);
    if (existing) throw tableExists(existing.definition);
    const id = randomUUID();
    const target: TableKeyTarget = {
      tableName: table.TableName,
      tableArn: tableArn(this.region, account, table.TableName),
      tableId: id,
      accountId: account,
      region: this.region,
    };
    const { record, tableKey } = await this.#keys.create(target, choice, caller, 1);
    const definition: TableDefinition = {
      ...table,
      TableId: id,
      TableArn: target.tableArn,
      TableStatus: status,
      TableKey: record,
      SseChanges: [],
    };
    const dataKey = newDataKey();
    try {
      const wrappedKey = wrapDataKey(tableKey, dataKey, dataKeyScope(definition));
      // Someone may have created the same table while KMS was being called.
      const raced = this.#catalog.get(scope, table.TableName);
      if (raced) {
        await this.#keys.retireGrant(target, record);
        throw tableExists(raced.definition);
      }
      // Damage its full page check finds later is told against this table.
      this.#damage.tableOfFile.set(this.#file(id), { id, name: table.TableName });
      const store = this.#backend.openTable(id, this.#file(id), dataKey, this.#storage);
      this.#catalog.put({ scope, name: table.TableName, id, definition, wrappedKey });
      this.#files.set(id, store);
      // GenerateDataKey has just proved the key: the first background check is due 5 minutes on.
      this.#keyChecks.set(id, this.#clock.now());
    } finally {
      dataKey.fill(0);
      tableKey.fill(0);
    }
    return definition;
  }

  /** The table's definition; ResourceNotFoundException naming it when it does not exist. */
  describe(account: string, name: string): TableDefinition {
    return this.#entry(account, name, 'control').definition;
  }

  find(account: string, name: string): TableDefinition | undefined {
    if (isRetired(name)) return undefined;
    return this.#catalog.get(this.#scope(account), name)?.definition;
  }

  list(account: string, exclusiveStartName: string, limit: number): string[] {
    // Retired entries (deleted tables kept for their streams) sort before every table name: `#`
    // is below each character a table name may have. Started past them, and filtered anyway.
    const start = exclusiveStartName < RETIRED_END ? RETIRED_END : exclusiveStartName;
    return this.#catalog
      .list(this.#scope(account), start, limit)
      .map((e) => e.name)
      .filter((name) => !isRetired(name));
  }

  /** Live counts when the table file is open; otherwise those of when it was last open. */
  stats(definition: TableDefinition): TableStats {
    const file = this.#files.get(definition.TableId) ?? this.#backend.countsOf?.(definition.TableId);
    return (file && statsOf(file, definition)) ?? definition.LastKnownStats ?? { itemCount: 0, sizeBytes: 0 };
  }

  /** Applies a change to the stored definition and returns the new one. */
  update(account: string, name: string, change: (definition: TableDefinition) => TableDefinition): TableDefinition {
    const entry = this.#entry(account, name, 'control');
    const definition = change(entry.definition);
    this.#catalog.put({ ...entry, definition });
    return definition;
  }

  /**
   * The open table for a data-plane request. Its table key comes from the caller's
   * connection cache or one KMS Decrypt as the caller; a key that has become unusable
   * takes the table offline (INACCESSIBLE_ENCRYPTION_CREDENTIALS).
   */
  async open(account: string, name: string, caller: KeyCaller): Promise<OpenTable> {
    const entry = this.#entry(account, name, 'data');
    const definition = entry.definition;
    if (definition.InaccessibleSince !== undefined) throw kmsAccessDenied(inaccessibleReason(definition));
    const tableKey = await this.#callerTableKey(entry, caller);
    // The definition may have changed while KMS answered (an index created or deleted): writes
    // must maintain the indexes of the current one.
    const latest = this.#catalog.get(entry.scope, entry.name);
    if (latest?.id !== entry.id) throw resourceNotFound();
    if (latest.definition.InaccessibleSince !== undefined) {
      throw kmsAccessDenied(inaccessibleReason(latest.definition));
    }
    return this.#openTable(latest.definition, this.#fileFor(latest, tableKey));
  }

  /**
   * The table as it is at this moment, for a write about to commit: an operation that opened it
   * before an await (KMS, another table's open, recovery) may hold a definition an UpdateTable has
   * since changed (a GSI created or deleted), and its write must maintain the indexes of the
   * definition current at its commit, or a backfill that has already passed its key would never
   * index it. Synchronous: nothing may await between this and the write.
   */
  current(account: string, name: string, table: OpenTable): OpenTable {
    const entry = this.#entry(account, name, 'data');
    if (entry.id !== table.definition.TableId) throw resourceNotFound();
    if (entry.definition === table.definition) return table;
    if (entry.definition.InaccessibleSince !== undefined) throw kmsAccessDenied(inaccessibleReason(entry.definition));
    const file = this.#files.get(entry.id);
    // Closed since it was opened: only a deleted table or a closing server gets here.
    if (!file) throw resourceNotFound();
    return this.#openTable(entry.definition, file);
  }

  /**
   * The open table for DynamoDB's own background work (index backfill), with no client request:
   * the file already open, or opened with the table key decrypted as the service (audited as
   * AWSService, as the background key check is). Undefined while the table is inaccessible or its
   * key cannot be used now (the work waits); ResourceNotFoundException once it is gone.
   */
  async openAsService(account: string, name: string): Promise<OpenTable | undefined> {
    return this.#openAsService(this.#entry(account, name, 'control'));
  }

  /**
   * Opens a table for TTL expiry, which no client request drives (see openAsService). Undefined
   * when the table is gone or was replaced (another id), is inaccessible or damaged, or its key
   * cannot be used right now: the sweeper skips it (the background key check, not this, takes
   * tables offline).
   */
  async openForTtl(scope: Scope, name: string, tableId: string): Promise<OpenTable | undefined> {
    const entry = this.#catalog.get(scope, name);
    if (entry?.id !== tableId || this.#damage.refusals.has(entry.id)) return undefined;
    return this.#openAsService(entry);
  }

  /**
   * The table key for a caller: from its connection cache or one KMS Decrypt as the caller; a key
   * that has become unusable takes the table offline (and the call gets DynamoDB's KMS error).
   */
  async #callerTableKey(entry: CatalogEntry<TableDefinition>, caller: KeyCaller): Promise<Buffer> {
    try {
      return await this.#keys.tableKey(target(entry), entry.definition.TableKey, caller);
    } catch (error) {
      if (!(error instanceof KeyAccessError)) throw error;
      await this.#onKeyFailure(entry, error);
      throw kmsAccessDenied(error);
    }
  }

  /** The table key, decrypted as DynamoDB itself; undefined while KMS refuses it (background work waits). */
  async #serviceTableKey(entry: CatalogEntry<TableDefinition>): Promise<Buffer | undefined> {
    try {
      return await this.#keys.decryptAsService(target(entry), entry.definition.TableKey);
    } catch (error) {
      if (!(error instanceof KeyAccessError)) throw error;
      return undefined;
    }
  }

  async #openAsService(entry: CatalogEntry<TableDefinition>): Promise<OpenTable | undefined> {
    if (entry.definition.InaccessibleSince !== undefined) return undefined;
    const open = this.#files.get(entry.id);
    if (open) return this.#openTable(entry.definition, open);
    const tableKey = await this.#serviceTableKey(entry);
    if (!tableKey) return undefined;
    try {
      // Deleted, taken offline or changed while KMS answered: only the current table is opened.
      const latest = this.#catalog.get(entry.scope, entry.name);
      if (latest?.id !== entry.id || latest.definition.InaccessibleSince !== undefined) return undefined;
      return this.#openTable(latest.definition, this.#fileFor(latest, tableKey));
    } finally {
      tableKey.fill(0);
    }
  }

  /** Every table of every account and region, for background work (TTL, index jobs) to pick those it acts on. */
  allTables(): { readonly scope: Scope; readonly name: string; readonly definition: TableDefinition }[] {
    return this.#liveEntries().map(({ scope, name, definition }) => ({ scope, name, definition }));
  }

  /** The deleted tables of an account in this region kept for their streams (of one table name, if given). */
  retired(account: string, tableName?: string): { readonly name: string; readonly definition: TableDefinition }[] {
    const scope = this.#scope(account);
    const found: { name: string; definition: TableDefinition }[] = [];
    let after = RETIRED_PREFIX;
    for (;;) {
      const page = this.#catalog.list(scope, after, 100);
      for (const entry of page) {
        if (!isRetired(entry.name)) return found;
        if (tableName === undefined || entry.definition.TableName === tableName) {
          found.push({ name: entry.name, definition: entry.definition });
        }
      }
      if (page.length < 100) return found;
      after = (page.at(-1) as CatalogEntry<TableDefinition>).name;
    }
  }

  /**
   * A deleted table's file, for reading its streams as the caller: the table key from the
   * caller's connection cache or one KMS Decrypt as the caller, so an unusable key makes the
   * stream unreadable with the table's KMS error. Nothing is taken offline: the table is gone.
   */
  async openRetired(account: string, catalogName: string, caller: KeyCaller): Promise<OpenTable> {
    const entry = isRetired(catalogName) ? this.#catalog.get(this.#scope(account), catalogName) : undefined;
    if (!entry) throw resourceNotFound();
    const refusal = this.#damage.refusals.get(entry.id);
    if (refusal) throw refusal;
    let tableKey: Buffer;
    try {
      tableKey = await this.#keys.tableKey(target(entry), entry.definition.TableKey, caller);
    } catch (error) {
      if (error instanceof KeyAccessError) throw kmsAccessDenied(error);
      throw error;
    }
    const latest = this.#catalog.get(entry.scope, catalogName);
    if (latest?.id !== entry.id) throw resourceNotFound();
    return this.#openTable(latest.definition, this.#fileFor(latest, tableKey));
  }

  /**
   * Removes the deleted tables whose streams are no longer readable (24 hours after the delete at
   * the latest): entry, file and the table key's grant, as DeleteTable does for a table without
   * streams. Driven by the catalog, so it also runs for files not open and after a restart.
   */
  async purgeRetired(now: number): Promise<number> {
    let purged = 0;
    for (const entry of this.#catalog.all()) {
      if (!isRetired(entry.name) || !retiredExpired(entry.definition, now)) continue;
      await this.#remove(entry);
      purged++;
    }
    return purged;
  }

  /**
   * Changes the definition of a catalog entry (a table or a retired one) if it still holds the
   * same table: background work that must not touch a table created since under the same name.
   */
  updateEntry(scope: Scope, name: string, id: string, change: (definition: TableDefinition) => TableDefinition): void {
    const entry = this.#catalog.get(scope, name);
    if (entry?.id !== id) return;
    this.#catalog.put({ ...entry, definition: change(entry.definition) });
  }

  /**
   * Lends a backup (src/dynamodb/backups) the table's file and keys, with every write made so far
   * committed. `use` runs synchronously (the cached table key is only valid until the next await)
   * and must copy what it keeps; the data key is zeroed when it returns.
   */
  async lend<T>(account: string, name: string, caller: KeyCaller, use: (table: LentTable) => T): Promise<T> {
    const entry = this.#entry(account, name, 'control');
    const definition = entry.definition;
    if (definition.InaccessibleSince !== undefined) throw kmsAccessDenied(inaccessibleReason(definition));
    const tableKey = await this.#callerTableKey(entry, caller);
    const latest = this.#entry(account, name, 'control');
    if (latest.id !== entry.id || latest.definition.TableKey.generation !== definition.TableKey.generation) {
      throw resourceInUse(`Table is being updated: ${name}`);
    }
    const store = this.#fileFor(entry, tableKey);
    store.commitNow();
    const dataKey = unwrapDataKey(tableKey, entry.wrappedKey, dataKeyScope(definition));
    try {
      return use({
        definition,
        target: target(entry),
        file: this.#file(entry.id),
        stats: statsOf(store, definition),
        tableKey,
        dataKey,
      });
    } finally {
      dataKey.fill(0);
    }
  }

  /**
   * `lend` for DynamoDB's own background work (PITR snapshots), with no client request: the table
   * key decrypted as the service (audited as AWSService). Undefined when the table is gone or was
   * replaced (another id), is inaccessible or damaged, or its key cannot be used now.
   */
  async lendAsService<T>(
    scope: Scope,
    name: string,
    tableId: string,
    use: (table: LentTable) => T,
  ): Promise<T | undefined> {
    const entry = this.#catalog.get(scope, name);
    if (entry?.id !== tableId || this.#damage.refusals.has(entry.id)) return undefined;
    if (entry.definition.InaccessibleSince !== undefined) return undefined;
    const tableKey = await this.#serviceTableKey(entry);
    if (!tableKey) return undefined;
    try {
      const latest = this.#catalog.get(scope, name);
      if (
        latest?.id !== tableId ||
        latest.definition.InaccessibleSince !== undefined ||
        latest.definition.TableKey.generation !== entry.definition.TableKey.generation
      ) {
        return undefined;
      }
      const store = this.#fileFor(latest, tableKey);
      store.commitNow();
      const dataKey = unwrapDataKey(tableKey, latest.wrappedKey, dataKeyScope(latest.definition));
      try {
        return use({
          definition: latest.definition,
          target: target(latest),
          file: this.#file(latest.id),
          stats: statsOf(store, latest.definition),
          tableKey,
          dataKey,
        });
      } finally {
        dataKey.fill(0);
      }
    } finally {
      tableKey.fill(0);
    }
  }

  /** Set once by the backup manager: archival then makes a backup of each table it archives. */
  set archivalBackups(backups: ArchivalBackups) {
    this.#archival.backups = backups;
  }

  /**
   * Moves a live table to another key: a new table key under the new KMS key, the data key
   * rewrapped and swapped in the catalog in one write, the old grant retired. No data is
   * rewritten, so this takes the same time at any table size.
   */
  async switchKey(account: string, name: string, choice: KeyChoice, caller: KeyCaller): Promise<TableDefinition> {
    const entry = this.#entry(account, name, 'control');
    const current = entry.definition;
    const table = target(entry);
    let oldKey: Buffer;
    try {
      oldKey = await this.#keys.tableKey(table, current.TableKey, caller);
    } catch (error) {
      if (error instanceof KeyAccessError) throw kmsAccessDenied(error);
      throw error;
    }
    const dataKey = unwrapDataKey(oldKey, entry.wrappedKey, dataKeyScope(current));
    try {
      // Once per request: over the engine a run again after a fetch takes no second grant (only
      // the last run's would be kept, and retired when the table leaves the key).
      const { record, wrappedKey } = await oncePerUnit(async () => {
        const made = await this.#keys.create(table, choice, caller, current.TableKey.generation + 1);
        try {
          return { record: made.record, wrappedKey: wrapDataKey(made.tableKey, dataKey, dataKeyScope(current)) };
        } finally {
          made.tableKey.fill(0);
        }
      });
      const latest = this.#entry(account, name, 'control').definition;
      const { PreviousKmsKeyArn: _, ...rest } = latest;
      const definition: TableDefinition = {
        ...rest,
        TableKey: record,
        SseChanges: [...latest.SseChanges.filter((t) => this.#clock.now() - t < DAY_MS), this.#clock.now()],
        // Shown while the switch is reported, so a move to the owned key still names the key left.
        ...(current.TableKey.kmsKeyArn ? { PreviousKmsKeyArn: current.TableKey.kmsKeyArn } : {}),
      };
      this.#catalog.put({ ...entry, definition, wrappedKey });
      this.#keys.evictTable(current.TableId);
      this.#keyChecks.set(current.TableId, this.#clock.now());
      await oncePerUnit(() => this.#keys.retireGrant(table, current.TableKey));
      return definition;
    } finally {
      dataKey.fill(0);
    }
  }

  async delete(account: string, name: string): Promise<TableDefinition> {
    const entry = this.#entry(account, name, 'control');
    const kept = retainedStreams(entry.definition, this.#clock.now());
    if (kept) {
      // Re-filed, file and key kept, for its streams (streams/retired.ts). The old name is freed
      // first (the id is unique in the catalog); a crash between the two leaves an orphan file, never a clash.
      this.#catalog.delete(entry.scope, name);
      this.#catalog.put({ ...entry, name: retiredName(entry.id), definition: { ...entry.definition, Streams: kept } });
      this.#keyChecks.delete(entry.id);
      return entry.definition;
    }
    await this.#remove(entry);
    return entry.definition;
  }

  /** Drops this node's expired cached table keys (every node: each keeps its own cache). */
  evictExpiredKeys(): void {
    this.#keys.evictExpired();
  }

  async #remove(entry: CatalogEntry<TableDefinition>): Promise<void> {
    const name = entry.name;
    this.#closeFile(entry.id);
    this.#catalog.delete(entry.scope, name);
    this.#keys.evictTable(entry.id);
    this.#backend.removeTable(entry.id, this.#file(entry.id));
    await this.#keys.retireGrant(target(entry), entry.definition.TableKey);
  }

  /**
   * The background check: notices when the key of a live table has become unusable (even with no
   * traffic), brings inaccessible tables back when their key is usable again, archives those
   * inaccessible for 7 days. Over engine storage, on the one node holding its lease.
   */
  async sweep(): Promise<void> {
    const now = this.#clock.now();
    // A deleted table kept for its streams is neither checked, restored nor archived: its reads
    // check the caller's key themselves (openRetired).
    const entries = this.#liveEntries();
    const live = new Set(entries.map((e) => e.id));
    for (const id of this.#keyChecks.keys()) if (!live.has(id)) this.#keyChecks.delete(id);
    for (const entry of entries) {
      const definition = entry.definition;
      if (definition.InaccessibleSince === undefined) {
        await this.#checkLiveKey(entry, now);
        continue;
      }
      // Archived tables stay archived.
      if (definition.TableStatus === 'ARCHIVED') continue;
      if (definition.TableStatus === 'ARCHIVING') {
        this.#catalog.put({ ...entry, definition: { ...definition, TableStatus: 'ARCHIVED' } });
        continue;
      }
      try {
        const key = await this.#keys.decryptAsService(target(entry), definition.TableKey);
        key.fill(0);
        const restored: TableDefinition = { ...definition, TableStatus: 'ACTIVE' };
        delete restored.InaccessibleSince;
        delete restored.InaccessibleReason;
        delete restored.KeyDestroyed;
        this.#catalog.put({ ...entry, definition: restored });
      } catch (error) {
        if (!(error instanceof KeyAccessError)) throw error;
        if (now - definition.InaccessibleSince >= this.#archiveAfterMs) {
          // The file as it is, under its own data key: the key that wraps it cannot be used now.
          // Counted first (over the engine a count is a fetch, which runs the sweep again), then
          // archived once per sweep: a run again must not archive twice.
          const stats = this.stats(definition);
          const archival = this.#archival.backups;
          const backupArn = await oncePerUnit(async () =>
            archival?.archive({
              definition,
              target: target(entry),
              file: this.#file(entry.id),
              wrappedKey: entry.wrappedKey,
              dataKeyScope: dataKeyScope(definition),
              stats,
            }),
          );
          this.#catalog.put({
            ...entry,
            definition: {
              ...definition,
              TableStatus: 'ARCHIVING',
              ArchivedAt: now,
              ...(backupArn ? { ArchivalBackupArn: backupArn } : {}),
            },
          });
        } else if (error.keyDestroyed && !definition.KeyDestroyed) {
          this.#catalog.put({
            ...entry,
            definition: { ...definition, KeyDestroyed: true, InaccessibleReason: reasonOf(error) },
          });
        }
      }
    }
  }

  /** The live tables whose files are open, with them (background work on table files; no key is fetched). */
  /** Retired entries (deleted tables kept for their streams) too: the stream trimmer trims them. */
  openTables(): {
    readonly scope: Scope;
    readonly name: string;
    readonly definition: TableDefinition;
    readonly store: TableStore;
  }[] {
    return this.#catalog.all().flatMap(({ scope, name, id, definition }) => {
      const store = this.#files.get(id);
      return store && !this.#damage.refusals.has(id) ? [{ scope, name, definition, store }] : [];
    });
  }

  /** Resolves once every write made so far, in any table, is committed (see TableStore.durable). */
  async durable(): Promise<void> {
    for (const file of [...this.#files.values()]) await file.durable();
  }

  /** Every table's key type and status, for metrics. */
  summaries(): { sseType: string; status: string }[] {
    try {
      return this.#liveEntries().map((e) => ({
        sseType: e.definition.TableKey.kind,
        status: e.definition.TableStatus,
      }));
    } catch (error) {
      if (!(error instanceof DamagedFileError)) throw error;
      this.damaged(error);
      return [];
    }
  }

  /**
   * The answer to a request that met a damaged file: a damaged table file takes only its table
   * out of service (every later call on it gets the same answer; other tables keep serving);
   * the operator is told once per file. Server-side damage, not a client mistake: a 500, as
   * DynamoDB answers its own failures, but naming the table and the file instead of DynamoDB's
   * bare "Internal server error".
   */
  damaged(error: DamagedFileError): AwsError {
    if (error.file === this.#catalog.file) {
      this.#report(error, 'catalog');
      return internalServerError(
        `The table catalog cannot be read: ${error.message}. Stop sealdb and restore ${error.file} from a backup of the data directory`,
      );
    }
    const table = this.#damage.tableOfFile.get(error.file);
    if (!table) return internalServerError(error.message);
    const known = this.#damage.refusals.get(table.id);
    if (known) return known;
    const refusal = internalServerError(
      `Table ${table.name} cannot be served: ${error.message}` +
        (error.message.includes('from a backup') ? '' : '. Restore it from a backup of the data directory'),
    );
    // No request reaches the file again (its pages could answer with part of the table). It stays
    // open until shutdown: writes of this event-loop turn still commit, or fail, before they are answered.
    this.#damage.refusals.set(table.id, refusal);
    this.#report(error, 'table');
    return refusal;
  }

  /**
   * After a crash the catalog still holds the counts of the last clean stop. A table whose log
   * is still there was open when the process died: its log is checked now, and its file opened
   * with DynamoDB's own access to the key, so that DescribeTable shows the counts the file holds
   * (they are kept in the same SQLite transaction as every write, so recovery restores them
   * exactly). A table whose key cannot be used now shows its last known counts until it opens.
   */
  async recover(): Promise<void> {
    // The engine commits each unit whole: there is no log of an interrupted file to settle.
    if (this.#dataDir.inMemory || this.sharedStorage) return;
    let entries: CatalogEntry<TableDefinition>[];
    try {
      entries = this.#catalog.all();
    } catch (error) {
      if (!(error instanceof DamagedFileError)) throw error;
      this.damaged(error);
      return;
    }
    for (const entry of entries) {
      const path = this.#file(entry.id);
      const definition = entry.definition;
      if (!existsSync(`${path}-wal`) || this.#files.has(entry.id)) continue;
      this.#damage.tableOfFile.set(path, { id: entry.id, name: entry.name });
      try {
        const tableKey =
          definition.InaccessibleSince === undefined
            ? await this.#keys.decryptAsService(target(entry), definition.TableKey).catch((error: unknown) => {
                if (error instanceof KeyAccessError) return undefined;
                throw error;
              })
            : undefined;
        if (!tableKey) {
          // Not opened now, but a damaged log is reported now rather than when the key is back.
          assertWalIntact(path);
          continue;
        }
        try {
          this.#fileFor(entry, tableKey);
        } finally {
          tableKey.fill(0);
        }
      } catch (error) {
        if (!(error instanceof DamagedFileError)) throw error;
        this.damaged(error);
      }
    }
  }

  onConnectionClosed(connectionId: number): void {
    this.#keys.evictConnection(connectionId);
  }

  async close(): Promise<void> {
    if (this.sharedStorage) {
      // Counts are live in the engine: nothing to keep for when the table is closed.
      for (const id of [...this.#files.keys()]) this.#files.get(id)?.close();
      this.#files.clear();
      this.#catalog.close();
      await this.#backend.close();
      return;
    }
    let entries: CatalogEntry<TableDefinition>[] = [];
    try {
      entries = this.#catalog.all();
    } catch (error) {
      if (!(error instanceof DamagedFileError)) throw error;
    }
    for (const entry of entries) {
      const stats = this.#closeFile(entry.id, entry.definition);
      if (stats) this.#catalog.put({ ...entry, definition: { ...entry.definition, LastKnownStats: stats } });
    }
    // Those whose catalog rows could not be read are still closed cleanly.
    for (const id of [...this.#files.keys()]) this.#closeFile(id);
    this.#catalog.close();
  }

  /**
   * DynamoDB re-checks a table's KMS key in the background, so a table with no traffic also goes
   * inaccessible when its key is disabled, scheduled for deletion or its grant revoked
   * (dynamodb-sse.md §2, §3.3). One Decrypt of the table key as DynamoDB itself (audited as
   * `AWSService`, invokedBy dynamodb.amazonaws.com, with the table's encryption context) per
   * table per refresh interval: the KMS calls stay bounded whatever the number of sweeps.
   */
  async #checkLiveKey(entry: CatalogEntry<TableDefinition>, now: number): Promise<void> {
    const definition = entry.definition;
    // The owned key is the service's own: nothing an account does can make it unusable.
    if (definition.TableStatus !== 'ACTIVE' || definition.TableKey.kind === 'OWNED') return;
    const last = this.#keyChecks.get(entry.id);
    if (last !== undefined && now - last < TABLE_KEY_REFRESH_MS) return;
    this.#keyChecks.set(entry.id, now);
    try {
      (await this.#keys.decryptAsService(target(entry), definition.TableKey)).fill(0);
    } catch (error) {
      if (!(error instanceof KeyAccessError)) throw error;
      // A KMS fault of its own (internal error, timeout) says nothing about the key: keep serving.
      if (!error.definitive && error.kmsCode !== 'AccessDeniedException') return;
      const latest = this.#catalog.get(entry.scope, entry.name);
      // A key switch or a new table of that name while KMS answered: the failure is not theirs.
      if (latest?.id !== entry.id || latest.definition.TableKey.generation !== definition.TableKey.generation) return;
      this.#markInaccessible(latest, error);
    }
  }

  #report(error: DamagedFileError, kind: DamagedFileKind): void {
    if (this.#damage.reported.has(error.file)) return;
    this.#damage.reported.add(error.file);
    this.#options.onDamagedFile?.(error, kind);
  }

  async #onKeyFailure(entry: CatalogEntry<TableDefinition>, error: KeyAccessError): Promise<void> {
    let failure: KeyAccessError | undefined = error.definitive ? error : undefined;
    if (!failure) {
      // Only this caller may be denied: the table goes offline only if DynamoDB itself lost the key.
      try {
        (await this.#keys.decryptAsService(target(entry), entry.definition.TableKey)).fill(0);
      } catch (serviceError) {
        if (!(serviceError instanceof KeyAccessError)) throw serviceError;
        // An external KMS out of reach says nothing about the key: the table stays, the request fails.
        if (!serviceError.transient) failure = serviceError;
      }
    }
    if (failure) this.#markInaccessible(entry, failure);
  }

  #markInaccessible(entry: CatalogEntry<TableDefinition>, error: KeyAccessError, again = true): void {
    const latest = this.#catalog.get(entry.scope, entry.name);
    if (!latest || latest.id !== entry.id || latest.definition.InaccessibleSince !== undefined) return;
    const stats = this.#closeFile(entry.id, latest.definition);
    this.#keys.evictTable(entry.id);
    const definition: TableDefinition = {
      ...latest.definition,
      ...(stats ? { LastKnownStats: stats } : {}),
      TableStatus: 'INACCESSIBLE_ENCRYPTION_CREDENTIALS',
      InaccessibleSince: this.#clock.now(),
      InaccessibleReason: reasonOf(error),
      ...(error.keyDestroyed ? { KeyDestroyed: true } : {}),
    };
    this.#catalog.put({ ...latest, definition });
    // Over the engine the request that found the key unusable fails, and its unit rolls this
    // mark back with it: it is made again in a unit of its own before the error is answered. Left
    // unmade (the engine failed too), the next request that finds the key unusable makes it.
    if (again && this.sharedStorage) {
      whenRolledBack(() =>
        this.run(async () => this.#markInaccessible(entry, error, false), 'write').catch(() => undefined),
      );
    }
  }

  #fileFor(entry: CatalogEntry<TableDefinition>, tableKey: Buffer): TableStore {
    let file = this.#files.get(entry.id);
    if (!file) {
      // Unwrapped synchronously: the cached table key is only valid until the next await.
      let dataKey: Buffer;
      try {
        dataKey = unwrapDataKey(tableKey, entry.wrappedKey, dataKeyScope(entry.definition));
      } catch (error) {
        if (!(error instanceof UnwrapError)) throw error;
        // Only a tampered catalog gets here: never open the file with a key that does not authenticate.
        throw internalServerError(`The data key of table ${entry.name} does not authenticate under its table key`);
      }
      const path = this.#file(entry.id);
      this.#damage.tableOfFile.set(path, { id: entry.id, name: entry.name });
      try {
        const store = this.#backend.openTable(entry.id, path, dataKey, this.#storage);
        file = this.sharedStorage ? store : namingStore(path, store);
      } catch (error) {
        throw openFailure(path, error);
      } finally {
        dataKey.fill(0);
      }
      this.#files.set(entry.id, file);
    }
    return file;
  }

  /** Closes a table file; returns its counts, which DescribeTable shows while it stays closed. */
  #closeFile(id: string, definition?: TableDefinition): TableStats | undefined {
    const store = this.#files.get(id);
    if (!store) return undefined;
    this.#files.delete(id);
    let stats: TableStats | undefined;
    try {
      // A damaged file's counts are not to be trusted (nor kept as the last known ones). An
      // engine's counts stay live: nothing to keep.
      if (!this.#damage.refusals.has(id) && !this.sharedStorage)
        stats = definition ? statsOf(store, definition) : store.stats();
    } catch (error) {
      if (!(error instanceof DamagedFileError)) throw error;
      this.damaged(error);
    }
    store.close();
    return stats;
  }

  /**
   * A table as operations see it: its store makes the writes its item changes imply (index
   * entries, stream records). One deriving store per file and definition (the catalog keeps
   * definition objects until they change): requests do not rebuild it, and what is cached per
   * store (recovery) stays cached.
   */
  #openTable(definition: TableDefinition, file: TableStore): OpenTable {
    const keys = keysOf(definition);
    const indexes = indexSchemas(definition, keys);
    const known = derivingStores.get(file);
    if (known?.definition === definition) return { definition, keys, store: known.store, indexes };
    const derivers: WriteDeriver[] = [];
    if (indexes.maintained.length > 0) derivers.push(indexDeriver(indexes.maintained));
    const stream = streamDeriver(definition, file, keys, this.#clock);
    if (stream) derivers.push(stream);
    const pitr = definition.PointInTimeRecovery;
    const changeLog = pitr?.Enabled ? changeLogOf(pitr) : undefined;
    if (changeLog) derivers.push(changeLogDeriver(changeLog, file, this.#clock));
    const store = derivers.length > 0 ? new DerivingStore(file, derivers) : file;
    derivingStores.set(file, { definition, store });
    return { definition, keys, store, indexes };
  }

  #scope(account: string): Scope {
    return { accountId: account, region: this.region };
  }

  /** The catalog's entries but the deleted tables kept for their streams. */
  #liveEntries(): CatalogEntry<TableDefinition>[] {
    return this.#catalog.all().filter((e) => !isRetired(e.name));
  }

  #entry(account: string, name: string, plane: 'data' | 'control'): CatalogEntry<TableDefinition> {
    const entry = isRetired(name) ? undefined : this.#catalog.get(this.#scope(account), name);
    if (!entry) {
      // Data-plane operations answer DynamoDB's bare message; control-plane ones name the table.
      throw plane === 'data'
        ? resourceNotFound()
        : resourceNotFound(`Requested resource not found: Table: ${name} not found`);
    }
    const refusal = this.#damage.refusals.get(entry.id);
    if (refusal) throw refusal;
    return entry;
  }

  #file(id: string): string {
    return this.#dataDir.file('tables', `${id}.db`);
  }
}

/**
 * The data key of a table authenticated under its table key, so a file it cannot open is
 * damaged, not a wrong key (sqlcipher fails the first page's HMAC with SQLITE_NOTADB).
 */
function openFailure(file: string, error: unknown): unknown {
  if (!(error instanceof WrongKeyError)) return asDamage(file, error);
  return new DamagedFileError(file, 'its first page fails its authentication check', { cause: error });
}

/** The table's counts and those of each of its indexes. */
function statsOf(store: Pick<TableStore, 'stats' | 'spaceStats'>, definition: TableDefinition): TableStats {
  const indexes = [...(definition.LocalSecondaryIndexes ?? []), ...(definition.GlobalSecondaryIndexes ?? [])];
  if (indexes.length === 0) return store.stats();
  return {
    ...store.stats(),
    indexes: Object.fromEntries(indexes.map((index) => [index.IndexName, store.spaceStats(index.Space)])),
  };
}

const keysOf = (definition: TableDefinition): KeyAttributes =>
  keyAttributes(definition.KeySchema, definition.AttributeDefinitions);

const dataKeyScope = (definition: TableDefinition): DataKeyScope => ({
  tableArn: definition.TableArn,
  dataKeyId: definition.TableId,
  purpose: TABLE_PURPOSE,
});

const target = ({ definition, scope }: CatalogEntry<TableDefinition>): TableKeyTarget => ({
  tableName: definition.TableName,
  tableArn: definition.TableArn,
  tableId: definition.TableId,
  accountId: scope.accountId,
  region: scope.region,
});

const reasonOf = (error: KeyAccessError) => ({
  code: error.kmsCode,
  message: error.kmsMessage,
  requestId: error.requestId,
});

/** Why a table is offline, as the KMS failure its data-plane calls (and UpdateTimeToLive) answer with. */
export function inaccessibleReason(definition: TableDefinition): KeyAccessError {
  const reason = definition.InaccessibleReason ?? {
    code: 'KMSInvalidStateException',
    message: 'The KMS key is unusable',
    requestId: '',
  };
  return new KeyAccessError(reason.code, reason.message, reason.requestId, true);
}
