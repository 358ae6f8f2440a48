/** The PostgreSQL engine the engine-backend tests use, and nodes that share it. */
import { join } from 'node:path';
import { dropTestSchema, startTestServer, type TestServer, type TestServerOptions, testStorageUrl } from './server.js';

/**
 * The engine's URL: SEALDB_TEST_POSTGRES, else the role and database `.ci/run` creates on the
 * local Debian cluster. The engine tests need it (they are not skipped when it is missing: they
 * fail, naming what to set up).
 */
export const TEST_POSTGRES =
  process.env.SEALDB_TEST_POSTGRES || 'postgres://sealdb_test:sealdb_test@127.0.0.1:5432/sealdb_test';

/**
 * Nodes over one engine schema, started with the same root key (as a cluster's nodes are), each
 * with its own data directory (which holds only the root check: keys and the audit trail are in
 * the engine too).
 */
export async function startCluster(count: number, options: TestServerOptions = {}): Promise<TestServer[]> {
  const storage = testStorageUrl(TEST_POSTGRES) as string;
  const first = await startTestServer({ ...options, storage });
  const nodes = [first];
  for (let i = 1; i < count; i++) {
    nodes.push(
      await startTestServer({
        ...options,
        storage,
        clock: first.clock,
        rootKeyFile: first.rootKeyFile,
        dataDir: join(first.scratch, `node-${i}`),
      }),
    );
  }
  return nodes;
}

/** Stops the nodes (the first last) and drops their schema. */
export async function stopCluster(nodes: TestServer[]): Promise<void> {
  const storage = nodes[0]?.storage;
  for (const node of [...nodes].reverse()) await node.cleanup();
  if (storage) await dropTestSchema(storage);
}
