/**
 * A real server for the audit trail tests: the server `sealdb start` runs (src/server.ts, through
 * the shared test helper) with a manual clock, plus SDK clients for its KMS, CloudTrail and
 * DynamoDB APIs, so the tests exercise the real assembly, HTTP path, signing, routing and errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { verifyDataDir } from '../../src/cloudtrail/offline.js';
import type { ManualClock } from '../../src/core/clock.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import type { AccountConfig } from '../../src/http/auth.js';
import { dropTestSchema, startTestServer } from '../helpers/server.js';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface AuditServerOptions {
  readonly auth?: 'local' | { readonly accounts: AccountConfig[] };
  readonly inMemory?: boolean;
  /** Reuse the data directory and root key of an earlier server (a restart). */
  readonly reuse?: AuditTestServer;
  readonly clock?: ManualClock;
  /** Folder for the data directory and root key (default: a new temporary folder). */
  readonly scratch?: string;
}

export interface AuditTestServer {
  readonly endpoint: string;
  readonly clock: ManualClock;
  readonly scratch: string;
  readonly dataDir: string;
  readonly rootKeyFile: string;
  readonly region: string;
  /** The engine URL the trail (and everything else) is kept in; undefined: the data directory. */
  readonly storage: string | undefined;
  /** What the trail warned about (damage it found and worked around). */
  readonly warnings: readonly string[];
  kmsClient(credentials?: Credentials): KMSClient;
  trailClient(credentials?: Credentials): CloudTrailClient;
  /** A DynamoDB client on its own single keep-alive connection. */
  dynamodbClient(credentials?: Credentials): DynamoDBClient;
  /** Runs the server's background work now: key checks, and closing finished audit hours. */
  sweep(): Promise<void>;
  /** Opens the data directory's root of trust (as the CLI would); the caller destroys it. */
  openRoot(): RootOfTrust;
  /** Stops the server, keeping its files; fails if the server reported internal errors. */
  close(): Promise<void>;
  /** Stops the server and deletes its files. */
  cleanup(): Promise<void>;
}

export const LOCAL: Credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
export const REGION = 'us-east-1';

export async function startAuditServer(options: AuditServerOptions = {}): Promise<AuditTestServer> {
  const scratch = options.reuse?.scratch ?? options.scratch ?? mkdtempSync(join(tmpdir(), 'sealdb-audit-test-'));
  const clock = options.clock ?? options.reuse?.clock;
  const warnings: string[] = [];
  const server = await startTestServer({
    scratch,
    region: REGION,
    ...(clock ? { clock } : {}),
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.inMemory ? { inMemory: true } : {}),
    onAuditWarning: (message) => warnings.push(message),
  });
  const clients: { destroy(): void }[] = [];
  const config = (credentials: Credentials) => ({
    ...server.clientConfig(credentials),
    // Strict auth checks request times against the server's (manual) clock.
    systemClockOffset: server.clock.now() - Date.now(),
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const c of clients) c.destroy();
      await server.close();
      const errors = server.internalErrors;
      if (errors.length > 0) throw new Error(`server reported internal errors: ${errors.map(String).join('; ')}`);
    })();
    return closing;
  };
  return {
    endpoint: server.endpoint,
    clock: server.clock,
    scratch,
    dataDir: server.dataDir,
    rootKeyFile: server.rootKeyFile,
    region: server.region,
    storage: server.storage,
    warnings,
    kmsClient(credentials = LOCAL) {
      const client = new KMSClient(config(credentials));
      clients.push(client);
      return client;
    },
    trailClient(credentials = LOCAL) {
      const client = new CloudTrailClient(config(credentials));
      clients.push(client);
      return client;
    },
    dynamodbClient(credentials = LOCAL) {
      const client = new DynamoDBClient({
        ...config(credentials),
        requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 1 }) }),
      });
      clients.push(client);
      return client;
    },
    sweep: () => server.sweep(),
    openRoot: () => RootOfTrust.open({ kind: 'key-file', path: server.rootKeyFile }, server.dataDir),
    close,
    async cleanup() {
      try {
        await close();
      } finally {
        rmSync(scratch, { recursive: true, force: true });
        if (server.storage && !options.reuse) await dropTestSchema(server.storage);
      }
    },
  };
}

/**
 * Verifies the server's whole trail where it is kept: the data directory's files (as `sealdb
 * audit verify`), or the engine's rows (PgTrailStore.verify). The server may be running.
 */
export async function verifyTrail(
  server: AuditTestServer,
): Promise<{ problems: readonly unknown[]; logFiles: number }> {
  const root = server.openRoot();
  try {
    if (!server.storage) {
      const result = await verifyDataDir(server.dataDir, root);
      return { problems: result.problems, logFiles: result.accounts.reduce((n, a) => n + a.logFiles, 0) };
    }
    const { EngineBackend } = await import('../../src/storage/postgres/backend.js');
    const { ManualClock } = await import('../../src/core/clock.js');
    const engine = await EngineBackend.open({ url: server.storage });
    try {
      const store = engine.trailStore(root, new ManualClock());
      const result = await store.verify();
      return { problems: result.problems, logFiles: result.accounts.reduce((n, a) => n + a.logFiles, 0) };
    } finally {
      await engine.close();
      await engine.closeServices();
    }
  } finally {
    root.destroy();
  }
}

/** Parses the CloudTrailEvent JSON of a LookupEvents event. */
export function recordOf(event: { CloudTrailEvent?: string | undefined }): Record<string, unknown> {
  return JSON.parse(event.CloudTrailEvent ?? 'null') as Record<string, unknown>;
}
