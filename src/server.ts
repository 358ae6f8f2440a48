/**
 * Assembles a sealdb server: root of trust → KMS → table keys → catalog and
 * tables → services → one HTTP port. Used by `sealdb start` and by the tests
 * (with a manual clock).
 */
import type { AddressInfo } from 'node:net';
import { createAuditTrail, openAuditSigner } from './cloudtrail/index.js';
import { type Clock, OffsetClock, systemClock } from './core/clock.js';
import { BackupManager } from './dynamodb/backups/manager.js';
import type { BackupRecord } from './dynamodb/backups/record.js';
import { DynamoDbService } from './dynamodb/service.js';
import { DYNAMODB_ENCRYPTION_CHANGE_LIMIT, type EncryptionChangeLimit } from './dynamodb/sse.js';
import { type TableDefinition, tableArnRegion } from './dynamodb/table-definition.js';
import { TableManager } from './dynamodb/tables.js';
import { type RootKeySource, RootOfTrust } from './encryption/root-of-trust.js';
import type { KeyCacheScope } from './encryption/table-key-cache.js';
import { TableKeyService } from './encryption/table-keys.js';
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
import { createKmsService, type KmsCallEvent } from './kms/index.js';
import { Metrics } from './metrics/metrics.js';
import { BackupCatalog } from './storage/backup-catalog.js';
import { Catalog } from './storage/catalog.js';
import { Checkpointer } from './storage/checkpointer.js';
import { DamagedFileError } from './storage/damage.js';
import { DataDir } from './storage/data-dir.js';
import { DataDirLock } from './storage/data-dir-lock.js';
import type { Durability } from './storage/wal-sync.js';
import { TIME_PATH, timeEndpoint } from './time-travel/time-endpoint.js';

export type AuthConfig =
  | { readonly mode: 'local' }
  | { readonly mode: 'strict'; readonly accounts: readonly AccountConfig[] };

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  /** undefined keeps everything in memory (nothing is written to disk). */
  readonly dataDir: string | undefined;
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
  readonly auth: AuthConfig;
  readonly clock?: Clock;
  /** `connection` (DynamoDB's behaviour) or `table` (one shared cache per table). */
  readonly keyCacheScope?: KeyCacheScope;
  readonly encryptionChangeLimit?: EncryptionChangeLimit;
  /** `process` (default): acknowledged writes survive a crash; `fsync`: also power loss. */
  readonly durability?: Durability;
  /** How often the background key check runs, in real milliseconds (0 = only when called). */
  readonly sweepIntervalMs?: number;
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
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
  /** Runs the background work now: key checks (inaccessible tables, archival, expired cached keys), closing audit hours. */
  sweep(): Promise<void>;
  /** Stops accepting requests, answers those in flight, then closes every file. */
  close(): Promise<void>;
}

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
  const auditSigner =
    options.dataDir === undefined
      ? undefined
      : await openAuditSigner(options.dataDir, root, options.onAuditWarning).catch((error: unknown) => {
          root.destroy();
          throw error;
        });
  const dataDir = new DataDir(options.dataDir);
  const durability = options.durability ?? 'process';
  const kms = createKmsService({
    root,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    clock,
    region: options.region,
    durability,
  });
  // Late-bound: the metrics read the tables, which are built after the key service they count.
  let tables: TableManager | undefined;
  const metrics = new Metrics(() => tables?.summaries() ?? []);
  const audit = createAuditTrail({
    root,
    clock,
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(options.onAuditWarning ? { onWarning: options.onAuditWarning } : {}),
    ...(auditSigner ? { signer: auditSigner } : {}),
    onDigestFailure: metrics.auditDigestFailure,
  });
  // Each KMS call is appended durably to the trail before its response is sent.
  kms.onCall((event) => audit.record(event));
  kms.onCall((event) => metrics.kmsCall(event.eventName, event.errorCode ? 'failure' : 'success'));
  const onKmsCall = options.onKmsCall;
  if (onKmsCall) kms.onCall((event) => onKmsCall(event));
  const keys = new TableKeyService(kms, root, clock, options.keyCacheScope ?? 'connection', metrics.cacheStats);
  // A table stored before the catalog kept regions is in the region its ARN names (the server's
  // region when it was created, which its KMS key shares): there it keeps working.
  const catalog = Catalog.open<TableDefinition>(
    dataDir,
    root,
    durability,
    (definition) => tableArnRegion(definition.TableArn) ?? options.region,
  );
  const checkpointer = dataDir.inMemory ? undefined : new Checkpointer();
  tables = new TableManager({
    catalog,
    dataDir,
    keys,
    clock,
    region: options.region,
    storage: {
      durability,
      onWalSync: metrics.walSync,
      ...(checkpointer ? { checkpointer } : {}),
    },
    // The operator's log line (once per damaged file) and a metric naming the file.
    onDamagedFile: (error, kind) => {
      metrics.damagedFile(error.file, kind);
      options.onInternalError?.(error);
    },
  });
  const tableManager = tables;
  const backups = new BackupManager({
    catalog: BackupCatalog.open<BackupRecord>(dataDir, root, durability),
    dataDir,
    keys,
    clock,
    ...(options.onInternalError ? { onError: options.onInternalError } : {}),
  });
  tableManager.archivalBackups = backups;
  // Before the first request: counts and logs of tables that were open when the last process died.
  await tableManager.recover();
  const dynamodb = new DynamoDbService({
    tables: tableManager,
    clock,
    region: options.region,
    encryptionChangeLimit: options.encryptionChangeLimit ?? DYNAMODB_ENCRYPTION_CHANGE_LIMIT,
    backups,
  });

  // One sweep at a time: the timer's and the time endpoint's must not interleave their table steps.
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = (): Promise<void> => {
    const run = async () => {
      await tableManager.sweep();
      await audit.sweep();
    };
    sweeping = sweeping.then(run, run);
    return sweeping;
  };

  const verifier: Authenticator | undefined =
    options.auth.mode === 'strict' ? new StrictAuthenticator([...options.auth.accounts], clock) : undefined;
  const authenticator: Authenticator = options.sharedDb
    ? new SharedDbAuthenticator(verifier)
    : (verifier ?? new LocalAuthenticator());
  const http = createHttpServer({
    services: [dynamodb, kms.handler, ...audit.handlers],
    authenticator,
    region: options.region,
    getRoutes: new Map([['/metrics', () => metrics.render()]]),
    adminRoutes: new Map([
      [TIME_PATH, timeEndpoint({ clock, travel, loopbackOnly: options.auth.mode === 'strict', sweep })],
    ]),
    onConnectionClosed: (id) => tableManager.onConnectionClosed(id),
    ...(options.corsAllowedOrigins ? { corsAllowedOrigins: options.corsAllowedOrigins } : {}),
    ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
    ...(options.onRequestComplete ? { onRequestComplete: options.onRequestComplete } : {}),
  });

  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(options.port, options.host, () => {
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
            else options.onInternalError?.(error);
          });
        }, interval)
      : undefined;
  timer?.unref();

  let closing: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    endpoint: `http://${hostForUrl}:${port}`,
    sweep,
    close() {
      closing ??= (async () => {
        if (timer) clearInterval(timer);
        const stopped = new Promise<void>((resolve) => http.server.close(() => resolve()));
        http.server.closeIdleConnections();
        await http.drain();
        http.server.closeAllConnections();
        await stopped;
        await backups.close();
        await tableManager.close();
        await checkpointer?.stop();
        keys.close();
        kms.close();
        await audit.close();
        root.destroy();
      })();
      return closing;
    },
  };
}
