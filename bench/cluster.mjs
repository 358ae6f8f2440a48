// Scale-out (issue 19): the embedded store (one node) beside the PostgreSQL backend with 1 and 3
// nodes, under the same concurrent load: req/s, p99 latency, and server CPU per request per node
// (utime+stime of each node process from /proc/<pid>/stat; the engine's own CPU is not counted).
//
//   npm run bench:cluster [-- --storage postgres://… --seconds 10 --clients 24 --dist dist]
//   npm run bench:cluster -- --streams   each setup also with a stream on the table (NEW_AND_OLD_IMAGES):
//                                        what a stream's log costs a write, over the engine with the
//                                        head row every append reads and moves (results: cluster-streams.md)
//
// Each setup gets fresh data directories (and a fresh engine schema, dropped after); the load is
// 50% PutItem / 50% GetItem of small items over 10 000 keys, clients spread round robin over the
// nodes, each on its own keep-alive connection. Results: bench/results/cluster.md (and stdout).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, callDynamoDb, cpuSeconds } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = resolve(arg('--dist', join(here, '..', 'dist')));
const storageBase = arg(
  '--storage',
  process.env.SEALDB_TEST_POSTGRES || 'postgres://sealdb_test:sealdb_test@127.0.0.1:5432/sealdb_test',
);
const seconds = Number(arg('--seconds', '10'));
const clients = Number(arg('--clients', '24'));
const KEYS = 10_000;
const withStreams = process.argv.includes('--streams');

function startNode(scratch, i, storage) {
  const child = spawn(
    process.execPath,
    [
      join(dist, 'src', 'cli', 'main.js'),
      'start',
      '--port',
      '0',
      '--data-dir',
      join(scratch, `node-${i}`),
      '--root-key-file',
      join(scratch, 'root.key'),
      ...(storage ? ['--storage', storage] : []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolvePort, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)[\s\S]*\nauth: .*\n/.exec(out);
      if (m) resolvePort({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`node exited ${code}: ${out}`)));
  });
}

async function setup(label, count, engine, stream = false) {
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-cluster-'));
  const schema = `bench_cluster_${process.pid}_${count}`;
  let storage;
  if (engine) {
    const url = new URL(storageBase);
    url.searchParams.set('schema', schema);
    storage = url.toString();
  }
  const nodes = [];
  for (let i = 0; i < count; i++) nodes.push(await startNode(scratch, i, storage));
  const agents = nodes.map(() => new Agent({ keepAlive: true, maxSockets: clients }));
  const first = nodes[0];
  await callDynamoDb(first.port, agents[0], 'CreateTable', {
    TableName: 'bench',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
  });
  const item = (k) => ({ TableName: 'bench', Item: { id: { S: `k${k}` }, v: { S: 'x'.repeat(100) } } });
  for (let k = 0; k < 500; k++) await callDynamoDb(first.port, agents[0], 'PutItem', item(k)); // warm-up
  const latencies = [];
  const perNode = nodes.map(() => 0);
  let errors = 0;
  const cpu0 = nodes.map((n) => cpuSeconds(n.child.pid) * 1000);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const n = c % nodes.length;
      for (let i = 0; performance.now() < end; i++) {
        const k = Math.floor(Math.random() * KEYS);
        const started = performance.now();
        try {
          if (i % 2 === 0) await callDynamoDb(nodes[n].port, agents[n], 'PutItem', item(k));
          else
            await callDynamoDb(nodes[n].port, agents[n], 'GetItem', {
              TableName: 'bench',
              Key: { id: { S: `k${k}` } },
            });
          latencies.push(performance.now() - started);
          perNode[n]++;
        } catch {
          errors++;
        }
      }
    }),
  );
  const wall = (performance.now() - t0) / 1000;
  const cpu = nodes.map((n, i) => cpuSeconds(n.child.pid) * 1000 - (cpu0[i] ?? 0));
  latencies.sort((a, b) => a - b);
  const done = latencies.length;
  const result = {
    label,
    stream,
    nodes: count,
    requests: done,
    errors,
    reqPerSec: done / wall,
    p50: latencies[Math.floor(done * 0.5)] ?? 0,
    p99: latencies[Math.floor(done * 0.99)] ?? 0,
    cpuUsPerRequest: cpu.map((ms, i) => (perNode[i] ? (ms * 1000) / perNode[i] : 0)),
  };
  for (const agent of agents) agent.destroy();
  for (const n of nodes) n.child.kill('SIGTERM');
  await Promise.all(nodes.map((n) => new Promise((r) => (n.child.exitCode !== null ? r() : n.child.once('exit', r)))));
  rmSync(scratch, { recursive: true, force: true });
  if (engine) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: storageBase });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  return result;
}

const setups = [
  ['embedded', 1, false],
  ['postgres', 1, true],
  ['postgres', 3, true],
];
const results = [];
for (const [label, count, engine] of setups) {
  results.push(await setup(label, count, engine));
  // Right after the same setup without one, so the pair shares the machine's load.
  if (withStreams) results.push(await setup(label, count, engine, true));
}
const lines = [
  `# Cluster bench (${new Date().toISOString()})`,
  '',
  `\`npm run bench:cluster -- --seconds ${seconds} --clients ${clients}${withStreams ? ' --streams' : ''}\`: ${clients} concurrent clients, 50% PutItem / 50% GetItem`,
  'of 100-byte items over 10 000 keys, for each setup; all nodes, the engine and the clients on one machine',
  `(${(await import('node:os')).cpus().length} cores), so the 3-node figures show cost, not scaling.`,
  "CPU per request is each node process's utime+stime over the requests it served (the engine's CPU comes on top).",
  '',
  ...(withStreams
    ? [
        'Each setup without and then with a stream (NEW_AND_OLD_IMAGES) on the table: every PutItem also appends a',
        "stream record, which over the engine reads and moves the log's head row (positions in commit order across nodes).",
        '',
      ]
    : []),
  '| storage | nodes | stream | req/s | p50 ms | p99 ms | CPU µs/request per node | errors |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.label} | ${r.nodes} | ${r.stream ? 'yes' : 'no'} | ${r.reqPerSec.toFixed(0)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.cpuUsPerRequest.map((c) => c.toFixed(0)).join(' / ')} | ${r.errors} |`,
  ),
  '',
];
console.log(lines.join('\n'));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', withStreams ? 'cluster-streams.md' : 'cluster.md'), lines.join('\n'));
