/**
 * Exports to and imports from "S3" (a local directory, see bucket.ts): their records in the
 * encrypted exports catalog (storage/transfer-storage.ts: a data-directory file, or sealed rows
 * of the engine), and the background jobs that write and read the files.
 *
 * An export reads a snapshot pinned while the request is answered (a read transaction of its own
 * on the table file, or over the engine one REPEATABLE READ transaction over its rows), in
 * bounded slices; an import creates its table (CREATING) while the request is answered and fills
 * it in slices (over the engine each slice one unit of work), then makes it ACTIVE. Exported
 * files are the one place where sealdb writes table data outside its encrypted stores (they are
 * meant to leave it), unless the export asks for S3SseAlgorithm KMS: then each file is sealed
 * under that KMS key (envelope.ts).
 *
 * Over a shared engine a job runs on the node that accepted its request, which holds the job's
 * lease (`transfer/<ARN>`, src/cluster/leases.ts) from before its record is listed until its end
 * is recorded; the job's units of work and that last record are fenced by it. A node that finds
 * a job IN_PROGRESS whose lease it can take (its node stopped renewing it) fails it, and drops
 * the half-filled table of an import.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { JobLeases } from '../../cluster/job-leases.js';
import type { Clock } from '../../core/clock.js';
import { KeyAccessError } from '../../encryption/key-access-error.js';
import type { KeyCaller, KeyChoice } from '../../encryption/table-keys.js';
import { AwsError } from '../../http/aws-error.js';
import { type Fence, FenceLost, whenCommitted, whenRolledBack } from '../../storage/backend.js';
import { type BackupRecords, groupsOf } from '../../storage/backup-storage.js';
import type { PinnedReader, TransferStorage } from '../../storage/transfer-storage.js';
import { tableNotFound } from '../backups/errors.js';
import { putSlice } from '../backups/fill.js';
import { tableExists, validationError } from '../errors.js';
import { kmsValidationError } from '../kms-errors.js';
import { pitrNotKept, pitrUnavailable } from '../pitr/errors.js';
import type { PitrChanges, PitrImage } from '../pitr/manager.js';
import { enabledPitr, historyWindow, restorableWindow } from '../pitr/state.js';
import type { TableDefinition } from '../table-definition.js';
import { keyAttributes } from '../table-schema.js';
import type { NewTable, TableManager } from '../tables.js';
import { checkKey, LocalBuckets } from './bucket.js';
import {
  EXPORT_TIME_NOT_RESTORABLE,
  exportConflict,
  exportNotFound,
  ITEM_VALIDATION_FAILED,
  importConflict,
  importNotFound,
  incrementalFromTooEarly,
  incrementalLength,
  incrementalRule,
  incrementalToInFuture,
  invalidExportArn,
  invalidExportTime,
  invalidImportArn,
  invalidNextToken,
  NO_SUCH_BUCKET,
  noExportDir,
} from './errors.js';
import { type ExportSource, type IncrementalSource, runExport } from './export-job.js';
import type { ExportFormat, InputFormat } from './formats.js';
import { runImport } from './import-job.js';
import { arnOf, statusOf, TransferJobs } from './jobs.js';
import type { KmsSealer } from './kms-sealer.js';
import type {
  ExportRecord,
  ExportViewType,
  ImportRecord,
  IncrementalWindow,
  S3Destination,
  TransferRecord,
} from './records.js';

/** What exports use of point-in-time recovery (src/dynamodb/pitr): the table as it was at an instant. */
export interface PitrImages {
  image(tables: TableManager, account: string, name: string, at: number, caller: KeyCaller): Promise<PitrImage>;
  /** The items changed in [from, to), with their images before and after (an incremental export). */
  changes(
    tables: TableManager,
    account: string,
    name: string,
    from: number,
    to: number,
    caller: KeyCaller,
  ): Promise<PitrChanges>;
}

