/**
 * A running server for the KMS tests. Uses the shared test server when it serves KMS; until
 * src/server.ts mounts the KMS, falls back to a server that mounts only it (same HTTP layer,
 * authenticators and KMS service), so the tests exercise the real wire path either way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { ManualClock } from '../../src/core/clock.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { type AccountConfig, LocalAuthenticator, StrictAuthenticator } from '../../src/http/auth.js';
import { createHttpServer } from '../../src/http/server.js';
import { createKmsService, type KmsCallEvent, type KmsService } from '../../src/kms/index.js';
import { startTestServer } from '../helpers/server.js';

export interface KmsTestServer {
  readonly endpoint: string;
  readonly clock: ManualClock;
  readonly dataDir: string;
  readonly region: string;
  /** Audit events seen by the fallback server (empty when the shared server is used). */
  readonly events: KmsCallEvent[];
  /** The in-process service, when the fallback server is used. */
  readonly kms?: KmsService;
  client(credentials?: { accessKeyId: string; secretAccessKey: string }): KMSClient;
  cleanup(): Promise<void>;
}

export interface KmsTestServerOptions {
  readonly auth?: 'local' | { readonly accounts: AccountConfig[] };
  /** Force the standalone KMS server (for tests that need the in-process service or its audit events). */
  readonly standalone?: boolean;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

function clientFor(endpoint: string, region: string, credentials = LOCAL_CREDENTIALS): KMSClient {
  return new KMSClient({ endpoint, region, credentials, maxAttempts: 1 });
}

async function servesKms(endpoint: string, region: string, credentials: typeof LOCAL_CREDENTIALS): Promise<boolean> {
  const client = clientFor(endpoint, region, credentials);
  try {
    await client.send(new ListKeysCommand({}));
    return true;
  } catch (error) {
    return (error as Error).name !== 'UnknownOperationException';
  } finally {
    client.destroy();
  }
}

export async function startKmsTestServer(options: KmsTestServerOptions = {}): Promise<KmsTestServer> {
  const auth = options.auth ?? 'local';
  const probeCredentials =
    auth === 'local'
      ? LOCAL_CREDENTIALS
      : (() => {
          const k = auth.accounts[0]?.accessKeys[0];
          return k ? { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey } : LOCAL_CREDENTIALS;
        })();
  if (!options.standalone) {
    const shared = await startTestServer({ auth });
    if (await servesKms(shared.endpoint, shared.region, probeCredentials)) {
      return {
        endpoint: shared.endpoint,
        clock: shared.clock,
        dataDir: shared.dataDir,
        region: shared.region,
        events: [],
        client: (credentials) => clientFor(shared.endpoint, shared.region, credentials),
        cleanup: () => shared.cleanup(),
      };
    }
    await shared.cleanup();
  }
  return startStandalone(auth);
}

async function startStandalone(auth: 'local' | { readonly accounts: AccountConfig[] }): Promise<KmsTestServer> {
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-kms-test-'));
  const dataDir = join(scratch, 'data');
  const region = 'us-east-1';
  const clock = new ManualClock();
  const root = RootOfTrust.open({ kind: 'key-file', path: join(scratch, 'keys', 'root.key') }, dataDir);
  const kms = createKmsService({ root, dataDir, clock, region });
  const events: KmsCallEvent[] = [];
  kms.onCall((event) => {
    events.push(event);
  });
  const errors: unknown[] = [];
  const http = createHttpServer({
    services: [kms.handler],
    authenticator: auth === 'local' ? new LocalAuthenticator() : new StrictAuthenticator(auth.accounts, clock),
    region,
    onInternalError: (error) => errors.push(error),
  });
  await new Promise<void>((resolve) => http.server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(http.server.address() as AddressInfo).port}`;
  return {
    endpoint,
    clock,
    dataDir,
    region,
    events,
    kms,
    client: (credentials) => clientFor(endpoint, region, credentials),
    async cleanup() {
      const stopped = new Promise<void>((resolve) => http.server.close(() => resolve()));
      http.server.closeAllConnections();
      await stopped;
      kms.close();
      root.destroy();
      rmSync(scratch, { recursive: true, force: true });
      if (errors.length > 0) throw new Error(`server reported internal errors: ${errors.map(String).join('; ')}`);
    },
  };
}
