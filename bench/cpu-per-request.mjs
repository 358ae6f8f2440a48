// Server CPU per small request (issue 12: what the stall and WAL commit-record work may cost).
//
//   npm run build && node bench/cpu-per-request.mjs [--dist /path/dist] [--durability process|fsync] [--requests N]
//     [--storage postgres://…]   (tables in a PostgreSQL-compatible engine instead of the embedded files;
//                                 a fresh schema of its own is used and dropped)
//
// Starts `sealdb start` on a fresh data directory, sends PutItem (then GetItem) one at a time
// over one keep-alive connection, and reads the server process's utime+stime from
// /proc/<pid>/stat around each loop (Linux only). Sequential PutItems make one group commit
// each: the per-commit costs are counted in full, never shared by a group.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, callDynamoDb, cpuSeconds } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(arg('--dist', join(here, '..', 'dist')));
const durability = arg('--durability', 'process');
const requests = Number(arg('--requests', '4000'));
const storageBase = arg('--storage', undefined);
const schema = `bench_${process.pid}`;
const storage = storageBase
  ? (() => {
      const url = new URL(storageBase);
      url.searchParams.set('schema', schema);
      return url.toString();
    })()
  : undefined;

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-cpu-'));
const child = spawn(
  process.execPath,
  [
    join(dist, 'src', 'cli', 'main.js'),
    'start',
    '--port',
    '0',
    '--data-dir',
    join(scratch, 'data'),
    '--root-key-file',
    join(scratch, 'root.key'),
    '--durability',
    durability,
    ...(storage ? ['--storage', storage] : []),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const port = await new Promise((resolvePort, reject) => {
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    const m = /listening on http:\/\/[^:]+:(\d+)[\s\S]*\nauth: .*\n/.exec(out);
    if (m) resolvePort(Number(m[1]));
  });
  child.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
});

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const call = (operation, body) => callDynamoDb(port, agent, operation, body);

await call('CreateTable', {
  TableName: 'cpu',
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
});
const item = (i) => ({
  TableName: 'cpu',
  Item: { id: { S: `item-${i}` }, n: { N: String(i) }, v: { S: 'x'.repeat(100) } },
});
for (let i = 0; i < 500; i++) await call('PutItem', item(i)); // warm-up

async function measure(name, make) {
  const cpu0 = cpuSeconds(child.pid) * 1000;
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) await call(name, make(i));
  const wall = performance.now() - t0;
  const cpu = cpuSeconds(child.pid) * 1000 - cpu0;
  console.log(
    `${name}: ${requests} requests, server CPU ${((cpu / requests) * 1000).toFixed(0)} µs/request, wall ${((wall / requests) * 1000).toFixed(0)} µs/request`,
  );
}

console.log(`build: ${dist}  durability: ${durability}  storage: ${storageBase ? 'engine' : 'embedded'}`);
await measure('PutItem', (i) => item(1000 + i));
await measure('GetItem', (i) => ({ TableName: 'cpu', Key: { id: { S: `item-${1000 + i}` } } }));
agent.destroy();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(scratch, { recursive: true, force: true });
if (storageBase) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: storageBase });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}
