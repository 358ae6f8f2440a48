#!/usr/bin/env node
// CPU per request of two sealdb builds (or one build with and without page encryption), side by
// side: the issue-16 measure of each hot-path change. Both servers run at once on fresh data
// directories with the same table (customer managed key) and load; rounds alternate between them
// (A, B, B, A, ...) per workload, and the median of each one's server CPU µs per request (utime +
// stime of all threads from /proc/<pid>/stat, over exactly the wrk window) is reported.
//
//   npm run build && node bench/ab-cpu.mjs --a DIR --b DIR[@unencrypted] [--items N] [--rounds N]
//     [--duration S] [--workloads C,W] [--threads N] [--concurrency N]
//
// DIR holds a compiled dist/ (a copy of an older build, e.g. `cp -a dist /tmp/before/`, with
// node_modules reachable from it); `@unencrypted` starts it through bench/sealdb-unencrypted.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { callTarget, cpuSeconds } from './lib.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const { values: o } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    items: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '5' },
    workloads: { type: 'string', default: 'C,W' },
    threads: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '32' },
  },
});
if (!o.a || !o.b) throw new Error('usage: node bench/ab-cpu.mjs --a DIR --b DIR[@unencrypted] ...');
const items = Number(o.items);
const MODES = { C: ['get', 100], W: ['insert', 0], A: ['mix', 50], B: ['mix', 95] };
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

const ddb = (port, op, body) => callTarget(port, agent, `DynamoDB_20120810.${op}`, body);

async function start(spec) {
  const [dir, variant] = spec.split('@');
  const dist = path.resolve(dir);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sealdb-ab-'));
  const flags = [
    'start',
    '--port',
    '0',
    '--data-dir',
    path.join(scratch, 'data'),
    '--root-key-file',
    path.join(scratch, 'k'),
  ];
  const args =
    variant === 'unencrypted'
      ? [path.join(benchDir, 'sealdb-unencrypted.mjs'), dist, ...flags]
      : [path.join(dist, 'dist/src/cli/main.js'), ...flags];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)[\s\S]*\nauth: .*\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${spec} exited ${code}: ${out}`)));
  });
  const { KeyMetadata } = await callTarget(port, agent, 'TrentService.CreateKey', {}, 'application/x-amz-json-1.1');
  await ddb(port, 'CreateTable', {
    TableName: 'bench',
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
    SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: KeyMetadata.KeyId },
  });
  for (;;) {
    const { Table } = await ddb(port, 'DescribeTable', { TableName: 'bench' });
    if (Table.TableStatus === 'ACTIVE') break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const payload = 'x'.repeat(1000);
  let next = 0;
  const worker = async () => {
    while (next < items) {
      const from = next;
      next = Math.min(items, from + 25);
      const reqs = [];
      for (let i = from; i < next; i++) {
        reqs.push({ PutRequest: { Item: { id: { S: `k${String(i).padStart(9, '0')}` }, payload: { S: payload } } } });
      }
      await ddb(port, 'BatchWriteItem', { RequestItems: { bench: reqs } });
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { spec, port, pid: child.pid, scratch };
}

function wrk(server, w) {
  const [mode, readPct] = MODES[w];
  const args = ['-t', o.threads, '-c', o.concurrency, '-d', `${o.duration}s`, '--latency'];
  args.push('-s', path.join(benchDir, 'workload.lua'), `http://127.0.0.1:${server.port}/`, '--');
  args.push(mode, 'bench', String(items), '976', String(readPct), '10', '100', 'keepalive', '0', o.threads);
  const c0 = cpuSeconds(server.pid);
  const r = spawnSync('wrk', args, { encoding: 'utf8' });
  const used = cpuSeconds(server.pid) - c0;
  const m = /WRKJSON (\{.*\})/.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  const j = JSON.parse(m[1]);
  if (j.status) throw new Error(`${server.spec} ${w}: ${j.status} non-2xx answers`);
  return { us: (used * 1e6) / j.requests, rps: j.requests / (j.duration_us / 1e6), maxMs: j.max_us / 1000 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const servers = [await start(o.a), await start(o.b)];
for (const w of ['C', ...o.workloads.split(',')]) wrk(servers[0], w) && wrk(servers[1], w); // warm-up
const results = {};
for (const w of o.workloads.split(',')) {
  results[w] = [[], []];
  for (let round = 0; round < Number(o.rounds); round++) {
    const order = round % 2 ? [1, 0] : [0, 1];
    for (const i of order) results[w][i].push(wrk(servers[i], w));
  }
  const line = servers.map((s, i) => {
    const runs = results[w][i];
    const us = median(runs.map((x) => x.us));
    return `${s.spec}: ${us.toFixed(1)} µs/req (${runs.map((x) => x.us.toFixed(1)).join(', ')}; ${Math.round(median(runs.map((x) => x.rps)))} req/s, max ${Math.max(...runs.map((x) => x.maxMs)).toFixed(1)} ms)`;
  });
  const a = median(results[w][0].map((x) => x.us));
  const b = median(results[w][1].map((x) => x.us));
  console.log(`${w}: ${line.join('  |  ')}  → B/A ${(b / a).toFixed(3)}`);
}
for (const s of servers) rmSync(s.scratch, { recursive: true, force: true });
process.exit(0);
