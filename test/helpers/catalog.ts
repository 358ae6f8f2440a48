/**
 * The table catalog of a stopped test server, opened as someone holding its root key could: the
 * catalog file of its data directory, or the catalog rows of its engine schema (the parameterised
 * suite, `npm run test:postgres`). Tests tamper with it to check what a server then refuses.
 */
import type { TableDefinition } from '../../src/dynamodb/table-definition.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { Catalog, type TableCatalog } from '../../src/storage/catalog.js';
import { DataDir } from '../../src/storage/data-dir.js';
import type { TestServer } from './server.js';

type StoppedServer = Pick<TestServer, 'dataDir' | 'rootKeyFile' | 'storage'>;

/** Runs `fn` on the server's catalog (over the engine in one unit of work, so `fn` may run more than once). */
export async function withCatalog<T>(
  server: StoppedServer,
  fn: (catalog: TableCatalog<TableDefinition>) => T,
): Promise<T> {
  const root = RootOfTrust.open({ kind: 'key-file', path: server.rootKeyFile }, server.dataDir);
  try {
    if (!server.storage) {
      const catalog = Catalog.open<TableDefinition>(new DataDir(server.dataDir), root);
      try {
        return fn(catalog);
      } finally {
        catalog.close();
      }
    }
    const { EngineBackend } = await import('../../src/storage/postgres/backend.js');
    const backend = await EngineBackend.open({ url: server.storage });
    const catalog = backend.catalog<TableDefinition>(root);
    try {
      return await backend.run(async () => fn(catalog), 'write');
    } finally {
      catalog.close();
      await backend.close();
      await backend.closeServices();
    }
  } finally {
    root.destroy();
  }
}
