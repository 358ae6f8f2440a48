/**
 * Where a canary can be found at rest: the files of an embedded server's data directory (WAL and
 * SHM included), or, over the engine (`npm run test:postgres`), a pg_dump of the server's schema
 * (what the engine's operator can read: test/storage/engine.test.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { filesContaining } from './files.js';
import type { TestServer } from './server.js';

const run = promisify(execFile);

/** The data of a server's engine schema as pg_dump writes it (BYTEA as hex). */
export async function engineDump(storage: string): Promise<string> {
  const url = new URL(storage);
  const schema = url.searchParams.get('schema') as string;
  url.searchParams.delete('schema');
  const { stdout } = await run('pg_dump', ['--dbname', url.toString(), '--schema', schema, '--data-only'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

/**
 * The places holding any of the needles' bytes: data-directory files, or `pg_dump` (as text, or
 * as the hex pg_dump writes BYTEA in) over the engine.
 */
export async function placesHolding(
  server: Pick<TestServer, 'dataDir' | 'storage'>,
  needles: readonly (string | Buffer)[],
): Promise<string[]> {
  if (!server.storage) {
    const hits = new Set<string>();
    for (const needle of needles) for (const file of filesContaining(server.dataDir, needle)) hits.add(file);
    return [...hits];
  }
  const dump = (await engineDump(server.storage)).toLowerCase();
  const hits: string[] = [];
  for (const needle of needles) {
    const bytes = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : needle;
    for (const form of [bytes, Buffer.from(needle.toString(), 'utf16le')]) {
      if (dump.includes(form.toString('latin1').toLowerCase())) hits.push(`pg_dump: ${needle.toString()}`);
      if (dump.includes(form.toString('hex'))) hits.push(`pg_dump (hex): ${needle.toString()}`);
    }
  }
  return hits;
}

/**
 * The ids of the tables whose data is at rest: their table files in the data directory, or the
 * tables with rows in the engine (the KMS key store's rows left out). A table of the engine
 * with no item has no rows yet.
 */
export async function tablesWithData(server: Pick<TestServer, 'dataDir' | 'storage'>): Promise<string[]> {
  return server.storage
    ? engineColumn(server.storage, 'tbl', `rows WHERE tbl <> 'sealdb-kms'`)
    : filesIn(join(server.dataDir, 'tables'));
}

/**
 * The backups whose data is at rest: their files under the data directory's `backups/`, or the
 * backups with rows in the engine's `backup_rows`.
 */
export async function backupsWithData(server: Pick<TestServer, 'dataDir' | 'storage'>): Promise<string[]> {
  return server.storage
    ? engineColumn(server.storage, 'backup', 'backup_rows')
    : filesIn(join(server.dataDir, 'backups'));
}

/** The names of a folder's `.db` files without the suffix, sorted. */
function filesIn(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.endsWith('.db'))
    .map((f) => f.slice(0, -'.db'.length))
    .sort();
}

/** The distinct values of one column of an engine table (in the schema the storage URL names). */
async function engineColumn(storage: string, column: string, from: string): Promise<string[]> {
  const url = new URL(storage);
  const schema = url.searchParams.get('schema') as string;
  url.searchParams.delete('schema');
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const result = await client.query<Record<string, string>>(
      `SELECT DISTINCT ${column} FROM "${schema}".${from} ORDER BY ${column}`,
    );
    return result.rows.map((r) => r[column] as string);
  } finally {
    await client.end();
  }
}

/**
 * The PITR snapshots whose data is at rest: their files under the data directory's `pitr/`, or
 * the snapshots with rows in the engine's `pitr_rows` (a snapshot of an empty table has none).
 */
export async function pitrSnapshotsWithData(server: Pick<TestServer, 'dataDir' | 'storage'>): Promise<string[]> {
  if (!server.storage) {
    const folder = join(server.dataDir, 'pitr');
    if (!existsSync(folder)) return [];
    return readdirSync(folder)
      .filter((f) => f.endsWith('.db'))
      .map((f) => f.slice(0, -'.db'.length))
      .sort();
  }
  return engineColumn(server.storage, 'snapshot', 'pitr_rows');
}
