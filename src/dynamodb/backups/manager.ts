/**
 * On-demand backups and archival backups: their data, keys and catalog records, and restores.
 *
 * A backup is a consistent snapshot of the table's items (storage/backup-storage.ts: a file of
 * its own in the embedded store, rows of its own in the engine) under a new data key, wrapped by
 * the table key current at backup time. Its record keeps
 * that wrapped key, the table key as KMS ciphertext and what binds them (the source table's
 * ARN, id and encryption context), so the backup opens after the table switched keys or was
 * deleted, and only while that KMS key is usable: deleting the key shreds the backups too.
 * Restores go through TableManager.create (a new table key from the chosen KMS key, audited like
 * every KMS call) and put the items back through the new table's store, which rebuilds the
 * entries of the indexes kept.
 */
import { randomUUID } from 'node:crypto';
import { fenced, type JobLeases, takeOverJob } from '../../cluster/job-leases.js';
import type { Clock } from '../../core/clock.js';
import { type DataKeyScope, newDataKey, unwrapDataKey, wrapDataKey } from '../../encryption/data-keys.js';
import { KeyAccessError } from '../../encryption/key-access-error.js';
import type { KeyCaller, KeyChoice, TableKeyRecord, TableKeyService } from '../../encryption/table-keys.js';
import { type Fence, FenceLost, unitIdentity, whenCommitted, whenRolledBack } from '../../storage/backend.js';
import type { BackupCatalogEntry, BackupReader, BackupRecords, BackupStorage } from '../../storage/backup-storage.js';
import { kmsValidationError } from '../kms-errors.js';
import type { TableDefinition } from '../table-definition.js';
import type { NewTable, TableManager } from '../tables.js';
import {
  backupInUse,
  backupNotFound,
  backupsUnavailable,
  restoreTargetTaken,
  tableInUse,
  tableNotFound,
} from './errors.js';
import { fillInBackground } from './fill.js';
import type { ArchivalBackups, ArchivingTable } from './lent-table.js';
import { arnTime, type BackupRecord, type BackupType, backupArn } from './record.js';
import type { RestoreJobs } from './restore-leases.js';

export interface BackupManagerOptions {
  /** Where backups and their catalog are kept (the data directory, or the engine). */
  readonly storage: BackupStorage<BackupRecord>;
  readonly keys: TableKeyService;
  readonly clock: Clock;
  /** Told when a backup or a restore fails after its call was answered. */
  readonly onError?: (error: unknown) => void;
  /** Most work per slice of a restore before yielding to requests (default 8 ms). */
  readonly sliceMs?: number;
  /** Restores as jobs (shared with PITR's): a restore whose process died leaves no CREATING table. */
  readonly restores: RestoreJobs;
  /**
   * Engine storage: a backup's copy and a restore of it hold leases of their own, so another node
   * drops a copy whose node died and no two nodes restore one backup at once.
   */
  readonly leases?: JobLeases;
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

/** A restore holding its backup: the request's unit of work (the same over its runs) and the open backup. */
interface Claim {
  readonly owner: object;
  source?: BackupReader;
  /** Engine storage: the lease of the backup's restore (no other node restores it meanwhile). */
  fence?: Fence;
}

/** The lease a backup's copy holds until it is AVAILABLE, and the one a restore of it holds. */
const copyLeaseOf = (arn: string): string => `backup/${arn}`;
const restoreLeaseOf = (arn: string): string => `backup-restore/${arn}`;

export class BackupManager implements ArchivalBackups {
  readonly #options: BackupManagerOptions;
  readonly #storage: BackupStorage<BackupRecord>;
  readonly #catalog: BackupRecords<BackupRecord>;
  /** Backups being written and restores running, by ARN / by job: awaited at close. */
  readonly #creating = new Map<string, Promise<void>>();
  /** This node's restores, by the ARN of their backup. */
  readonly #restoring = new Map<string, Claim>();
  readonly #jobs = new Set<Promise<void>>();
  #closing = false;

  constructor(options: BackupManagerOptions) {
    this.#options = options;
    this.#storage = options.storage;
    this.#catalog = options.storage.catalog;
  }

