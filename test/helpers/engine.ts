/** The PostgreSQL engine the engine-backend tests use, and nodes that share it. */
import { join } from 'node:path';
import pg from 'pg';
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

/** A client of the engine the nodes share, with their schema, for tests that look at its rows. */
export async function engineOf(node: TestServer): Promise<{ readonly client: pg.Client; readonly schema: string }> {
  const url = new URL(node.storage as string);
  const schema = url.searchParams.get('schema') as string;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return { client, schema };
}

/**
 * How many rows of a table are left once no more go (a dropped table's, whose node's slices still
 * in flight are fenced out): polled, as the drop and the fenced node's last slice race.
 */
export async function rowsLeft(engine: { client: pg.Client; schema: string }, tableId: string): Promise<number> {
  let rows = -1;
  for (let i = 0; i < 200 && rows !== 0; i++) {
    const result = await engine.client.query(`SELECT count(*)::int AS n FROM "${engine.schema}".rows WHERE tbl = $1`, [
      tableId,
    ]);
    rows = result.rows[0].n as number;
    if (rows !== 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return rows;
}
