/**
 * Assembles a sealdb server: root of trust → catalog and keyring → services →
 * one HTTP port. Used by `sealdb start` and by the tests (with a manual clock).
 */
import type { AddressInfo } from 'node:net';
import { type Clock, systemClock } from './core/clock.js';
import { DynamoDbService } from './dynamodb/service.js';
import type { TableDefinition } from './dynamodb/table-definition.js';
import { TableManager } from './dynamodb/tables.js';
import { type RootKeySource, RootOfTrust } from './encryption/root-of-trust.js';
import { RootDerivedKeyring } from './encryption/table-keyring.js';
import { type AccountConfig, LocalAuthenticator, StrictAuthenticator } from './http/auth.js';
import { createHttpServer } from './http/server.js';
import { Catalog } from './storage/catalog.js';
import { DataDir } from './storage/data-dir.js';

export type AuthConfig =
  | { readonly mode: 'local' }
  | { readonly mode: 'strict'; readonly accounts: readonly AccountConfig[] };

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  /** undefined keeps everything in memory (nothing is written to disk). */
  readonly dataDir: string | undefined;
  readonly region: string;
  readonly rootKey: RootKeySource;
  readonly auth: AuthConfig;
  readonly clock?: Clock;
  readonly onInternalError?: (error: unknown) => void;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly endpoint: string;
  /** Stops accepting requests, answers those in flight, then closes every file. */
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  // Checked before any data file is opened: a wrong root key touches nothing.
  const root = RootOfTrust.open(
    options.dataDir === undefined ? { kind: 'ephemeral' } : options.rootKey,
    options.dataDir,
  );
  const dataDir = new DataDir(options.dataDir);
  const keyring = new RootDerivedKeyring(root);
  const catalog = Catalog.open<TableDefinition>(dataDir, root);
  const tables = new TableManager(catalog, dataDir, keyring, clock, options.region);
  const dynamodb = new DynamoDbService({ tables, clock, region: options.region });

  const authenticator =
    options.auth.mode === 'strict'
      ? new StrictAuthenticator([...options.auth.accounts], clock)
      : new LocalAuthenticator();
  const http = createHttpServer({
    services: [dynamodb],
    authenticator,
    region: options.region,
    ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
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

  let closing: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    endpoint: `http://${hostForUrl}:${port}`,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => http.server.close(() => resolve()));
        http.server.closeIdleConnections();
        await http.drain();
        http.server.closeAllConnections();
        await stopped;
        await tables.close();
        keyring.destroy();
        root.destroy();
      })();
      return closing;
    },
  };
}
