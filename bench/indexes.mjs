#!/usr/bin/env node
// Secondary-index CPU cost: CPU time of the sealdb server process (utime + stime from
// /proc/<pid>/stat) per request, around a measured loop of a keep-alive Node client, in one run:
//   1. PutItem on a table without indexes vs. on one with 2 GSIs (ALL projection)  target <= 1.8x
//   2. Query on a GSI vs. the same Query on the base table                         target <= 1.2x
//   3. PutItem on a table without indexes: this build vs. main's build               no regression
//   4. PutItem on a table with 2 GSIs (ALL): main's build vs. this build              (for information)
// Rounds alternate between the compared cases and the median per-request CPU is reported.
// Writes bench/results/indexes.json and bench/results/indexes.md. `node bench/indexes.mjs --help`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { callTarget, cpuSeconds } from './lib.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(benchDir, '..');
const { values: opts } = parseArgs({
  options: {
    requests: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
    'main-dist': { type: 'string' },
    'main-ref': { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  console.log(`usage: node bench/indexes.mjs [options]
  --requests N     requests per measured round (default 4000)
  --rounds N       rounds per case, alternating between compared cases (default 5)
  --concurrency N  requests in flight (default 16)
  --main-dist DIR  a compiled build of main (holding dist/); default: git archive of --main-ref
                   built with tsc into a temporary directory
  --main-ref REF   the ref to compare with (default: where this branch left main, git merge-base HEAD main)
  --out DIR        results directory (default bench/results)`);
  process.exit(0);
}
const cfg = {
  requests: Number(opts.requests ?? 4000),
  rounds: Number(opts.rounds ?? 5),
  concurrency: Number(opts.concurrency ?? 16),
  mainRef: opts['main-ref'] ?? execFileSync('git', ['-C', repoDir, 'merge-base', 'HEAD', 'main']).toString().trim(),
  out: path.resolve(opts.out ?? path.join(benchDir, 'results')),
};
const work = mkdtempSync(path.join(os.tmpdir(), 'sealdb-bench-indexes-'));
const children = new Set();
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

// ---------------------------------------------------------------- builds
function mainBuild() {
  if (opts['main-dist']) return path.resolve(opts['main-dist']);
  const dir = path.join(work, 'main-build');
  mkdirSync(dir);
  const archive = path.join(work, 'main.tar');
  execFileSync('git', ['-C', repoDir, 'archive', '-o', archive, cfg.mainRef]);
  execFileSync('tar', ['-x', '-f', archive, '-C', dir]);
  symlinkSync(path.join(repoDir, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync(process.execPath, [path.join(repoDir, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: dir,
    stdio: 'inherit',
  });
  return dir;
}

// ---------------------------------------------------------------- server
const freePort = () =>
  new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

async function startServer(dist, name) {
  const port = await freePort();
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const child = spawn(
    process.execPath,
    [
      path.join(dist, 'dist/src/cli/main.js'),
      'start',
      '--port',
      String(port),
      '--data-dir',
      path.join(dir, 'data'),
      '--root-key-file',
      path.join(dir, 'root.key'),
    ],
    { cwd: dist, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  children.add(child);
  for (let i = 0; i < 200; i++) {
    try {
      await post(port, 'DynamoDB_20120810.ListTables', {});
      return { port, child, name };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`${name} did not start`);
}

function stopServer(server) {
  server.child.kill('SIGTERM');
  children.delete(server.child);
}

// ---------------------------------------------------------------- client
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const post = (port, target, body) => callTarget(port, agent, target, body);

async function run(port, count, request) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const [target, body] = request(i);
      await post(port, target, body);
    }
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
}

/** CPU seconds per request of the server around `count` requests. */
async function measure(server, count, request) {
  const before = cpuSeconds(server.child.pid);
  const t0 = performance.now();
  await run(server.port, count, request);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(server.child.pid) - before;
  return { cpuPerRequestUs: (cpu / count) * 1e6, requestsPerSecond: count / seconds };
}

// ---------------------------------------------------------------- tables and requests
const S = (v) => ({ S: v });
const N = (v) => ({ N: String(v) });
const payload = 'v'.repeat(400);

async function createTable(port, name, gsis = [], withRange = false, extraAttributes = []) {
  await post(port, 'DynamoDB_20120810.CreateTable', {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      ...(withRange ? [{ AttributeName: 'sk', AttributeType: 'N' }] : []),
      ...extraAttributes,
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      ...(withRange ? [{ AttributeName: 'sk', KeyType: 'RANGE' }] : []),
    ],
    ...(gsis.length > 0 ? { GlobalSecondaryIndexes: gsis } : {}),
  });
}

const gsi = (name, hash, range) => ({
  IndexName: name,
  KeySchema: [{ AttributeName: hash, KeyType: 'HASH' }, ...(range ? [{ AttributeName: range, KeyType: 'RANGE' }] : [])],
  Projection: { ProjectionType: 'ALL' },
});

let putCounter = 0;
/** A PutItem of a new ~500-byte item that is in both GSIs of the indexed table. */
const putRequest = (table) => () => {
  const i = putCounter++;
  return [
    'DynamoDB_20120810.PutItem',
    {
      TableName: table,
      Item: { pk: S(`k${i}`), g1: S(`a${i % 1000}`), g2: S(`b${i % 97}`), n: N(i), data: S(payload) },
    },
  ];
};

const PARTITIONS = 50;
const PER_PARTITION = 100;
async function loadQueryTable(port) {
  await createTable(port, 'Ranged', [gsi('byG', 'gp', 'gs')], true, [
    { AttributeName: 'gp', AttributeType: 'S' },
    { AttributeName: 'gs', AttributeType: 'N' },
  ]);
  const items = [];
  for (let p = 0; p < PARTITIONS; p++) {
    for (let k = 0; k < PER_PARTITION; k++) {
      items.push({ pk: S(`p${p}`), sk: N(k), gp: S(`p${p}`), gs: N(k), data: S(payload) });
    }
  }
  for (let i = 0; i < items.length; i += 25) {
    await post(port, 'DynamoDB_20120810.BatchWriteItem', {
      RequestItems: { Ranged: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) },
    });
  }
}

/** A Query of 10 consecutive sort keys, on the table or on its GSI (the same items either way). */
const queryRequest = (index) => (i) => {
  const p = `p${i % PARTITIONS}`;
  const from = (i * 7) % (PER_PARTITION - 10);
  const [h, r] = index ? ['gp', 'gs'] : ['pk', 'sk'];
  return [
    'DynamoDB_20120810.Query',
    {
      TableName: 'Ranged',
      ...(index ? { IndexName: 'byG' } : {}),
      KeyConditionExpression: `${h} = :p AND ${r} BETWEEN :a AND :b`,
      ExpressionAttributeValues: { ':p': S(p), ':a': N(from), ':b': N(from + 9) },
    },
  ];
};

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Alternating rounds of two cases; per-request CPU medians and their ratio. */
async function compare(label, a, b) {
  const results = { [a.name]: [], [b.name]: [] };
  // One warm-up round each, not reported.
  await measure(a.server, Math.ceil(cfg.requests / 4), a.request);
  await measure(b.server, Math.ceil(cfg.requests / 4), b.request);
  for (let round = 0; round < cfg.rounds; round++) {
    for (const c of round % 2 === 0 ? [a, b] : [b, a])
      results[c.name].push(await measure(c.server, cfg.requests, c.request));
  }
  const summary = (name) => ({
    cpuPerRequestUs: median(results[name].map((r) => r.cpuPerRequestUs)),
    requestsPerSecond: median(results[name].map((r) => r.requestsPerSecond)),
    rounds: results[name].map((r) => Math.round(r.cpuPerRequestUs)),
  });
  const out = { label, [a.name]: summary(a.name), [b.name]: summary(b.name) };
  out.ratio = out[b.name].cpuPerRequestUs / out[a.name].cpuPerRequestUs;
  console.log(
    `${label}: ${a.name} ${out[a.name].cpuPerRequestUs.toFixed(1)} us/req, ${b.name} ${out[b.name].cpuPerRequestUs.toFixed(1)} us/req, ratio ${out.ratio.toFixed(2)}`,
  );
  return out;
}

// ---------------------------------------------------------------- main
const startLoad = os.loadavg()[0];
const mainDist = mainBuild();
const branch = await startServer(repoDir, 'branch');
await createTable(branch.port, 'Plain');
await createTable(branch.port, 'Indexed', [gsi('byG1', 'g1'), gsi('byG2', 'g2')], false, [
  { AttributeName: 'g1', AttributeType: 'S' },
  { AttributeName: 'g2', AttributeType: 'S' },
]);
await loadQueryTable(branch.port);

const put = await compare(
  'PutItem: no index vs 2 GSIs (ALL)',
  { name: 'noIndex', server: branch, request: putRequest('Plain') },
  { name: 'twoGsis', server: branch, request: putRequest('Indexed') },
);
const query = await compare(
  'Query (10 items): base table vs GSI',
  { name: 'table', server: branch, request: queryRequest(false) },
  { name: 'gsi', server: branch, request: queryRequest(true) },
);
const main = await startServer(mainDist, 'main');
await createTable(main.port, 'Plain');
// Fresh tables on both servers: the branch's `Indexed` already holds the first comparison's items.
for (const server of [main, branch]) {
  await createTable(server.port, 'IndexedAgain', [gsi('byG1', 'g1'), gsi('byG2', 'g2')], false, [
    { AttributeName: 'g1', AttributeType: 'S' },
    { AttributeName: 'g2', AttributeType: 'S' },
  ]);
}
const loadBefore = os.loadavg()[0];
const regression = await compare(
  'PutItem without indexes: main vs this build',
  { name: 'main', server: main, request: putRequest('Plain') },
  { name: 'branch', server: branch, request: putRequest('Plain') },
);
const indexedMain = await compare(
  'PutItem with 2 GSIs (ALL): main vs this build',
  { name: 'main', server: main, request: putRequest('IndexedAgain') },
  { name: 'branch', server: branch, request: putRequest('IndexedAgain') },
);
stopServer(main);
stopServer(branch);

const git = (args) =>
  execFileSync('git', ['-C', repoDir, ...args])
    .toString()
    .trim();
const result = {
  date: new Date().toISOString(),
  commit: git(['rev-parse', '--short', 'HEAD']),
  mainCommit: git(['rev-parse', '--short', cfg.mainRef]),
  node: process.version,
  cpus: os.cpus().length,
  config: cfg,
  put: { ...put, target: 1.8, met: put.ratio <= 1.8 },
  query: { ...query, target: 1.2, met: query.ratio <= 1.2 },
  regression: { ...regression, target: 'within noise (<= 1.05)', met: regression.ratio <= 1.05 },
  indexedMain: { ...indexedMain, target: '-', met: true },
  loadAverage: { start: startLoad, beforeMainRounds: loadBefore, end: os.loadavg()[0] },
};
mkdirSync(cfg.out, { recursive: true });
writeFileSync(path.join(cfg.out, 'indexes.json'), `${JSON.stringify(result, null, 2)}\n`);
const row = (r, a, b) =>
  `| ${r.label} | ${r[a].cpuPerRequestUs.toFixed(1)} | ${r[b].cpuPerRequestUs.toFixed(1)} | ${r.ratio.toFixed(2)}× | ${r.target} | ${r.target === '-' ? '' : r.met ? 'met' : 'NOT met'} |`;
writeFileSync(
  path.join(cfg.out, 'indexes.md'),
  `# Secondary-index CPU cost

Server CPU (utime+stime of the sealdb process from /proc) per request, median of ${cfg.rounds} alternating
rounds of ${cfg.requests} requests, ${cfg.concurrency} in flight over keep-alive connections, one run.
Build ${result.commit} (main: ${result.mainCommit}), Node ${result.node}, ${result.cpus} CPUs, ${result.date}.
Items ~500 bytes; PutItem of new keys; Query of 10 consecutive sort keys in a 100-item partition.
Machine load (1-minute load average) at start ${result.loadAverage.start.toFixed(1)}, before the main rounds ${result.loadAverage.beforeMainRounds.toFixed(1)}, at end ${result.loadAverage.end.toFixed(1)}.

| Comparison | first (µs/req) | second (µs/req) | ratio | target | |
|---|---|---|---|---|---|
${row(result.put, 'noIndex', 'twoGsis')}
${row(result.query, 'table', 'gsi')}
${row(result.regression, 'main', 'branch')}
${row(result.indexedMain, 'main', 'branch')}

Per-round µs/req: ${JSON.stringify({ put: [put.noIndex.rounds, put.twoGsis.rounds], query: [query.table.rounds, query.gsi.rounds], regression: [regression.main.rounds, regression.branch.rounds], indexedMain: [indexedMain.main.rounds, indexedMain.branch.rounds] })}
`,
);
console.log(`wrote ${path.join(cfg.out, 'indexes.md')}`);
process.exit(0);
