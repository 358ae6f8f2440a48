/**
 * A real server for the audit trail tests: the KMS and CloudTrail services on one port, the
 * KMS audit hook feeding the trail, a manual clock. Assembled here (as src/server.ts will) so the
 * tests exercise the real HTTP path, signing, routing and error shaping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type AuditTrail, createAuditTrail } from '../../src/cloudtrail/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { DynamoDbService } from '../../src/dynamodb/service.js';
import { DYNAMODB_ENCRYPTION_CHANGE_LIMIT } from '../../src/dynamodb/sse.js';
import type { TableDefinition } from '../../src/dynamodb/table-definition.js';
import { TableManager } from '../../src/dynamodb/tables.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { TableKeyService } from '../../src/encryption/table-keys.js';
import { type AccountConfig, LocalAuthenticator, StrictAuthenticator } from '../../src/http/auth.js';
import { createHttpServer } from '../../src/http/server.js';
import type { ServiceHandler } from '../../src/http/service.js';
import { createKmsService, type KmsService } from '../../src/kms/index.js';
import { Catalog } from '../../src/storage/catalog.js';
import { DataDir } from '../../src/storage/data-dir.js';

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
  /** Also serve DynamoDB, with table keys from the KMS (as src/server.ts assembles it). */
  readonly dynamodb?: boolean;
}

export interface AuditTestServer {
  readonly endpoint: string;
  readonly clock: ManualClock;
  readonly scratch: string;
  readonly dataDir: string;
  readonly rootKeyFile: string;
  readonly region: string;
  readonly audit: AuditTrail;
  /** What the trail warned about (damage it found and worked around). */
  readonly warnings: readonly string[];
  readonly kms: KmsService;
  kmsClient(credentials?: Credentials): KMSClient;
  trailClient(credentials?: Credentials): CloudTrailClient;
  /** A DynamoDB client on its own single keep-alive connection (needs `dynamodb: true`). */
  dynamodbClient(credentials?: Credentials): DynamoDBClient;
  /** Opens the data directory's root of trust (as the CLI would); the caller destroys it. */
  openRoot(): RootOfTrust;
  /** Stops the server, keeping its files. */
  close(): Promise<void>;
  /** Stops the server and deletes its files. */
  cleanup(): Promise<void>;
}

export const LOCAL: Credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
export const REGION = 'us-east-1';

export async function startAuditServer(options: AuditServerOptions = {}): Promise<AuditTestServer> {
  const scratch = options.reuse?.scratch ?? options.scratch ?? mkdtempSync(join(tmpdir(), 'sealdb-audit-test-'));
  const dataDir = join(scratch, 'data');
  const rootKeyFile = join(scratch, 'keys', 'root.key');
  const clock = options.clock ?? options.reuse?.clock ?? new ManualClock();
  const persistent = !options.inMemory;
  const root = persistent
    ? RootOfTrust.open({ kind: 'key-file', path: rootKeyFile }, dataDir)
    : RootOfTrust.open({ kind: 'ephemeral' }, undefined);
  const kms = createKmsService({ root, clock, region: REGION, ...(persistent ? { dataDir } : {}) });
  const warnings: string[] = [];
  const audit = createAuditTrail({
    root,
    clock,
    region: REGION,
    ...(persistent ? { dataDir } : {}),
    onWarning: (message) => warnings.push(message),
  });
  kms.onCall((event) => audit.record(event));
  const ddb = options.dynamodb ? dynamodbParts(root, kms, clock, persistent ? dataDir : undefined) : undefined;
  const errors: unknown[] = [];
  const auth = options.auth ?? 'local';
  const http = createHttpServer({
    services: [...(ddb ? [ddb.service] : []), kms.handler, ...audit.handlers],
    authenticator: auth === 'local' ? new LocalAuthenticator() : new StrictAuthenticator(auth.accounts, clock),
    region: REGION,
    ...(ddb ? { onConnectionClosed: (id: number) => ddb.tables.onConnectionClosed(id) } : {}),
    onInternalError: (error) => errors.push(error),
  });
  await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  const clients: { destroy(): void }[] = [];
  const config = (credentials: Credentials) => ({
    endpoint,
    region: REGION,
    credentials,
    maxAttempts: 1,
    // Strict auth checks request times against the server's (manual) clock.
    systemClockOffset: clock.now() - Date.now(),
  });
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const c of clients) c.destroy();
      const stopped = new Promise<void>((resolve) => http.server.close(() => resolve()));
      http.server.closeAllConnections();
      await stopped;
      await ddb?.close();
      await audit.close();
      kms.close();
      root.destroy();
      if (errors.length > 0) throw new Error(`server reported internal errors: ${errors.map(String).join('; ')}`);
    })();
    return closing;
  };
  return {
    endpoint,
    clock,
    scratch,
    dataDir,
    rootKeyFile,
    region: REGION,
    audit,
    warnings,
    kms,
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
    openRoot: () => RootOfTrust.open({ kind: 'key-file', path: rootKeyFile }, dataDir),
    close,
    async cleanup() {
      try {
        await close();
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}

function dynamodbParts(root: RootOfTrust, kms: KmsService, clock: ManualClock, dataDir: string | undefined) {
  const keys = new TableKeyService(kms, root, clock, REGION, 'connection');
  const tables = new TableManager({
    catalog: Catalog.open<TableDefinition>(new DataDir(dataDir), root),
    dataDir: new DataDir(dataDir),
    keys,
    clock,
    region: REGION,
  });
  const service: ServiceHandler = new DynamoDbService({
    tables,
    clock,
    region: REGION,
    encryptionChangeLimit: DYNAMODB_ENCRYPTION_CHANGE_LIMIT,
  });
  return {
    service,
    tables,
    async close() {
      await tables.close();
      keys.close();
    },
  };
}

/** Parses the CloudTrailEvent JSON of a LookupEvents event. */
export function recordOf(event: { CloudTrailEvent?: string | undefined }): Record<string, unknown> {
  return JSON.parse(event.CloudTrailEvent ?? 'null') as Record<string, unknown>;
}
