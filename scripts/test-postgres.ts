/**
 * `npm run test:postgres`: the parameterised suite over the PostgreSQL engine. Runs the
 * DynamoDB, Streams, KMS, encryption, HTTP and audit trail (CloudTrail) test files with SEALDB_TEST_STORAGE set, so the
 * shared test-server helper stores every server's tables in a schema of its own in the engine.
 * Left out, with the reason (README, "Engine storage: what is left"):
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const EMBEDDED_ONLY: Record<string, string> = {
  'dynamodb/backups/interrupted-restore.test.js':
    'kills a sealdb process on a data directory mid-restore (over the engine another node may be filling the table)',
  'dynamodb/crash.test.js':
    'kills the process between the steps of the cross-file commit, which the engine does not have',
  'dynamodb/ttl/sweeper-stall.test.js': 'times event-loop pauses of the embedded store on a large table',
  'dynamodb/ttl/sweeper-slices.test.js': 'drives the sweeper over an embedded file directly',
  'http/regions-legacy-catalog.test.js':
    'migrates the catalog file of a data directory from before regions (the engine catalog always kept them)',
  'cloudtrail/cli.test.js':
    'sealdb audit verify/lookup read the trail files of a data directory (the engine trail: PgTrailStore.verify, test/storage/engine-kms-audit.test.ts)',
  'cloudtrail/damaged-keys.test.js':
    'damages the root check, signing key and public key files of a data directory (the engine keeps the signing key sealed in a row)',
  'cloudtrail/durability.test.js':
    'kills a sealdb process on a data directory and reads its files (over the engine: test/storage/engine-kms-audit.test.ts kills two nodes)',
  'cloudtrail/integrity.test.js':
    'tampers with the log, digest and open hour files of a data directory (the engine: a moved or changed record row, test/storage/engine-kms-audit.test.ts)',
  'cloudtrail/verify-open-hour.test.js':
    'damages open hour files, which the engine trail does not have (records are rows)',
};

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'test');
const roots = ['dynamodb', 'streams', 'kms', 'encryption', 'http', 'cloudtrail'];
const files: string[] = [];
const walk = (folder: string): void => {
  for (const name of readdirSync(folder).sort()) {
    const path = join(folder, name);
    const rel = relative(dist, path);
    if (Object.keys(EMBEDDED_ONLY).some((skip) => rel === skip || rel.startsWith(`${skip}/`))) continue;
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.js')) files.push(path);
  }
};
for (const root of roots) walk(join(dist, root));

const storage =
  process.env.SEALDB_TEST_STORAGE ||
  process.env.SEALDB_TEST_POSTGRES ||
  'postgres://sealdb_test:sealdb_test@127.0.0.1:5432/sealdb_test';
console.log(`engine suite: ${files.length} files over ${new URL(storage).host}; embedded only:`);
for (const [path, why] of Object.entries(EMBEDDED_ONLY)) console.log(`  ${path}: ${why}`);
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, SEALDB_TEST_STORAGE: storage },
});
process.exit(result.status ?? 1);
