/**
 * Assembles a sealdb server: root of trust → KMS → table keys → catalog and
 * tables → services → one HTTP port. Used by `sealdb start` and by the tests
 * (with a manual clock).
 */
import type { AddressInfo } from 'node:net';
import { resolve as resolvePath } from 'node:path';
import { type AuditTrail, createAuditTrail, openAuditSigner } from './cloudtrail/index.js';
import { isFenceLost, LEASES, leasedTtlTables, runLeasedWork } from './cluster/leased-work.js';
import { LeaseKeeper, type LeaseTiming } from './cluster/leases.js';
import { type Clock, OffsetClock, systemClock } from './core/clock.js';
import { RequestActivity } from './core/duty-cycle.js';
import { BackupManager } from './dynamodb/backups/manager.js';
import type { BackupRecord } from './dynamodb/backups/record.js';
import { RestoreJobs } from './dynamodb/backups/restore-leases.js';
import { KmsSealer } from './dynamodb/exports/kms-sealer.js';
import { TransferManager } from './dynamodb/exports/manager.js';
import type { TransferRecord } from './dynamodb/exports/records.js';
import { IndexJobs, type IndexJobsOptions } from './dynamodb/indexes/backfill.js';
import { registerIndexMetrics } from './dynamodb/indexes/metrics.js';
import { PitrManager } from './dynamodb/pitr/manager.js';
import { DynamoDbService } from './dynamodb/service.js';
import { DYNAMODB_ENCRYPTION_CHANGE_LIMIT, type EncryptionChangeLimit } from './dynamodb/sse.js';
import { type TableDefinition, tableArnRegion } from './dynamodb/table-definition.js';
import { TableManager } from './dynamodb/tables.js';
import { type TtlSliceTiming, TtlSweeper } from './dynamodb/ttl/sweeper.js';
import { DEFAULT_KMS_GRACE_MS, KmsOutage } from './encryption/kms-outage.js';
import { type RootKeySource, RootOfTrust } from './encryption/root-of-trust.js';
import { recordPendingRotation } from './encryption/root-rotation.js';
import type { KeyCacheScope } from './encryption/table-key-cache.js';
import { TableKeyService } from './encryption/table-keys.js';
import { builtinTableKms, type TableKms } from './encryption/table-kms.js';
import {
  type AccountConfig,
  type Authenticator,
  LocalAuthenticator,
  SharedDbAuthenticator,
  StrictAuthenticator,
} from './http/auth.js';
import type { RequestLogEntry } from './http/request-log.js';
import { createHttpServer } from './http/server.js';
import { isRegionName } from './http/sigv4.js';
import type { ExternalKms } from './kms/external/external-kms.js';
import { healthRoute, registerOutageMetrics } from './kms/external/health.js';
import { createKmsService, type KmsCallEvent, type KmsService } from './kms/index.js';
import { Metrics } from './metrics/metrics.js';
import { EmbeddedBackupStorage } from './storage/backup-storage.js';
import { Catalog } from './storage/catalog.js';
import { Checkpointer } from './storage/checkpointer.js';
import { DamagedFileError } from './storage/damage.js';
import { DataDir } from './storage/data-dir.js';
import { DataDirLock } from './storage/data-dir-lock.js';
import { EmbeddedPitrSnapshots } from './storage/pitr-snapshots.js';
import { registerEngineMetrics } from './storage/postgres/metrics.js';
import { EmbeddedTransferStorage } from './storage/transfer-storage.js';
import type { Durability } from './storage/wal-sync.js';
import { registerStreamMetrics } from './streams/metrics.js';
import { DynamoDbStreamsService } from './streams/service.js';
import { trimStreams } from './streams/trimmer.js';
import { TIME_PATH, timeEndpoint } from './time-travel/time-endpoint.js';

/** Connections the kernel may hold completed for sealdb before it accepts them (see the listen call). */
const LISTEN_BACKLOG = 4096;

export type AuthConfig =
  | { readonly mode: 'local' }
  | { readonly mode: 'strict'; readonly accounts: readonly AccountConfig[] };

/**
 * Where table keys come from: sealdb's built-in KMS (also served on the port), or an external
 * AWS-KMS-compatible service (the built-in KMS API is then off).
 */
