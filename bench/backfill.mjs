// Online GSI backfill on a large table (issue 13): how fast a GSI added by UpdateTable is filled,
// and what it costs the requests that go on meanwhile.
//
//   npm run bench:backfill                    1,000,000 items
//   npm run bench:backfill -- --items 50000   a quick run
//
// A sealdb server (this build, data on disk in a temporary folder) runs in a child process with an
// event-loop delay histogram. The parent loads the table with BatchWriteItem, measures GetItem
// latency alone for a few seconds (baseline), then creates a GSI (ALL projection) with
// UpdateTable and keeps 8 GetItem clients busy until DescribeTable shows the index ACTIVE.
// Reported: backfill items/s, GetItem p50/p99/max during the backfill against the baseline, and
// the server's largest event-loop delay during the backfill. Written to bench/results/backfill.{json,md}.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { callDynamoDb } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

if (process.argv[2] === '--child') {
  // The server: argv[3] the dist folder, argv[4] the scratch folder.
  const [dist, scratch] = process.argv.slice(3);
  const { startServer } = await import(pathToFileURL(path.join(dist, 'src', 'server.js')).href);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: path.join(scratch, 'data'),
    region: 'us-east-1',
    rootKey: { kind: 'key-file', path: path.join(scratch, 'root.key') },
    auth: { mode: 'local' },
    sweepIntervalMs: 0,
  });
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  process.on('message', (message) => {
    if (message === 'reset') {
      histogram.reset();
      process.send?.({ reset: true });
    } else if (message === 'read') {
      process.send?.({ maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6 });
    } else if (message === 'stop') {
      server.close().then(() => process.exit(0));
    }
  });
  process.send?.({ port: server.port });
} else {
  await main();
}

async function main() {
  const { values } = parseArgs({
    options: {
      items: { type: 'string', default: '1000000' },
      clients: { type: 'string', default: '8' },
      baseline: { type: 'string', default: '5' },
      dist: { type: 'string', default: path.join(here, '..', 'dist') },
      out: { type: 'string', default: path.join(here, 'results') },
    },
  });
  const items = Number(values.items);
  const clients = Number(values.clients);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'sealdb-backfill-'));
  const child = fork(fileURLToPath(import.meta.url), ['--child', path.resolve(values.dist), scratch], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages = [];
  let waiting;
  child.on('message', (m) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(m);
    } else messages.push(m);
  });
  const next = () => (messages.length > 0 ? Promise.resolve(messages.shift()) : new Promise((r) => (waiting = r)));
  const ask = (message) => {
    child.send(message);
    return next();
  };
  try {
    const { port } = await next();
    const call = client(port);
    const table = 'backfill';
    await call('CreateTable', {
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    const payload = 'x'.repeat(128);
    const item = (i) => ({
      id: { S: `k${String(i).padStart(9, '0')}` },
      g: { S: `g${i % 1000}` },
      payload: { S: payload },
    });
    const t0 = performance.now();
    let loaded = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (;;) {
          const start = loaded;
          if (start >= items) return;
          loaded = Math.min(items, start + 25);
          let requests = [];
          for (let i = start; i < loaded; i++) requests.push({ PutRequest: { Item: item(i) } });
          while (requests.length > 0) {
            const res = await call('BatchWriteItem', { RequestItems: { [table]: requests } });
            requests = res.UnprocessedItems?.[table] ?? [];
          }
        }
      }),
    );
    const loadSeconds = (performance.now() - t0) / 1000;
    console.log(`loaded ${items} items in ${loadSeconds.toFixed(1)} s`);

    const getItems = async (until) => {
      const latencies = [];
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (!until()) {
            const key = { id: { S: `k${String(Math.floor(Math.random() * items)).padStart(9, '0')}` } };
            const start = performance.now();
            const res = await call('GetItem', { TableName: table, Key: key });
            latencies.push(performance.now() - start);
            if (!res.Item) throw new Error('GetItem found no item');
          }
        }),
      );
      return latencies;
    };
    await ask('reset');
    const baselineEnd = performance.now() + Number(values.baseline) * 1000;
    const baseline = stats(await getItems(() => performance.now() >= baselineEnd));
    const baselineLoop = await ask('read');

    await ask('reset');
    const b0 = performance.now();
    await call('UpdateTable', {
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'g', AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [
        {
          Create: {
            IndexName: 'byG',
            KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        },
      ],
    });
    let active = false;
    let describes = 0;
    const watcher = (async () => {
      while (!active) {
        await new Promise((r) => setTimeout(r, 200));
        const { Table } = await call('DescribeTable', { TableName: table });
        describes++;
        const index = Table.GlobalSecondaryIndexes.find((g) => g.IndexName === 'byG');
        if (index.IndexStatus === 'ACTIVE') {
          if (index.ItemCount !== items) throw new Error(`index holds ${index.ItemCount} of ${items} items`);
          active = true;
        }
      }
    })();
    const during = stats(await getItems(() => active));
    await watcher;
    const backfillSeconds = (performance.now() - b0) / 1000;
    const loop = await ask('read');
    const result = {
      date: new Date().toISOString(),
      host: `${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores`,
      node: process.version,
      items,
      itemBytes: JSON.stringify(item(0)).length,
      projection: 'ALL',
      load: { seconds: round(loadSeconds), itemsPerSec: Math.round(items / loadSeconds) },
      backfill: {
        seconds: round(backfillSeconds),
        itemsPerSec: Math.round(items / backfillSeconds),
        note: 'from the UpdateTable call to the first DescribeTable (polled every 200 ms) showing ACTIVE',
      },
      getItem: { clients, baseline, duringBackfill: during },
      serverEventLoop: {
        baseline: { maxMs: round(baselineLoop.maxMs), p99Ms: round(baselineLoop.p99Ms) },
        duringBackfill: { maxMs: round(loop.maxMs), p99Ms: round(loop.p99Ms) },
      },
      loadAverage: os.loadavg().map(round),
      describeTableCalls: describes,
    };
    mkdirSync(values.out, { recursive: true });
    writeFileSync(path.join(values.out, 'backfill.json'), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(values.out, 'backfill.md'), markdown(result));
    console.log(markdown(result));
    // The server answers 'stop' by exiting, not by a message: wait for that.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('stop');
    await exited;
  } finally {
    child.kill('SIGTERM');
    rmSync(scratch, { recursive: true, force: true });
  }
}

