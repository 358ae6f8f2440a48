/** Starts a real sealdb server on an ephemeral port for a test, with a clock the test controls. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/core/clock.js';
import type { AccountConfig } from '../../src/http/auth.js';
import type { KmsCallEvent } from '../../src/kms/index.js';
import { type KmsConfig, type RunningServer, startServer } from '../../src/server.js';

export interface TestServerOptions {
  /** Folder for the data directory and root key, deleted by `cleanup` (default: a new temporary folder). */
  readonly scratch?: string;
  readonly clock?: ManualClock;
  readonly auth?: 'local' | { readonly accounts: AccountConfig[] };
  /** Reuse a data directory (and root key) of an earlier server, e.g. to test restarts. */
  readonly dataDir?: string;
  readonly rootKeyFile?: string;
  readonly inMemory?: boolean;
  readonly region?: string;
  /** DynamoDB Local's -sharedDb: one account and the default region for every caller. */
  readonly sharedDb?: boolean;
  readonly keyCacheScope?: 'connection' | 'table';
  readonly durability?: 'process' | 'fsync';
  readonly encryptionChangeLimit?: { perDay: number; intervalMs: number };
  /** Told about damage the audit trail found and worked around. */
  readonly onAuditWarning?: (message: string) => void;
  /** Sees every KMS call event the server audits. */
  readonly onKmsCall?: (event: KmsCallEvent) => void;
  /** Origins given CORS headers (the server's default when absent: any origin). */
  readonly corsAllowedOrigins?: readonly string[];
  /** Where table keys come from (default: the built-in KMS). */
  readonly kms?: KmsConfig;
  /** Listen on this port (default: an ephemeral one), e.g. to restart a server where it was. */
  readonly port?: number;
  /** Background GSI work: `manual` leaves it to `indexJobsStep` (default: runs by itself). */
  readonly indexJobs?: { readonly mode?: 'auto' | 'manual'; readonly sliceMs?: number; readonly sliceItems?: number };
  /** Real ms between background TTL passes (default 0: only when `sweep()` is called). */
  readonly ttlSweepIntervalMs?: number;
  /** Lowers the item-collection limit of tables with LSIs (DynamoDB: 10 GB). */
  readonly itemCollectionLimitBytes?: number;
  /**
   * An engine URL (with `?schema=`) to share with another server; default: a schema of its own
   * in SEALDB_TEST_STORAGE when that is set (the parameterised suite), else the embedded files.
   */
  readonly storage?: string;
  /** The folder standing in for S3 (ExportTableToPointInTime, ImportTable). */
  readonly exportDir?: string;
}

/** The engine the suite runs against (`npm run test:postgres`), or undefined for the embedded store. */
export const TEST_STORAGE = process.env.SEALDB_TEST_STORAGE || undefined;

/** A new, empty schema in the test engine: every server (or cluster) of a test gets its own. */
export function testStorageUrl(base = TEST_STORAGE): string | undefined {
  if (!base) return undefined;
  const url = new URL(base);
  url.searchParams.set('schema', `t_${randomBytes(6).toString('hex')}`);
  return url.toString();
}

/** The engine schema of each data directory a test server used, for a server restarted on it. */
const storageOfDataDir = new Map<string, string>();