export type KmsConfig =
  | { readonly mode: 'builtin' }
  | {
      readonly mode: 'external';
      /** undefined = AWS KMS's regional endpoint of each table's region. */
      readonly endpoint?: string;
      /** How long cached table keys stand in while the KMS fails transiently (default 15 minutes). */
      readonly graceMs?: number;
      /** The key of tables that ask for the AWS managed key (AWS KMS lets only DynamoDB use that one). */
      readonly defaultKeyId?: string;
      /** Explicit credentials (tests); otherwise the AWS SDK's default chain. */
      readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
      readonly timeoutMs?: number;
      readonly maxAttempts?: number;
    };

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  /** undefined keeps everything in memory (nothing is written to disk). */
  readonly dataDir: string | undefined;
  /**
   * A PostgreSQL-compatible engine's URL (`postgres://…`, `?schema=` optional): tables and the
   * catalog live there, shared by every node started with it and the same root of trust.
   * Absent: the embedded encrypted files under dataDir (the default).
   */
  readonly storage?: string;
  /**
   * The default region: of requests whose credentials name none, of `sharedDb`, and of tables
   * stored before tables were kept per region. Otherwise each request acts in the region of its
   * SigV4 credential scope, as against AWS.
   */
  readonly region: string;
  /**
   * DynamoDB Local's `-sharedDb`: every caller acts in the one local account (000000000000) and
   * the default region, whatever its credentials. With strict auth signatures are still verified.
   */
  readonly sharedDb?: boolean;
  readonly rootKey: RootKeySource;
  /** Default: the built-in KMS. */
  readonly kms?: KmsConfig;
  readonly auth: AuthConfig;
  readonly clock?: Clock;
  /** `connection` (DynamoDB's behaviour) or `table` (one shared cache per table). */
  readonly keyCacheScope?: KeyCacheScope;
  readonly encryptionChangeLimit?: EncryptionChangeLimit;
  /** `process` (default): acknowledged writes survive a crash; `fsync`: also power loss. */
  readonly durability?: Durability;
  /** How often the background key check runs, in real milliseconds (0 = only when called). */
  readonly sweepIntervalMs?: number;
  /** Background GSI work (backfill, drop): slice bounds, and `manual` for tests that step it. */
  readonly indexJobs?: Pick<IndexJobsOptions, 'mode' | 'sliceMs' | 'sliceItems' | 'busyShare'>;
  /** Real milliseconds between the TTL sweeper's passes over tables with TTL enabled (default 10 s; 0 = only `sweep()`). */
  readonly ttlSweepIntervalMs?: number;
  /** Told what each TTL slice that deleted held the event loop for (bench:ttl). */
  readonly onTtlSlice?: (timing: TtlSliceTiming) => void;
  /**
   * Engine storage: the leases that keep background work (TTL sweeps, stream trimming) on one
   * node at a time (src/cluster/leases.ts). Default: 15 s expiry, renewed every 5 s.
   */
  readonly leases?: Partial<LeaseTiming>;
  /**
   * Test only: `POST /_sealdb/time` moves the server's clock forward (over `clock`) and runs the
   * sweep; without it that call is refused. With strict auth it is only taken from loopback.
   */
  readonly allowTimeTravel?: boolean;
  readonly onInternalError?: (error: unknown) => void;
  /** Told about damage the audit trail found and worked around (default: stderr). */
  readonly onAuditWarning?: (message: string) => void;
  /** Told once, before anything else is written, when this start created a new root key file. */
  readonly onRootKeyCreated?: (keyFile: string) => void;
  /** Told once per answered request (the request log); absent = no per-request work at all. */
  readonly onRequestComplete?: (entry: RequestLogEntry) => void;
  /** Test hook: sees every KMS call event after it has been handed to the audit trail. */
  readonly onKmsCall?: (event: KmsCallEvent) => void;
  /** Origins whose browser requests get CORS headers (default `['*']`: any origin, as DynamoDB Local's `-cors *`). */
  readonly corsAllowedOrigins?: readonly string[];
  /** Clock milliseconds between the PITR snapshots of a table (default 24 hours; see dynamodb/pitr). */
  readonly pitrSnapshotIntervalMs?: number;
  /** The item-collection limit of tables with LSIs (default DynamoDB's 10 GB): a test hook. */
  readonly itemCollectionLimitBytes?: number;
  /**
   * The folder standing in for S3 in ExportTableToPointInTime and ImportTable: a bucket is a
   * subfolder of it. Absent: those operations are refused.
   */
  readonly exportDir?: string;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
  /** Runs the background work now: key checks (inaccessible tables, archival, expired cached keys), closing audit hours, a TTL pass. */
  sweep(): Promise<void>;
  /** Runs one slice of every table's GSI work (backfill, drop); true while work remains. */
  indexJobsStep(): Promise<boolean>;
  /** Resolves once the full page checks of the files opened so far have ended (their damage reported). */
  pageChecks(): Promise<void>;
  /** Stops accepting requests, answers those in flight, then closes every file. */
  close(): Promise<void>;
}