function markdown(r) {
  const row = (name, s) => `| ${name} | ${s.count} | ${s.p50} | ${s.p99} | ${s.max} |`;
  return `# sealdb benchmark: online GSI backfill

${r.date} · ${r.host} · Node ${r.node} · \`npm run bench:backfill -- --items ${r.items}\`

A table of ${r.items.toLocaleString('en')} items (~${r.itemBytes} bytes of JSON each, data on disk, AWS owned key) gets a GSI
(${r.projection} projection, 1000 distinct partition-key values) through UpdateTable while ${r.getItem.clients} clients keep
sending GetItem.

| | |
|---|---|
| bulk load (BatchWriteItem, 16 in flight) | ${r.load.itemsPerSec} items/s (${r.load.seconds} s) |
| **backfill** | **${r.backfill.itemsPerSec} items/s** (${r.backfill.seconds} s, ${r.backfill.note}) |
| server event-loop delay, GetItem only (baseline) | max ${r.serverEventLoop.baseline.maxMs} ms, p99 ${r.serverEventLoop.baseline.p99Ms} ms |
| server event-loop delay during the backfill | max ${r.serverEventLoop.duringBackfill.maxMs} ms, p99 ${r.serverEventLoop.duringBackfill.p99Ms} ms |
| machine load average (1, 5, 15 min) at the end | ${r.loadAverage.join(', ')} |

| GetItem | requests | p50 ms | p99 ms | max ms |
|---|---|---|---|---|
${row('before (baseline)', r.getItem.baseline)}
${row('during the backfill', r.getItem.duringBackfill)}
`;
}

function stats(latencies) {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (q) => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: round(sorted[sorted.length - 1] ?? 0) };
}

function round(x) {
  return Math.round(x * 100) / 100;
}

function client(port) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  return (operation, body) => callDynamoDb(port, agent, operation, body);
}