/** Drops a test schema (the engine's tables of one test). */
export async function dropTestSchema(storage: string): Promise<void> {
  const url = new URL(storage);
  const schema = url.searchParams.get('schema');
  if (!schema?.startsWith('t_')) return;
  url.searchParams.delete('schema');
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export interface TestServer {
  readonly endpoint: string;
  readonly port: number;
  readonly clock: ManualClock;
  /** The folder `cleanup` deletes (holds the data directory and root key unless given elsewhere). */
  readonly scratch: string;
  readonly dataDir: string;
  readonly rootKeyFile: string;
  readonly region: string;
  /** What the server reported through `onInternalError` so far (`cleanup` fails if any). */
  readonly internalErrors: readonly unknown[];
  /** The engine URL the server stores its tables in (undefined: embedded files). */
  readonly storage: string | undefined;
  /** SDK client config for this server: `new DynamoDBClient(server.clientConfig())`. */
  clientConfig(credentials?: { accessKeyId: string; secretAccessKey: string }): {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
  };
  /** Runs the background key check now (the server's timer is off in tests). */
  sweep(): Promise<void>;
  /** One slice of every table's GSI work (backfill, drop); true while work remains. */
  indexJobsStep(): Promise<boolean>;
  /** Resolves once the background full page checks of the files opened so far have ended. */
  pageChecks(): Promise<void>;
  /** Stops the server; the data directory stays until `cleanup`. */
  close(): Promise<void>;
  /** Stops the server and deletes its data directory and root key. */
  cleanup(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const scratch = options.scratch ?? mkdtempSync(join(tmpdir(), 'sealdb-test-'));
  const dataDir = options.dataDir ?? join(scratch, 'data');
  const rootKeyFile = options.rootKeyFile ?? join(scratch, 'keys', 'root.key');
  const clock = options.clock ?? new ManualClock();
  const region = options.region ?? 'us-east-1';
  const errors: unknown[] = [];
  // A restart (an earlier server's data directory) finds that server's tables in the engine.
  const storage = options.storage ?? storageOfDataDir.get(dataDir) ?? testStorageUrl();
  if (storage !== undefined && !options.inMemory) storageOfDataDir.set(dataDir, storage);
  const ownsSchema = options.storage === undefined && storage !== undefined;
  const server: RunningServer = await startServer({
    ...(storage !== undefined ? { storage } : {}),
    host: '127.0.0.1',
    port: options.port ?? 0,
    dataDir: options.inMemory ? undefined : dataDir,
    region,
    rootKey: { kind: 'key-file', path: rootKeyFile },
    auth:
      !options.auth || options.auth === 'local'
        ? { mode: 'local' }
        : { mode: 'strict', accounts: options.auth.accounts },
    clock,
    sweepIntervalMs: 0,
    ttlSweepIntervalMs: options.ttlSweepIntervalMs ?? 0,
    ...(options.sharedDb ? { sharedDb: true } : {}),
    ...(options.keyCacheScope ? { keyCacheScope: options.keyCacheScope } : {}),
    ...(options.durability ? { durability: options.durability } : {}),
    ...(options.encryptionChangeLimit ? { encryptionChangeLimit: options.encryptionChangeLimit } : {}),
    ...(options.onAuditWarning ? { onAuditWarning: options.onAuditWarning } : {}),
    ...(options.onKmsCall ? { onKmsCall: options.onKmsCall } : {}),
    ...(options.corsAllowedOrigins ? { corsAllowedOrigins: options.corsAllowedOrigins } : {}),
    ...(options.kms ? { kms: options.kms } : {}),
    ...(options.indexJobs ? { indexJobs: options.indexJobs } : {}),
    ...(options.itemCollectionLimitBytes !== undefined
      ? { itemCollectionLimitBytes: options.itemCollectionLimitBytes }
      : {}),
    ...(options.exportDir ? { exportDir: options.exportDir } : {}),
    onInternalError: (error) => errors.push(error),
  });
  return {
    endpoint: server.endpoint,
    port: server.port,
    clock,
    scratch,
    dataDir,
    rootKeyFile,
    region,
    internalErrors: errors,
    storage,
    clientConfig: (credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' }) => ({
      endpoint: server.endpoint,
      region,
      credentials,
      maxAttempts: 1,
    }),
    sweep: () => server.sweep(),
    indexJobsStep: () => server.indexJobsStep(),
    pageChecks: () => server.pageChecks(),
    close: () => server.close(),
    async cleanup() {
      await server.close();
      rmSync(scratch, { recursive: true, force: true });
      if (ownsSchema && storage) await dropTestSchema(storage);
      if (errors.length > 0) throw new Error(`server reported internal errors: ${errors.map(String).join('; ')}`);
    },
  };
}