  /** Before the first request: a backup this node's last process left CREATING is partial, and goes. */
  async recover(): Promise<void> {
    if (!this.#storage.unfinishedAreOurs) return;
    for (const entry of await this.#catalog.all()) {
      if (entry.record.BackupStatus !== 'CREATING') continue;
      await this.#storage.remove(entry.record.fileId);
      await this.#catalog.delete(entry.arn);
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
    if (!this.#storage.available) throw backupsUnavailable();
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
    // `use` runs once every read of the lend is answered (over the engine, a request is run again
    // after each fetch): the copy starts at most once per request.
    const { record, wrappedKey, copy } = await tables.lend(account, tableName, caller, (lent) => {
      const scope: DataKeyScope = { tableArn: lent.definition.TableArn, dataKeyId: fileId, purpose: BACKUP_PURPOSE };
      const dataKey = newDataKey();
      try {
        const wrappedKey = wrapDataKey(lent.tableKey, dataKey, scope);
        const copy = this.#storage.startCopy(
          { tableId: lent.definition.TableId, file: lent.file, dataKey: lent.dataKey },
          fileId,
          dataKey,
        );
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
        return { record, wrappedKey, copy };
      } finally {
        dataKey.fill(0);
      }
    });
    const entry: BackupCatalogEntry<BackupRecord> = { arn: record.BackupArn, record, wrappedKey };
    const leases = this.#options.leases;
    // Engine storage: held from before the backup is listed until it is AVAILABLE (or gone).
    const fence = leases ? await leases.hold(copyLeaseOf(record.BackupArn)) : undefined;
    if (leases && !fence) throw new Error(`the lease of ${record.BackupArn} is another node's`);
    const listed = this.#catalog.put(entry);
    const finished = (async () => {
      try {
        await listed;
        const { items } = await copy.done;
        const available: BackupRecord = {
          ...record,
          BackupStatus: 'AVAILABLE',
          ...(items !== undefined ? { copiedItems: items } : {}),
        };
        await this.#catalog.put({ ...entry, record: available }, fence);
      } catch (error) {
        // A lost lease: another node took this copy for a dead one's and dropped its record; its rows go here.
        if (!(error instanceof FenceLost)) await this.#catalog.delete(record.BackupArn).catch(() => undefined);
        await this.#storage.remove(fileId).catch(() => undefined);
        if (!(error instanceof FenceLost)) this.#options.onError?.(error);
      } finally {
        if (fence) await leases?.release(copyLeaseOf(record.BackupArn)).catch(() => undefined);
      }
    })();
    this.#creating.set(record.BackupArn, finished);
    void finished.finally(() => this.#creating.delete(record.BackupArn));
    // Answered once it is listed and the copy's snapshot holds: what was answered before is in the backup.
    await listed;
    await copy.pinned.catch(() => undefined);
    return record;
  }

  /**
   * The sweep: SYSTEM backups past their BackupExpiryDateTime go (those being restored stay until
   * a later sweep). Returns how many went.
   */
  async expire(): Promise<number> {
    const now = this.#options.clock.now();
    let removed = 0;
    const entries = await this.#catalog.all();
    await this.#dropAbandonedCopies(entries);
    for (const { arn, record } of entries) {
      if (record.expiresAt === undefined || record.expiresAt > now) continue;
      if (record.BackupStatus === 'CREATING' || this.#restoring.has(arn)) continue;
      await this.#catalog.delete(arn);
      await this.#storage.remove(record.fileId);
      removed++;
    }
    return removed;
  }

  /** Whether the backup is written in full (AVAILABLE): false for one whose copy failed. */
  async finished(arn: string): Promise<boolean> {
    return (await this.#catalog.get(arn))?.record.BackupStatus === 'AVAILABLE';
  }

  /** Resolves once the backup is no longer being written (for tests, the CLI and the bench). */
  async settled(arn: string): Promise<void> {
    await this.#creating.get(arn);
  }

  /** The backup of this account and region; BackupNotFoundException otherwise. */
  async describe(account: string, region: string, arn: string): Promise<BackupRecord> {
    const entry = await this.#catalog.get(arn);
    if (!entry || entry.record.accountId !== account || entry.record.region !== region) throw backupNotFound(arn);
    return entry.record;
  }

  /** ListBackups: oldest first; `exclusiveStartArn` resumes after that backup's place (even if since deleted). */
  async list(
    account: string,
    region: string,
    filter: ListFilter,
  ): Promise<{ backups: BackupRecord[]; lastEvaluated?: string }> {
    const entries = await this.#catalog.all();
    const startAt = filter.exclusiveStartArn
      ? (entries.find((e) => e.arn === filter.exclusiveStartArn)?.record.createdAt ?? arnTime(filter.exclusiveStartArn))
      : undefined;
    const all = entries
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
  async delete(account: string, region: string, arn: string): Promise<BackupRecord> {
    const record = await this.describe(account, region, arn);
    if (record.BackupStatus === 'CREATING') throw backupInUse(arn, 'being created');
    if (this.#restoring.has(arn)) throw backupInUse(arn, 'being restored');
    await this.#catalog.delete(arn);
    await this.#storage.remove(record.fileId);
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
    const entry = await this.#catalog.get(arn);
    if (!entry || entry.record.accountId !== account || entry.record.region !== region) throw backupNotFound(arn);
    const record = entry.record;
    if (record.BackupStatus === 'CREATING') throw backupInUse(arn, 'being created');
    const taken = tables.find(account, table.TableName);
    if (taken) throw restoreTargetTaken(taken);
    // One restore of a backup at a time, as AWS (errors.ts): held from here, before the next await.
    // The claim is the request's: over the engine a request run again (a fetch, a conflict) finds
    // its own claim, and closes the backup its earlier run opened.
    const owner = unitIdentity();
    const held = this.#restoring.get(arn);
    if (held && held.owner !== owner) throw backupInUse(arn, 'restoring another');
    held?.source?.close();
    const claim: Claim = { owner, ...(held?.fence ? { fence: held.fence } : {}) };
    this.#restoring.set(arn, claim);
    const restores = this.#options.restores;
    // The restore ended (filled, failed, or its table never made): the backup and the table's name are free.
    const release = () => {
      claim.source?.close();
      restores.end(account, region, table.TableName, owner);
      if (this.#restoring.get(arn) !== claim) return;
      this.#restoring.delete(arn);
      if (claim.fence) void this.#options.leases?.release(restoreLeaseOf(arn)).catch(() => undefined);
    };
    let definition: TableDefinition;
    let fence: Fence | undefined;
    try {
      claim.fence = claim.fence ?? (await this.#holdRestoreOf(arn));
      fence = await restores.begin(account, region, table.TableName, owner);
      claim.source = await this.#openBackup(entry, caller);
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
    const source = claim.source;
    const fillFence = fence;
    // Over the engine the new table exists once the request's unit commits: the fill starts then.
    whenRolledBack(async () => release());
    whenCommitted(() => {
      const job = fenced(fillFence, () =>
        fillInBackground({
          tables,
          account,
          definition,
          items: source,
          // The pages the restore does not read (free pages, other keyspaces) are authenticated apart:
          // a damaged backup file must fail the restore (reliability suite, tamper seed 7).
          ...(source.verified ? { verified: source.verified } : {}),
          ...(record.copiedItems !== undefined ? { expectedItems: record.copiedItems } : {}),
          caller,
          sliceMs: this.#options.sliceMs ?? 8,
          stopped: () => this.#closing,
          ...(this.#options.onError ? { onError: this.#options.onError } : {}),
          done: release,
        }),
      );
      this.#jobs.add(job);
      void job.finally(() => this.#jobs.delete(job));
    });
    return definition;
  }

  /** Resolves once every restore running now has finished (for tests, the CLI and the bench). */
  async restoresSettled(): Promise<void> {
    await Promise.all([...this.#jobs]);
  }

  /** Archival (TableManager.sweep): the table's data as it is, kept as a SYSTEM backup. */
  async archive(table: ArchivingTable): Promise<string | undefined> {
    if (!this.#storage.available) return undefined;
    const now = this.#options.clock.now();
    const fileId = randomUUID();
    if (!(await this.#storage.copySealed({ tableId: table.definition.TableId, file: table.file }, fileId))) {
      return undefined;
    }
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
    await this.#catalog.put({ arn: record.BackupArn, record, wrappedKey: table.wrappedKey });
    return record.BackupArn;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.allSettled([...this.#creating.values(), ...this.#jobs]);
    this.#catalog.close();
  }

  /**
   * Engine storage: a backup CREATING whose copy's lease this node can take was being copied by a
   * node that died (the embedded store drops those at start, recover): its record and rows go.
   */
  async #dropAbandonedCopies(entries: readonly BackupCatalogEntry<BackupRecord>[]): Promise<void> {
    const leases = this.#options.leases;
    if (!leases) return;
    for (const { arn, record } of entries) {
      if (record.BackupStatus !== 'CREATING' || this.#creating.has(arn)) continue;
      await takeOverJob(leases, copyLeaseOf(arn), async () => {
        // Read again under the lease: a copy that ended meanwhile stays as it ended.
        if ((await this.#catalog.get(arn))?.record.BackupStatus !== 'CREATING') return false;
        await this.#catalog.delete(arn);
        await this.#storage.remove(record.fileId);
        return true;
      });
    }
  }

  /** Engine storage: the lease of restoring backup `arn`; another node holds it: the backup is in use. */
  async #holdRestoreOf(arn: string): Promise<Fence | undefined> {
    const leases = this.#options.leases;
    if (!leases) return undefined;
    const fence = await leases.hold(restoreLeaseOf(arn));
    if (!fence) throw backupInUse(arn, 'restoring another');
    return fence;
  }

  /** Opens the backup's items with its data key, unwrapped by the table key of backup time. */
  async #openBackup(entry: BackupCatalogEntry<BackupRecord>, caller: KeyCaller): Promise<BackupReader> {
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
      // An archival backup is the table's data as it was, sealed as the table's.
      return this.#storage.open(record.fileId, dataKey, record.sameDataKeyAsTable ? record.source.TableId : undefined);
    } finally {
      dataKey.fill(0);
    }
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
