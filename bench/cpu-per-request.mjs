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
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
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
const CLOCK_TICK_MS = 10; // USER_HZ = 100 on Linux

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
const amzDate = new Date()
  .toISOString()
  .replace(/\.\d{3}Z$/, 'Z')
  .replace(/[-:]/g, '');
const authorization = `AWS4-HMAC-SHA256 Credential=AKIDLOCAL/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

function call(operation, body) {
  const text = JSON.stringify(body);
  return new Promise((resolveCall, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          'x-amz-date': amzDate,
          authorization,
          'content-length': Buffer.byteLength(text),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${operation}: ${res.statusCode} ${Buffer.concat(chunks)}`));
          else resolveCall();
        });
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}

const cpuMs = () => {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
};

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
  const cpu0 = cpuMs();
  const t0 = performance.now();
  for (let i = 0; i < requests; i++) await call(name, make(i));
  const wall = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
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