export interface TransferManagerOptions {
  /** Where the records are kept, and how a live table is read as of now. */
  readonly storage: TransferStorage<TransferRecord>;
  /** Engine storage: each job runs under a lease of its own. */
  readonly leases?: JobLeases;
  /** The folder standing in for S3 (`--export-dir`); absent: exports and imports are refused. */
  readonly exportDir?: string;
  readonly sealer: KmsSealer;
  readonly clock: Clock;
  /** Absent (servers built without PITR): exports need no PITR and read the table as it is now. */
  readonly pitr?: PitrImages;
  readonly onError?: (error: unknown) => void;
  /** Most work per slice before yielding to requests (default 8 ms). */
  readonly sliceMs?: number;
}

export interface ExportRequest {
  readonly tableName: string;
  readonly exportTime?: number;
  readonly clientToken?: string;
  readonly destination: S3Destination;
  readonly format: ExportFormat;
  readonly type?: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
  /** INCREMENTAL_EXPORT: the window (epoch ms; `to` absent: now) and the view. */
  readonly incremental?: {
    readonly from: number;
    readonly to?: number;
    readonly view: ExportViewType;
    /** An ExportTime came with it (refused once the window is checked). */
    readonly exportTime?: true;
  };
}

export interface ImportRequest {
  readonly clientToken?: string;
  readonly source: ImportRecord['S3BucketSource'];
  readonly format: InputFormat;
  readonly formatOptions?: ImportRecord['InputFormatOptions'];
  readonly compression: ImportRecord['InputCompressionType'];
  readonly creationParameters: Record<string, unknown>;
  readonly table: NewTable;
  readonly choice: KeyChoice;
}

/** How long a ClientToken makes requests idempotent (the model's documentation of ClientToken). */
const TOKEN_WINDOW_MS = 8 * 60 * 60 * 1000;
/** Without point-in-time recovery, how far from now an ExportTime may be and still mean "now". */
const NOW_TOLERANCE_MS = 60 * 1000;
/** An incremental export's window: 15 minutes to 24 hours (sources in errors.ts, incrementalRule). */
const MIN_INCREMENTAL_MS = 15 * 60 * 1000;
const MAX_INCREMENTAL_MS = 24 * 60 * 60 * 1000;
const PAGE = 25;

const EXPORT_ARN =
  /^arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table\/([a-zA-Z0-9_.-]{3,255})\/export\/(\d{14}-[0-9a-f]{8})$/;
const IMPORT_ARN =
  /^arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table\/([a-zA-Z0-9_.-]{3,255})\/import\/(\d{14}-[0-9a-f]{8})$/;

/** `<table ARN>/export/<14-digit epoch ms>-<8 hex>` (and `/import/`), as DynamoDB names them. */
const transferArn = (tableArn: string, kind: 'export' | 'import', now: number): string =>
  `${tableArn}/${kind}/${String(now).padStart(14, '0')}-${randomBytes(4).toString('hex')}`;

export class TransferManager {
  readonly #options: TransferManagerOptions;
  readonly #storage: TransferStorage<TransferRecord>;
  readonly #catalog: BackupRecords<TransferRecord>;
  readonly #buckets?: LocalBuckets;
  readonly #jobs: TransferJobs;

  constructor(options: TransferManagerOptions) {
    this.#options = options;
    this.#storage = options.storage;
    this.#catalog = options.storage.catalog;
    this.#jobs = new TransferJobs(this.#catalog, options.leases, (error) => options.onError?.(error));
    if (options.exportDir) this.#buckets = new LocalBuckets(options.exportDir);
  }