/** The server's own trail, lent to a helper that closes what it is given. */
const keepOpen = (audit: AuditTrail): AuditTrail => ({ ...audit, close: async () => {} });

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // It names files and ARNs, as a client's region does, so it must be as well-formed.
  if (!isRegionName(options.region)) throw new Error(`Not a region name: '${options.region}'`);
  // Before anything is written: a second process on the same data directory would damage it.
  const lock = options.dataDir === undefined ? undefined : DataDirLock.acquire(options.dataDir);
  try {
    const server = await assembleServer(options);
    return { ...server, close: () => server.close().finally(() => lock?.release()) };
  } catch (error) {
    lock?.release();
    throw error;
  }
}

async function assembleServer(options: ServerOptions): Promise<RunningServer> {
  const travel = options.allowTimeTravel ? new OffsetClock(options.clock ?? systemClock) : undefined;
  const clock = travel ?? options.clock ?? systemClock;
  // Checked before any data file is opened: a wrong root key touches nothing.
  const root = RootOfTrust.open(
    options.dataDir === undefined ? { kind: 'ephemeral' } : options.rootKey,
    options.dataDir,
  );
  if (root.createdKeyFile) options.onRootKeyCreated?.(root.createdKeyFile);
  // Engine storage keeps the signing key in the engine, with the trail.
  const auditSigner =
    options.dataDir === undefined || options.storage !== undefined
      ? undefined
      : await openAuditSigner(options.dataDir, root, options.onAuditWarning).catch((error: unknown) => {
          root.destroy();
          throw error;
        });
  const dataDir = new DataDir(options.dataDir);
  const durability = options.durability ?? 'process';
  const kmsConfig = options.kms ?? { mode: 'builtin' };
  // With engine storage everything a restart must find lives in the engine: tables and catalog,
  // the KMS key store and the audit trail. Loaded only then: the embedded store never loads the
  // PostgreSQL client.
  const engine =
    options.storage !== undefined
      ? await (await import('./storage/postgres/backend.js')).EngineBackend.open({ url: options.storage }).catch(
          (error: unknown) => {
            root.destroy();
            throw error;
          },
        )
      : undefined;
  const kms: KmsService | undefined =
    kmsConfig.mode === 'builtin'
      ? createKmsService({
          root,
          ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
          clock,
          region: options.region,
          durability,
          ...(engine
            ? { store: engine.keyStore(root), runUnit: <T>(work: () => Promise<T>) => engine.runService(work) }
            : {}),
        })
      : undefined;
  // Late-bound: the metrics read the tables, which are built after the key service they count.
  let tables: TableManager | undefined;
  const metrics = new Metrics(() => tables?.summaries() ?? []);
  const digestLeases: { keeper?: LeaseKeeper } = {};
  const audit = createAuditTrail({
    root,
    clock,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.onAuditWarning ? { onWarning: options.onAuditWarning } : {}),
    ...(auditSigner ? { signer: auditSigner } : {}),
    onDigestFailure: metrics.auditDigestFailure,
    ...(engine
      ? {
          store: engine.trailStore(root, clock, {
            ...(options.onAuditWarning ? { warn: options.onAuditWarning } : {}),
            onDigestFailure: metrics.auditDigestFailure,
            // The lease keeper starts later: until then (start-up's own records) any node may.
            digestsHere: async () =>
              !digestLeases.keeper || (await digestLeases.keeper.ensure(LEASES.audit)) !== undefined,
          }),
        }
      : {}),
  });
  // A root rotation killed between its switch and its audit record is recorded now (the trail stays open).
  if (options.dataDir !== undefined) await recordPendingRotation(options.dataDir, root, async () => keepOpen(audit));
  const onKmsCall = options.onKmsCall;
  let tableKms: TableKms;
  let external: ExternalKms | undefined;
  let outage: KmsOutage | undefined;
  if (kms) {
    // Each KMS call is appended durably to the trail before its response is sent.
    kms.onCall((event) => audit.record(event));
    kms.onCall((event) => metrics.kmsCall(event.eventName, event.errorCode ? 'failure' : 'success'));
    if (onKmsCall) kms.onCall((event) => onKmsCall(event));
    tableKms = builtinTableKms(kms);
  } else {
    const config = kmsConfig as Extract<KmsConfig, { mode: 'external' }>;
    outage = new KmsOutage(clock, config.graceMs ?? DEFAULT_KMS_GRACE_MS);
    registerOutageMetrics(metrics.registry, outage);
    // Loaded only here: the AWS SDK it needs was a quarter of the CPU of every `sealdb start`
    // (0.25 of 1.0 s on this VM), the crash loop's 40 restarts and the CLI's commands included.
    const { ExternalKms } = await import('./kms/external/external-kms.js');
    external = new ExternalKms({
      endpoint: config.endpoint,
      clock,
      outage,
      ...(config.defaultKeyId ? { defaultKeyId: config.defaultKeyId } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
      ...(config.timeoutMs !== undefined ? { timeoutMs: config.timeoutMs } : {}),
      ...(config.maxAttempts !== undefined ? { maxAttempts: config.maxAttempts } : {}),
      // sealdb's own record of each outgoing call, durable before the key is used.
      onCall: async (event) => {
        await audit.record(event);
        metrics.kmsCall(event.eventName, event.errorCode ? 'failure' : 'success');
        onKmsCall?.(event);
      },
    });
    tableKms = external;
  }
  const keys = new TableKeyService(
    tableKms,
    root,
    clock,
    options.keyCacheScope ?? 'connection',
    metrics.cacheStats,
    outage,
  );
  // A table stored before the catalog kept regions is in the region its ARN names (the server's
  // region when it was created, which its KMS key shares): there it keeps working.
  const catalog = engine
    ? engine.catalog<TableDefinition>(root)
    : Catalog.open<TableDefinition>(
        dataDir,
        root,
        durability,
        (definition) => tableArnRegion(definition.TableArn) ?? options.region,
      );
  const checkpointer = dataDir.inMemory ? undefined : new Checkpointer();
  // Table and backup files are page-checked whole in the background (catalogs at open, in full).
  const pageChecker = engine ? undefined : checkpointer?.pageChecker;
  tables = new TableManager({
    catalog,
    dataDir,
    keys,
    clock,
    region: options.region,
    ...(engine ? { backend: engine } : {}),
    storage: {
      durability,
      onWalSync: metrics.walSync,
      ...(checkpointer ? { checkpointer } : {}),
      ...(pageChecker
        ? {
            pageChecker,
            // Takes the table out of service and tells the operator once, naming the file.
            onDamage: (error: DamagedFileError) => void tables?.damaged(error),
          }
        : {}),
    },
    // The operator's log line (once per damaged file) and a metric naming the file.
    onDamagedFile: (error, kind) => {
      metrics.damagedFile(error.file, kind);
      options.onInternalError?.(error);
    },
  });
  const tableManager = tables;
  // Engine storage: background work runs on the one node holding its lease (cluster/leased-work.ts).
  const leases = engine
    ? new LeaseKeeper({
        engine: engine.engine,
        clock,
        names: [LEASES.ttl, LEASES.streams, LEASES.tables, LEASES.pitr, LEASES.backups, LEASES.audit],
        ...(options.leases ? { timing: options.leases } : {}),
        ...(options.onInternalError ? { onError: options.onInternalError } : {}),
      })
    : undefined;
  // Restores from backups and to a point in time: one whose process died leaves no CREATING table.
  const restores = new RestoreJobs(leases);
  // Backups live where the tables do: files of the data directory, or rows of the engine.
  const backups = new BackupManager({
    storage: engine
      ? engine.backupStorage<BackupRecord>(root)
      : new EmbeddedBackupStorage<BackupRecord>(dataDir, root, durability, pageChecker),
    keys,
    clock,
    restores,
    ...(leases ? { leases } : {}),
    ...(options.onInternalError ? { onError: options.onInternalError } : {}),
  });
  tableManager.archivalBackups = backups;
  // PITR snapshots live where the tables do (the change log is in the tables' own stores).
  const pitr = new PitrManager({
    snapshots: engine ? engine.pitrSnapshots() : new EmbeddedPitrSnapshots(dataDir),
    clock,
    restores,
    ...(options.pitrSnapshotIntervalMs !== undefined ? { snapshotIntervalMs: options.pitrSnapshotIntervalMs } : {}),
    ...(options.onInternalError ? { onError: options.onInternalError } : {}),
  });
  metrics.pitrBytes(() => pitr.diskUse(tableManager));
  // Export and import records live where the tables do; over the engine each job holds a lease of its own.
  const transfers = new TransferManager({
    storage: engine
      ? engine.transferStorage<TransferRecord>(root)
      : new EmbeddedTransferStorage<TransferRecord>(dataDir, root, durability),
    ...(leases ? { leases } : {}),
    ...(options.exportDir ? { exportDir: resolvePath(options.exportDir) } : {}),
    sealer: new KmsSealer(tableKms),
    clock,
    pitr,
    ...(options.onInternalError ? { onError: options.onInternalError } : {}),
  });
  // Before the first request: counts and logs of tables that were open when the last process died.
  await tableManager.recover();
  // Backups the last process did not finish copying are dropped.
  await backups.recover();
  // Snapshots the last process did not finish copying are dropped.
  pitr.recover(tableManager);
  // Tables the last process was restoring into when it died are dropped (one process per data directory).
  if (!engine) await restores.dropUnfinished(tableManager);
  await leases?.start();
  digestLeases.keeper = leases;
  // After the tables': an import cut short by the last stop leaves no half-filled table (over the
  // engine: a job whose node stopped renewing its lease, this node's last process's or another's).
  await transfers.recover(tableManager);
  // Requests being served: background work (index backfill) then takes only a small share of the loop.
  const activity = new RequestActivity();
  const indexJobs = new IndexJobs({
    tables: tableManager,
    busy: () => activity.busy(),
    ...(leases
      ? {
          leased: <T>(fn: () => Promise<T>) =>
            runLeasedWork(leases, LEASES.backfill, () => tableManager.run(fn, 'write')),
          leaseRetryMs: leases.timing.renewMs,
        }
      : {}),
    ...options.indexJobs,
    onError: (error) => {
      if (error instanceof DamagedFileError) tableManager.damaged(error);
      else options.onInternalError?.(error);
    },
  });
  const dynamodbEnv = {
    tables: tableManager,
    indexJobs,
    clock,
    region: options.region,
    encryptionChangeLimit: options.encryptionChangeLimit ?? DYNAMODB_ENCRYPTION_CHANGE_LIMIT,
    ...(options.itemCollectionLimitBytes !== undefined
      ? { itemCollectionLimitBytes: options.itemCollectionLimitBytes }
      : {}),
    backups,
    ...(pitr ? { pitr } : {}),
    transfers,
  };
  const dynamodb = new DynamoDbService(dynamodbEnv);
  const streams = new DynamoDbStreamsService(dynamodbEnv);
  registerStreamMetrics(metrics.registry);
  registerIndexMetrics(metrics.registry);
  if (engine) registerEngineMetrics(metrics.registry, engine.engine);

  // One sweep at a time: the timer's and the time endpoint's must not interleave their table steps.
  let sweeping: Promise<void> = Promise.resolve();
  // Engine storage: each step on the one node holding its lease (its units fenced by it).
  const leased = (name: string, work: () => Promise<unknown>) => (leases ? runLeasedWork(leases, name, work) : work());
  const sweep = (): Promise<void> => {
    const run = async () => {
      tableManager.evictExpiredKeys();
      await leased(LEASES.tables, () => tableManager.run(() => tableManager.sweep(), 'write'));
      // Tables the sweep brought back may have index work waiting for their key.
      indexJobs.wake();
      await leased(LEASES.streams, () => tableManager.run(async () => trimStreams(tableManager, clock.now()), 'write'));
      await leased(LEASES.pitr, () => pitr.pass(tableManager));
      // SYSTEM backups past their BackupExpiryDateTime (a deleted table's, 35 days on), and over the
      // engine copies of nodes that died (each under its own lease).
      await leased(LEASES.backups, () => backups.expire());
      // Over the engine: restores of nodes that died (each taken under its own lease).
      if (engine) await restores.dropUnfinished(tableManager);
      // Over the engine: the jobs of nodes that died (each taken under its own lease).
      if (engine) await transfers.recover(tableManager);
      await audit.sweep();
    };
    sweeping = sweeping.then(run, run);
    return sweeping;
  };
  // A lease lost between a slice's start and its commit only means another node sweeps now.
  const onBackgroundError = (error: unknown) => {
    if (!isFenceLost(error)) options.onInternalError?.(error);
  };
  const ttl = new TtlSweeper({
    tables: leases ? leasedTtlTables(tableManager, leases) : tableManager,
    clock,
    onDeleted: metrics.ttlDeleted,
    onError: onBackgroundError,
    ...(options.onTtlSlice ? { onSlice: options.onTtlSlice } : {}),
  });
  // On request (tests, the time endpoint) a TTL pass follows, so items the new time expires are gone when it answers.
  const sweepNow = () => sweep().then(() => ttl.pass());

  const verifier: Authenticator | undefined =
    options.auth.mode === 'strict' ? new StrictAuthenticator([...options.auth.accounts], clock) : undefined;
  const authenticator: Authenticator = options.sharedDb
    ? new SharedDbAuthenticator(verifier)
    : (verifier ?? new LocalAuthenticator());
  const http = createHttpServer({
    services: [dynamodb, streams, ...(kms ? [kms.handler] : []), ...audit.handlers],
    authenticator,
    region: options.region,
    // `/health` only with an external KMS (its outage flag): DynamoDB answers 404 there, and so does sealdb otherwise.
    getRoutes: new Map<string, () => Promise<{ contentType: string; body: string }>>([
      ['/metrics', () => metrics.render()],
      ...(kmsConfig.mode === 'external'
        ? [['/health', healthRoute('external', kmsConfig.endpoint, outage)] as const]
        : []),
    ]),
    adminRoutes: new Map([
      [TIME_PATH, timeEndpoint({ clock, travel, loopbackOnly: options.auth.mode === 'strict', sweep: sweepNow })],
    ]),
    onConnectionClosed: (id) => tableManager.onConnectionClosed(id),
    activity,
    ...(options.corsAllowedOrigins ? { corsAllowedOrigins: options.corsAllowedOrigins } : {}),
    ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
    ...(options.onRequestComplete ? { onRequestComplete: options.onRequestComplete } : {}),
  });

  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    // Node's default backlog is 511: a burst of new connections beyond it while the event loop is
    // busy would overflow the kernel's queue. A precaution (the hostile-HTTP part's 10k idle
    // connections never overflowed it; what they showed was the harness, see hostile-http.ts).
    // The kernel caps it at net.core.somaxconn.
    http.server.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
      http.server.off('error', reject);
      resolve();
    });
  });
  const { port } = http.server.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;

  const interval = options.sweepIntervalMs ?? 60_000;
  const timer =
    interval > 0
      ? setInterval(() => {
          sweep().catch((error: unknown) => {
            // Reported once, when found, rather than at every pass.
            if (error instanceof DamagedFileError) tableManager.damaged(error);
            else onBackgroundError(error);
          });
        }, interval)
      : undefined;
  timer?.unref();
  // Index work left by the last process (a backfill resumes where it stopped).
  indexJobs.wake();
  ttl.start(options.ttlSweepIntervalMs ?? 10_000);

  let closing: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    endpoint: `http://${hostForUrl}:${port}`,
    indexJobsStep: () => indexJobs.step(),
    sweep: sweepNow,
    pageChecks: () => pageChecker?.idle() ?? Promise.resolve(),
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        await ttl.stop();
        // Jobs stop (and record it) while their leases stand.
        await transfers.stop();
        // Given up before the engine's pool closes, so another node takes the work over at once.
        await leases?.stop();
        const stopped = new Promise<void>((resolve) => http.server.close(() => resolve()));
        http.server.closeIdleConnections();
        await http.drain();
        http.server.closeAllConnections();
        await stopped;
        await transfers.close();
        await backups.close();
        await pitr.close();
        // A check still running is dropped: it runs again when the file is next opened.
        pageChecker?.stop();
        await indexJobs.stop();
        await tableManager.close();
        await checkpointer?.stop();
        keys.close();
        kms?.close();
        external?.close();
        await audit.close();
        await engine?.closeServices();
        root.destroy();
      })();
      return closing;
    },
  };
}
