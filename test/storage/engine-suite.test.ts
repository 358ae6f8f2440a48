/**
 * A focused part of the DynamoDB suite run again over the PostgreSQL engine (the whole
 * parameterised suite is `npm run test:postgres`): the same test files, with
 * SEALDB_TEST_STORAGE pointing the shared test-server helper at the engine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TEST_POSTGRES } from '../helpers/engine.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..');
const FILES = [
  'dynamodb/items.test.js',
  'dynamodb/transactions.test.js',
  'dynamodb/update-item.test.js',
  'dynamodb/batch.test.js',
  'dynamodb/indexes/query.test.js',
  'streams/records.test.js',
];

it('passes items, transactions, updates, batches, index queries and stream records over the engine', async () => {
  // Not a subtest of this runner: without its context variable the child runs as a runner of its own.
  const { NODE_TEST_CONTEXT: _, ...env } = process.env;
  const child = spawn(process.execPath, ['--test', '--test-reporter=tap', ...FILES.map((f) => join(dist, f))], {
    env: { ...env, SEALDB_TEST_STORAGE: TEST_POSTGRES },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, output.slice(-8000));
  // They really ran, all of them.
  assert.match(output, /^# fail 0$/m);
  const passed = Number(/^# pass (\d+)$/m.exec(output)?.[1]);
  assert.ok(passed >= 60, `only ${passed} tests passed over the engine`);
});