  /**
   * Before the first request (and over the engine at each sweep): a job still IN_PROGRESS that no
   * node runs did not finish (its process died). It is FAILED, and the half-filled table of an
   * import goes (as a failed import's). Embedded, every such job was this process's last one's;
   * over the engine, those whose lease this node can take (their node stopped renewing it).
   */
  async recover(tables: TableManager): Promise<void> {
    for (const { record } of await this.#catalog.all()) {
      if (statusOf(record) !== 'IN_PROGRESS') continue;
      await this.#jobs.takeOver(record, this.#storage.unfinishedAreOurs, async (fence) => {
        if (record.kind === 'import') {
          await tables.run(async () => {
            const regional = tables.inRegion(record.region);
            const name = String(record.TableCreationParameters.TableName);
            const table = regional.find(record.accountId, name);
            if (table?.TableId === record.TableId && table.TableStatus === 'CREATING') {
              await regional.delete(record.accountId, name);
            }
          }, 'write');
        }
        const failure = {
          FailureCode: 'InternalServerError',
          FailureMessage: 'sealdb stopped during the job',
          endTime: this.#options.clock.now(),
        };
        await this.#jobs.finish(
          record.kind === 'export'
            ? { ...record, ...failure, ExportStatus: 'FAILED' }
            : { ...record, ...failure, ImportStatus: 'FAILED' },
          fence,
        );
      });
    }
  }

  // -------------------------------------------------------------------------
  // Exports

  async startExport(
    tables: TableManager,
    account: string,
    request: ExportRequest,
    caller: KeyCaller,
  ): Promise<ExportRecord> {
    const buckets = this.#need();
    if (request.destination.S3Prefix) checkKey(request.destination.S3Prefix, 'S3Prefix');
    // Over the engine: this request run again (its unit's commit conflicted) started its export already.
    const again = this.#jobs.begunHere();
    if (again?.kind === 'export') return again;
    const table = tables.find(account, request.tableName);
    if (!table) throw tableNotFound(request.tableName);
    const now = this.#options.clock.now();
    const token = request.clientToken;
    if (token) {
      const same = (await this.#byToken('export', account, tables.region, token, now)) as ExportRecord | undefined;
      if (same) {
        if (sameExport(same, table, request)) return same;
        throw exportConflict();
      }
    }
    const pitr = this.#options.pitr;
    if (!this.#storage.available) throw pitrNotKept();
    // Without PITR an incremental export's window lies outside the (absent) history: the window's
    // error, not PointInTimeRecoveryUnavailableException, as the live service answers (DDB-EXPORT-001).
    if (request.incremental) {
      if (!pitr) throw pitrNotKept();
      return this.#startIncremental(tables, account, table, request, request.incremental, pitr, buckets, caller, now);
    }
    // ExportTableToPointInTime needs point-in-time recovery (PointInTimeRecoveryUnavailableException).
    if (pitr && !enabledPitr(table)) throw pitrUnavailable(request.tableName);
    const exportTime = this.#exportTime(table, request, now);
    const arn = transferArn(table.TableArn, 'export', now);
    // The snapshot is pinned before the answer: the table as it is now (a read transaction of its
    // own on the table file, or over its rows in the engine), or as it was at ExportTime (PITR's
    // image of that instant).
    const atNow = request.exportTime === undefined || !pitr;
    const open = atNow
      ? await tables.lend(account, request.tableName, caller, (lent) => ({
          source: this.#storage.readLive({ tableId: lent.definition.TableId, file: lent.file, dataKey: lent.dataKey }),
          definition: lent.definition,
        }))
      : await pitr.image(tables, account, request.tableName, exportTime, caller).then((image) => {
          const source: PinnedReader = {
            pinned: Promise.resolve(),
            read: groupsOf(image.items),
            close: () => image.close(),
          };
          return { source, definition: image.definition };
        });
    const { source, definition } = open;
    try {
      await source.pinned;
    } catch (error) {
      source.close();
      throw error;
    }
    const record: ExportRecord = {
      kind: 'export',
      accountId: account,
      region: tables.region,
      ExportArn: arn,
      ExportStatus: 'IN_PROGRESS',
      startTime: now,
      exportTime,
      TableArn: definition.TableArn,
      TableId: definition.TableId,
      ClientToken: token ?? randomUUID(),
      destination: request.destination,
      ExportFormat: request.format,
      ...(request.type ? { ExportType: request.type } : {}),
    };
    const fence = await this.#jobs.begin(record).catch((error: unknown) => {
      source.close();
      throw error;
    });
    this.#write(record, source, buckets, caller, fence);
    return record;
  }

  /** An INCREMENTAL_EXPORT: the window checked, its changes gathered before the answer. */
  async #startIncremental(
    tables: TableManager,
    account: string,
    table: TableDefinition,
    request: ExportRequest,
    spec: NonNullable<ExportRequest['incremental']>,
    pitr: PitrImages,
    buckets: LocalBuckets,
    caller: KeyCaller,
    now: number,
  ): Promise<ExportRecord> {
    const window = this.#incrementalWindow(table, spec, now);
    const changes = await pitr.changes(tables, account, request.tableName, window.from, window.to, caller);
    const definition = changes.definition;
    const record: ExportRecord = {
      kind: 'export',
      accountId: account,
      region: tables.region,
      ExportArn: transferArn(table.TableArn, 'export', now),
      ExportStatus: 'IN_PROGRESS',
      startTime: now,
      exportTime: window.to,
      TableArn: definition.TableArn,
      TableId: definition.TableId,
      ClientToken: request.clientToken ?? randomUUID(),
      destination: request.destination,
      ExportFormat: request.format,
      ExportType: 'INCREMENTAL_EXPORT',
      incremental: window,
    };
    const fence = await this.#jobs.begin(record).catch((error: unknown) => {
      changes.close();
      throw error;
    });
    const source = {
      changes: changes.changes,
      keys: keyAttributes(definition.KeySchema, definition.AttributeDefinitions),
      close: () => changes.close(),
    };
    this.#write(record, source, buckets, caller, fence);
    return record;
  }

  /** Runs the export job of `record` off the request path, and records how it ended. */
  #write(
    record: ExportRecord,
    source: ExportSource | IncrementalSource,
    buckets: LocalBuckets,
    caller: KeyCaller,
    fence: Fence | undefined,
  ) {
    this.#jobs.run(record, fence, async () => {
      if (!buckets.bucketExists(record.destination.S3Bucket)) {
        source.close();
        await this.#jobs.finish({
          ...record,
          ExportStatus: 'FAILED',
          endTime: this.#options.clock.now(),
          FailureCode: NO_SUCH_BUCKET.code,
          FailureMessage: NO_SUCH_BUCKET.message,
        });
        return;
      }
      try {
        const result = await runExport({
          record,
          source,
          buckets,
          sealer: this.#options.sealer,
          caller,
          sliceMs: this.#options.sliceMs ?? 8,
          now: () => this.#options.clock.now(),
          stopping: () => this.#jobs.stopping,
        });
        await this.#jobs.finish({
          ...record,
          ExportStatus: 'COMPLETED',
          endTime: this.#options.clock.now(),
          ExportManifest: result.manifestKey,
          ItemCount: result.itemCount,
          BilledSizeBytes: result.billedSizeBytes,
          ...(result.kmsKeyArn ? { kmsKeyArn: result.kmsKeyArn } : {}),
        });
      } catch (error) {
        const { code, message } = failureOf(error);
        await this.#jobs.finish({
          ...record,
          ExportStatus: 'FAILED',
          endTime: this.#options.clock.now(),
          FailureCode: code,
          FailureMessage: message,
        });
        if (code === 'InternalServerError' && !this.#jobs.stopping) this.#options.onError?.(error);
      }
    });
  }

  async describeExport(account: string, region: string, arn: string): Promise<ExportRecord> {
    const match = EXPORT_ARN.exec(arn);
    if (!match) throw invalidExportArn(arn);
    const record = (await this.#catalog.get(arn))?.record;
    if (record?.kind !== 'export' || record.accountId !== account) throw exportNotFound(arn);
    if (record.region !== region) throw exportNotFound(arn, true);
    return record;
  }

  /** Newest first (as DynamoDB lists a table's exports). */
  async listExports(account: string, region: string, tableArn: string | undefined, limit = PAGE, nextToken?: string) {
    const all = (await this.#records('export', account, region)).filter(
      (r) => tableArn === undefined || r.TableArn === tableArn,
    ) as ExportRecord[];
    return page(all, (r) => r.ExportArn, limit, nextToken);
  }

  // -------------------------------------------------------------------------
  // Imports

  async startImport(
    tables: TableManager,
    account: string,
    request: ImportRequest,
    caller: KeyCaller,
  ): Promise<ImportRecord> {
    const buckets = this.#need();
    if (request.source.S3KeyPrefix) checkKey(request.source.S3KeyPrefix, 'S3KeyPrefix');
    const now = this.#options.clock.now();
    // Over the engine: this request run again after a conflict. Its table is created again (the
    // first run's was not committed), under the first run's ARN.
    const again = this.#jobs.begunHere();
    const first = again?.kind === 'import' ? again : undefined;
    if (first) whenRolledBack(() => this.#jobs.abandon(first));
    const token = first?.ClientToken ?? request.clientToken ?? randomUUID();
    // Only the table name can conflict, and a replay while the import runs is that import; once it
    // ended, its table exists and refuses the replay first (scylladb test_import.py, measured on AWS).
    const earlier = (await this.#byToken('import', account, tables.region, token, now)) as ImportRecord | undefined;
    if (earlier && earlier.ImportArn !== first?.ImportArn) {
      if (earlier.TableCreationParameters.TableName !== request.table.TableName) throw importConflict();
      if (earlier.ImportStatus === 'IN_PROGRESS') return earlier;
    }
    // ImportTable's error list has ResourceInUseException, with the text AWS answers (test_import.py).
    const taken = tables.find(account, request.table.TableName);
    if (taken) throw tableExists(taken);
    let definition: TableDefinition;
    try {
      definition = await tables.create(account, request.table, request.choice, caller, 'CREATING');
    } catch (error) {
      if (error instanceof KeyAccessError) throw kmsValidationError(error);
      throw error;
    }
    const record: ImportRecord = {
      kind: 'import',
      accountId: account,
      region: tables.region,
      ImportArn: first?.ImportArn ?? transferArn(definition.TableArn, 'import', now),
      ImportStatus: 'IN_PROGRESS',
      TableArn: definition.TableArn,
      TableId: definition.TableId,
      ClientToken: token,
      S3BucketSource: request.source,
      InputFormat: request.format,
      ...(request.formatOptions ? { InputFormatOptions: request.formatOptions } : {}),
      InputCompressionType: request.compression,
      TableCreationParameters: request.creationParameters,
      startTime: first?.startTime ?? now,
      ProcessedItemCount: 0,
      ImportedItemCount: 0,
      ErrorCount: 0,
      errors: [],
    };
    const fence = await this.#jobs.begin(record);
    // A request that fails after all (its unit rolled back: no table) started no import.
    whenRolledBack(() => this.#jobs.abandon(record));
    // Filled once the new table is committed (at once with the embedded store; over the engine
    // after the request's unit).
    whenCommitted(() =>
      this.#jobs.run(record, fence, () => this.#fill(tables, record, definition, request, buckets, caller)),
    );
    return record;
  }

  /** The import job of `record`: its table filled in slices, then ACTIVE; how it ended recorded. */
  async #fill(
    tables: TableManager,
    record: ImportRecord,
    definition: TableDefinition,
    request: ImportRequest,
    buckets: LocalBuckets,
    caller: KeyCaller,
  ): Promise<void> {
    const account = record.accountId;
    const finish = (change: Partial<ImportRecord>) =>
      this.#jobs.finish({ ...record, ...change, endTime: this.#options.clock.now() } as ImportRecord);
    const dropTable = () =>
      tables
        .run(async () => {
          if (tables.find(account, definition.TableName)?.TableId === definition.TableId) {
            await tables.delete(account, definition.TableName);
          }
        }, 'write')
        .catch(() => undefined);
    if (!buckets.bucketExists(request.source.S3Bucket)) {
      // AWS: FAILED with S3NoSuchBucket, and no table is left behind.
      await dropTable();
      await finish({
        ImportStatus: 'FAILED',
        FailureCode: NO_SUCH_BUCKET.code,
        FailureMessage: NO_SUCH_BUCKET.message,
      });
      return;
    }
    try {
      const table = await tables.run(() => tables.open(account, definition.TableName, caller), 'read');
      const totals = await runImport({
        record,
        table,
        put: (items) => putSlice(tables, table.store, items),
        buckets,
        sealer: this.#options.sealer,
        caller,
        sliceMs: this.#options.sliceMs ?? 8,
        stopping: () => this.#jobs.stopping,
      });
      await tables.run(async () => {
        tables.update(account, definition.TableName, (current) =>
          current.TableId === definition.TableId && current.TableStatus === 'CREATING'
            ? { ...current, TableStatus: 'ACTIVE' }
            : current,
        );
      }, 'write');
      // Items that failed validation fail the import, but the table keeps what passed (as on AWS).
      await finish({
        ImportStatus: totals.errors > 0 ? 'FAILED' : 'COMPLETED',
        ...(totals.processedBytes > 0 ? { ProcessedSizeBytes: totals.processedBytes } : {}),
        ProcessedItemCount: totals.processed,
        ImportedItemCount: totals.imported,
        ErrorCount: totals.errors,
        errors: totals.log,
        ...(totals.errors > 0
          ? { FailureCode: ITEM_VALIDATION_FAILED.code, FailureMessage: ITEM_VALIDATION_FAILED.message }
          : {}),
      });
    } catch (error) {
      if (error instanceof FenceLost) throw error;
      await dropTable();
      const { code, message } = failureOf(error);
      await finish({ ImportStatus: 'FAILED', FailureCode: code, FailureMessage: message });
      if (code === 'InternalServerError' && !this.#jobs.stopping) this.#options.onError?.(error);
    }
  }

  async describeImport(account: string, region: string, arn: string): Promise<ImportRecord> {
    if (!IMPORT_ARN.exec(arn)) throw invalidImportArn(arn);
    const record = (await this.#catalog.get(arn))?.record;
    if (record?.kind !== 'import' || record.accountId !== account || record.region !== region)
      throw importNotFound(arn);
    return record;
  }

  async listImports(account: string, region: string, tableArn: string | undefined, limit = PAGE, nextToken?: string) {
    const all = (await this.#records('import', account, region)).filter(
      (r) => tableArn === undefined || r.TableArn === tableArn,
    ) as ImportRecord[];
    return page(all, (r) => r.ImportArn, limit, nextToken);
  }

  /** Resolves once every job running now has finished (tests, the CLI). */
  settled(): Promise<void> {
    return this.#jobs.settled();
  }

  /** Stops the jobs running here (each records that it stopped): before this node gives its leases up. */
  stop(): Promise<void> {
    return this.#jobs.stop();
  }

  async close(): Promise<void> {
    await this.stop();
    this.#catalog.close();
  }

  // -------------------------------------------------------------------------

  #need(): LocalBuckets {
    if (!this.#buckets) throw noExportDir();
    return this.#buckets;
  }

  /** The instant exported: ExportTime within the table's PITR window (now when absent). */
  #exportTime(table: TableDefinition, request: ExportRequest, now: number): number {
    const at = request.exportTime;
    if (at === undefined) return now;
    if (!this.#options.pitr) {
      // Without PITR only "now" can be exported.
      if (Math.abs(at - now) > NOW_TOLERANCE_MS) {
        throw invalidExportTime('ExportTime must be now: this sealdb keeps no point-in-time history');
      }
      return now;
    }
    // "You can export data from any time within the point in time recovery window" (API
    // Reference, ExportTableToPointInTime): EarliestRestorableDateTime to LatestRestorableDateTime,
    // as a restore. The live service answers "Export Time is invalid" for an ExportTime in the
    // future (now+5s, now+1h) or before the enablement, and "Point in Time Recovery is not
    // available for specified export time" for one in the past that is not restorable yet
    // (now-1s) (ack-api-quirks, export.md, DDB-EXPORT-001). Omitted, ExportTime is now (above).
    const window = restorableWindow(table, now);
    if (!window || at > now || at < window.earliest) throw invalidExportTime();
    if (at > window.latest) throw invalidExportTime(EXPORT_TIME_NOT_RESTORABLE);
    return at;
  }

  /**
   * An incremental export's window: ExportToTime defaults to "the latest time with data
   * available" (model: IncrementalExportSpecification), which for sealdb's log is now; 15
   * minutes to 24 hours long, inside the table's history.
   */
  #incrementalWindow(
    table: TableDefinition,
    spec: NonNullable<ExportRequest['incremental']>,
    now: number,
  ): IncrementalWindow {
    const from = spec.from;
    const to = spec.to ?? now;
    // In the live service's order (errors.ts): the start, the end, then the length (an inverted
    // window is "less than 15 minutes").
    const history = historyWindow(table, now);
    if (!history || from < history.earliest) throw incrementalFromTooEarly(from);
    if (to > history.latest) throw incrementalToInFuture(to);
    if (to - from < MIN_INCREMENTAL_MS) throw incrementalLength(false);
    if (to - from > MAX_INCREMENTAL_MS) throw incrementalLength(true);
    if (spec.exportTime) throw validationError(incrementalRule.exportTimeGiven);
    return { from, to, view: spec.view };
  }

  async #byToken(kind: 'export' | 'import', account: string, region: string, token: string, now: number) {
    return (await this.#records(kind, account, region)).find(
      (r) => r.ClientToken === token && (r.endTime === undefined || now - r.endTime < TOKEN_WINDOW_MS),
    );
  }

  async #records(kind: 'export' | 'import', account: string, region: string): Promise<TransferRecord[]> {
    return (await this.#catalog.all())
      .map((e) => e.record)
      .filter((r) => r.kind === kind && r.accountId === account && r.region === region)
      .sort((a, b) => b.startTime - a.startTime || (arnOf(a) < arnOf(b) ? 1 : -1));
  }
}

function sameExport(r: ExportRecord, table: TableDefinition, request: ExportRequest): boolean {
  const d = r.destination;
  const n = request.destination;
  return (
    r.TableArn === table.TableArn &&
    r.ExportFormat === request.format &&
    (r.ExportType ?? 'FULL_EXPORT') === (request.type ?? 'FULL_EXPORT') &&
    d.S3Bucket === n.S3Bucket &&
    d.S3BucketOwner === n.S3BucketOwner &&
    d.S3Prefix === n.S3Prefix &&
    (d.S3SseAlgorithm ?? 'AES256') === (n.S3SseAlgorithm ?? 'AES256') &&
    d.S3SseKmsKeyId === n.S3SseKmsKeyId &&
    (request.exportTime === undefined || request.exportTime === r.exportTime) &&
    sameWindow(r.incremental, request.incremental)
  );
}

function sameWindow(r: IncrementalWindow | undefined, n: ExportRequest['incremental']): boolean {
  if (!r || !n) return r === undefined && n === undefined;
  return r.from === n.from && r.view === n.view && (n.to === undefined || n.to === r.to);
}

/**
 * A failed job's FailureCode and FailureMessage: a KMS refusal as S3 names it for SSE-KMS
 * (`KMS.<exception>`), a bucket folder sealdb may not write as S3AccessDenied, another AWS error
 * by its type, anything else as InternalServerError.
 */
function failureOf(error: unknown): { code: string; message: string } {
  if (error instanceof KeyAccessError) return { code: `KMS.${error.kmsCode}`, message: error.kmsMessage };
  if (error instanceof AwsError) {
    return { code: error.statusCode < 500 ? `KMS.${error.code}` : error.code, message: error.message };
  }
  const e = error as NodeJS.ErrnoException;
  if (e?.code === 'EACCES' || e?.code === 'EPERM') return { code: 'S3AccessDenied', message: 'Access Denied' };
  return { code: 'InternalServerError', message: e?.message ?? String(error) };
}

/**
 * A page of records; the NextToken is the hex of the last ARN shown, padded to the model's
 * pattern for ListImports (`([0-9a-f]{16})+`, at least 112 characters).
 */
function page<R>(all: R[], arn: (r: R) => string, limit: number, nextToken: string | undefined) {
  let start = 0;
  if (nextToken !== undefined) {
    const after = decodeToken(nextToken);
    const at = after === undefined ? -1 : all.findIndex((r) => arn(r) === after);
    if (at < 0) throw invalidNextToken(nextToken);
    start = at + 1;
  }
  const items = all.slice(start, start + limit);
  const last = items[items.length - 1];
  return { items, ...(start + limit < all.length && last ? { nextToken: encodeToken(arn(last)) } : {}) };
}

function encodeToken(arn: string): string {
  let hex = Buffer.from(`sealdb:${arn}`, 'utf8').toString('hex');
  while (hex.length < 112 || hex.length % 16 !== 0) hex += '00';
  return hex;
}

function decodeToken(token: string): string | undefined {
  if (!/^([0-9a-f]{16})+$/.test(token)) return undefined;
  const text = Buffer.from(token, 'hex').toString('utf8').replace(/\0+$/, '');
  return text.startsWith('sealdb:') ? text.slice('sealdb:'.length) : undefined;
}
