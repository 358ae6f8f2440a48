/**
 * On-demand backups and archival backups: their files, keys and catalog records, and restores.
 *
 * A backup is a consistent snapshot of the table file (storage/snapshot.ts) into a file of its
 * own under a new data key, wrapped by the table key current at backup time. Its record keeps
 * that wrapped key, the table key as KMS ciphertext and what binds them (the source table's
 * ARN, id and encryption context), so the backup opens after the table switched keys or was
 * deleted, and only while that KMS key is usable: deleting the key shreds the backups too.
 * Restores go through TableManager.create (a new table key from the chosen KMS key, audited like
 * every KMS call) and put the items back through the new table's store, which rebuilds the
 * entries of the indexes kept.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync } from 'node:fs';
import type { Clock } from '../../core/clock.js';
import { type DataKeyScope, newDataKey, unwrapDataKey, wrapDataKey } from '../../encryption/data-keys.js';
import { KeyAccessError } from '../../encryption/key-access-error.js';
import type { KeyCaller, KeyChoice, TableKeyRecord, TableKeyService } from '../../encryption/table-keys.js';
import type { BackupCatalog, BackupCatalogEntry } from '../../storage/backup-catalog.js';
import type { DataDir } from '../../storage/data-dir.js';
import type { PageChecker } from '../../storage/page-checker.js';
import { openBackupItems, removeFiles, startSnapshot } from '../../storage/snapshot.js';
import type { StoredItem } from '../../storage/table-file.js';
import { kmsValidationError } from '../kms-errors.js';
import type { TableDefinition } from '../table-definition.js';
import type { NewTable, TableManager } from '../tables.js';
import {
  backupInUse,
  backupNotFound,
  backupsUnavailable,
  tableAlreadyExists,
  tableInUse,
  tableNotFound,
} from './errors.js';
import { fillInBackground } from './fill.js';
import type { ArchivalBackups, ArchivingTable } from './lent-table.js';
import { arnTime, type BackupRecord, type BackupType, backupArn } from './record.js';

export interface BackupManagerOptions {
  readonly catalog: BackupCatalog<BackupRecord>;
  readonly dataDir: DataDir;
  readonly keys: TableKeyService;
  readonly clock: Clock;
  /** Told when a backup or a restore fails after its call was answered. */
  readonly onError?: (error: unknown) => void;
  /** Most work per slice of a restore before yielding to requests (default 8 ms). */
  readonly sliceMs?: number;
  /** Authenticates every page of a backup file while a restore reads it (absent: not checked). */
  readonly pageChecker?: PageChecker;
}

export interface ListFilter {
  readonly tableName?: string;
  /** epoch ms, inclusive */
  readonly from?: number;
  /** epoch ms, exclusive */
  readonly to?: number;
  readonly type: BackupType | 'ALL' | 'AWS_BACKUP';
  readonly exclusiveStartArn?: string;
  readonly limit?: number;
}

/** What a restore puts in the new table beside the source's schema (the operation checks the overrides). */
export type RestoredTable = Omit<NewTable, 'RestoreSummary'>;

const BACKUP_PURPOSE = 'backup';

interface BackupItems {
  readonly items: IterableIterator<StoredItem>;
  close(): void;
  /** Rejects when the full page check finds the backup file damaged. */
  readonly verified?: Promise<void>;
}

export class BackupManager implements ArchivalBackups {
  readonly #options: BackupManagerOptions;
  readonly #catalog: BackupCatalog<BackupRecord>;
  /** Backups being written and restores running, by ARN / by job: awaited at close. */
  readonly #creating = new Map<string, Promise<void>>();
  readonly #restoring = new Set<string>();
  readonly #jobs = new Set<Promise<void>>();
  #closing = false;

  constructor(options: BackupManagerOptions) {
    this.#options = options;
    this.#catalog = options.catalog;
    // A backup still CREATING was being copied when the last process died: its file is partial.
    for (const entry of this.#catalog.all()) {
      if (entry.record.BackupStatus !== 'CREATING') continue;
      removeFiles(this.#file(entry.record.fileId));
      this.#catalog.delete(entry.arn);
    }
  }

  /**
   * CreateBackup: the snapshot is pinned before this returns (every write answered before is in
   * it, none made after), then copied in the background (CREATING → AVAILABLE).
   */
  async create(
    tables: TableManager,
    account: string,
    tableName: string,
    name: string,
    caller: KeyCaller,
    system?: { readonly retentionMs: number },
  ) {
    if (this.#options.dataDir.inMemory) throw backupsUnavailable();
    const table = tables.find(account, tableName);
    if (!table) throw tableNotFound(tableName);
    // AWS: a CREATING table (here: one still being restored) is not found, an UPDATING one is
    // backed up (ack-api-quirks, backup.md, DDB-BACKUP-001; errors.ts).
    if (table.TableStatus === 'CREATING') throw tableNotFound(tableName);
    if (table.TableStatus !== 'ACTIVE' && table.TableStatus !== 'UPDATING') {
      throw tableInUse(tableName, table.TableStatus);
    }
    const now = this.#options.clock.now();
    const fileId = randomUUID();
    const file = this.#file(fileId);
    const { record, pinned, done } = await tables.lend(account, tableName, caller, (lent) => {
      const scope: DataKeyScope = { tableArn: lent.definition.TableArn, dataKeyId: fileId, purpose: BACKUP_PURPOSE };
      const dataKey = newDataKey();
      try {
        const wrappedKey = wrapDataKey(lent.tableKey, dataKey, scope);
        const snapshot = startSnapshot({
          source: lent.file,
          sourceKey: lent.dataKey,
          target: file,
          targetKey: dataKey,
        });
        const record: BackupRecord = {
          BackupArn: backupArn(lent.definition.TableArn, now),
          BackupName: name,
          BackupStatus: 'CREATING',
          BackupType: system ? 'SYSTEM' : 'USER',
          ...(system ? { expiresAt: now + system.retentionMs } : {}),
          createdAt: now,
          accountId: account,
          region: lent.target.region,
          source: withoutRuntimeFields(lent.definition),
          stats: lent.stats,
          target: lent.target,
          tableKey: lent.definition.TableKey,
          dataKeyScope: scope,
          fileId,
        };
        this.#catalog.put({ arn: record.BackupArn, record, wrappedKey });
        return { record, pinned: snapshot.pinned, done: snapshot.done };
      } finally {
        dataKey.fill(0);
      }
    });
    const finished = done.then(
      () => {
        const entry = this.#catalog.get(record.BackupArn);
        if (entry) this.#catalog.put({ ...entry, record: { ...entry.record, BackupStatus: 'AVAILABLE' } });
      },
      (error: unknown) => {
        this.#catalog.delete(record.BackupArn);
        this.#options.onError?.(error);
      },
    );
    this.#creating.set(record.BackupArn, finished);
    void finished.finally(() => this.#creating.delete(record.BackupArn));
    // Answered once the copy's read transaction holds: what was answered before is in the backup.
    await pinned.catch(() => undefined);
    return record;
  }

  /**
   * The sweep: SYSTEM backups past their BackupExpiryDateTime go (those being restored stay until
   * a later sweep). Returns how many went.
   */
  expire(): number {
    const now = this.#options.clock.now();
    let removed = 0;
    for (const { arn, record } of this.#catalog.all()) {
      if (record.expiresAt === undefined || record.expiresAt > now) continue;
      if (record.BackupStatus === 'CREATING' || this.#restoring.has(arn)) continue;
      this.#catalog.delete(arn);
      removeFiles(this.#file(record.fileId));
      removed++;
    }
    return removed;
  }

  /** Whether the backup is written in full (AVAILABLE): false for one whose copy failed. */
  finished(arn: string): boolean {
    return this.#catalog.get(arn)?.record.BackupStatus === 'AVAILABLE';
  }

  /** Resolves once the backup is no longer being written (for tests, the CLI and the bench). */
  async settled(arn: string): Promise<void> {
    await this.#creating.get(arn);
  }

  /** The backup of this account and region; BackupNotFoundException otherwise. */
  describe(account: string, region: string, arn: string): BackupRecord {
    const entry = this.#catalog.get(arn);
    if (!entry || entry.record.accountId !== account || entry.record.region !== region) throw backupNotFound(arn);
    return entry.record;
  }

  /** ListBackups: oldest first; `exclusiveStartArn` resumes after that backup's place (even if since deleted). */
  list(account: string, region: string, filter: ListFilter): { backups: BackupRecord[]; lastEvaluated?: string } {
    const startAt = filter.exclusiveStartArn
      ? (this.#catalog.get(filter.exclusiveStartArn)?.record.createdAt ?? arnTime(filter.exclusiveStartArn))
      : undefined;
    const all = this.#catalog
      .all()
      .map((e) => e.record)
      .filter(
        (r) =>
          r.accountId === account &&
          r.region === region &&
          (filter.tableName === undefined || r.source.TableName === filter.tableName) &&
          (filter.type === 'ALL' || r.BackupType === filter.type) &&
          (filter.from === undefined || r.createdAt >= filter.from) &&
          (filter.to === undefined || r.createdAt < filter.to),
      )
      .sort(byCreation)
      .filter(
        (r) =>
          startAt === undefined ||
          r.createdAt > startAt ||
          (r.createdAt === startAt && r.BackupArn > (filter.exclusiveStartArn as string)),
      );
    const limit = filter.limit ?? all.length;
    const backups = all.slice(0, limit);
    const last = backups[backups.length - 1];
    return { backups, ...(all.length > limit && last ? { lastEvaluated: last.BackupArn } : {}) };
  }

  /** DeleteBackup: the record and the file go; a backup being written or restored stays. */
  delete(account: string, region: string, arn: string): BackupRecord {
    const record = this.describe(account, region, arn);
    if (record.BackupStatus === 'CREATING') throw backupInUse(arn, 'being created');
    if (this.#restoring.has(arn)) throw backupInUse(arn, 'being restored');
    this.#catalog.delete(arn);
    removeFiles(this.#file(record.fileId));
    return record;
  }

  /**
   * RestoreTableFromBackup. The backup's key must be usable (its KMS key enabled and DynamoDB
   * allowed to use it) before anything is created; the new table is then made through the table
   * manager with a new table key from `choice`, CREATING until every item is in.
   */
  async restore(
    tables: TableManager,
    account: string,
    region: string,
    arn: string,
    table: RestoredTable,
    choice: KeyChoice | undefined,
    caller: KeyCaller,
  ): Promise<TableDefinition> {
    const entry = this.#catalog.get(arn);
    if (!entry || entry.record.accountId !== account || entry.record.region !== region) throw backupNotFound(arn);
    const record = entry.record;
    if (record.BackupStatus === 'CREATING') throw backupInUse(arn, 'being created');
    // One restore of a backup at a time, as AWS (errors.ts): held from here, before the first await.
    if (this.#restoring.has(arn)) throw backupInUse(arn, 'restoring another');
    if (tables.find(account, table.TableName)) throw tableAlreadyExists(table.TableName);
    this.#restoring.add(arn);
    let source: BackupItems;
    try {
      source = await this.#openBackup(entry, caller);
    } catch (error) {
      this.#restoring.delete(arn);
      throw error;
    }
    const release = () => {
      source.close();
      this.#restoring.delete(arn);
    };
    let definition: TableDefinition;
    try {
      definition = await tables.create(
        account,
        {
          ...table,
          RestoreSummary: {
            SourceBackupArn: arn,
            SourceTableArn: record.source.TableArn,
            RestoreDateTime: table.CreationDateTime,
            RestoreInProgress: true,
          },
        },
        choice ?? sameKeyAs(record.tableKey),
        caller,
        'CREATING',
      );
    } catch (error) {
      release();
      if (error instanceof KeyAccessError) throw kmsValidationError(error);
      throw error;
    }
    const job = fillInBackground({
      tables,
      account,
      definition,
      items: source.items,
      ...(source.verified ? { verified: source.verified } : {}),
      caller,
      sliceMs: this.#options.sliceMs ?? 8,
      stopped: () => this.#closing,
      ...(this.#options.onError ? { onError: this.#options.onError } : {}),
      done: release,
    });
    this.#jobs.add(job);
    void job.finally(() => this.#jobs.delete(job));
    return definition;
  }

  /** Resolves once every restore running now has finished (for tests, the CLI and the bench). */
  async restoresSettled(): Promise<void> {
    await Promise.all([...this.#jobs]);
  }

  /** Archival (TableManager.sweep): the table file as it is, kept as a SYSTEM backup. */
  archive(table: ArchivingTable): string | undefined {
    if (this.#options.dataDir.inMemory || !existsSync(table.file)) return undefined;
    const now = this.#options.clock.now();
    const fileId = randomUUID();
    const file = this.#file(fileId);
    // Ciphertext copied as ciphertext: the table's file is closed while its key is unusable.
    copyFileSync(table.file, file);
    if (existsSync(`${table.file}-wal`)) copyFileSync(`${table.file}-wal`, `${file}-wal`);
    const record: BackupRecord = {
      BackupArn: backupArn(table.definition.TableArn, now),
      BackupName: `${table.definition.TableName}-archival`,
      BackupStatus: 'AVAILABLE',
      BackupType: 'SYSTEM',
      createdAt: now,
      accountId: table.target.accountId,
      region: table.target.region,
      source: withoutRuntimeFields(table.definition),
      stats: table.stats,
      target: table.target,
      tableKey: table.definition.TableKey,
      dataKeyScope: table.dataKeyScope,
      fileId,
      sameDataKeyAsTable: true,
    };
    this.#catalog.put({ arn: record.BackupArn, record, wrappedKey: table.wrappedKey });
    return record.BackupArn;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#creating.values(), ...this.#jobs]);
    this.#catalog.close();
  }

  /** Opens the backup's file with its data key, unwrapped by the table key of backup time. */
  async #openBackup(entry: BackupCatalogEntry<BackupRecord>, caller: KeyCaller): Promise<BackupItems> {
    const { record } = entry;
    let tableKey: Buffer;
    try {
      // As the caller, through DynamoDB: the source table's grant may be gone (table deleted or
      // moved to another key), the key policy still decides; a disabled or deleted key fails here.
      tableKey = await this.#options.keys.tableKey(record.target, record.tableKey, caller);
    } catch (error) {
      if (error instanceof KeyAccessError) throw kmsValidationError(error);
      throw error;
    }
    const dataKey = unwrapDataKey(tableKey, entry.wrappedKey, record.dataKeyScope);
    try {
      return openBackupItems(this.#file(record.fileId), dataKey, this.#options.pageChecker);
    } finally {
      dataKey.fill(0);
    }
  }

  #file(fileId: string): string {
    return this.#options.dataDir.file('backups', `${fileId}.db`);
  }
}

/**
 * Without SSESpecificationOverride a restored table is protected as its source was at backup time
 * (the key of the backup's record), or as its source is now (a restore to a point in time).
 */
export function sameKeyAs(key: TableKeyRecord): KeyChoice {
  if (key.kind === 'CUSTOMER' && key.kmsKeyArn) return { kind: 'CUSTOMER', keyId: key.kmsKeyArn };
  return { kind: key.kind === 'MANAGED' ? 'MANAGED' : 'OWNED' };
}

/** What a backup record keeps of its table's definition: not the counts nor the state of its key. */
function withoutRuntimeFields(definition: TableDefinition): TableDefinition {
  const { LastKnownStats: _s, SseChanges: _c, ...rest } = definition;
  return { ...rest, SseChanges: [] };
}

const byCreation = (a: BackupRecord, b: BackupRecord): number =>
  a.createdAt - b.createdAt || (a.BackupArn < b.BackupArn ? -1 : a.BackupArn > b.BackupArn ? 1 : 0);
