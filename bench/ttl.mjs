// The TTL sweeper's deletion rate (issue 14): a sealdb server in this process, data on disk, a
// table of expired items (and, in a second scenario, a GSI that every delete also updates); one
// TTL pass is timed. Reported: deletions per second of wall time and of process CPU time, and the
// largest event-loop delay during the pass (perf_hooks, 1 ms resolution), i.e. how long the
// sweeper held other requests at most. Not a test: numbers depend on the machine.
//
// On a shared machine the event loop also waits for GC and for the CPU (other processes), so the
// sweep's own share is reported apart: the longest slice and the longest group commit after one
// (the server's onTtlSlice), and the stalls (gaps of a 1 ms timer) with no GC pause in them,
// also in CPU time of the main thread (/proc/self/task/<pid>/schedstat: the CPU the thread had
// during the gap, not the time it waited for one; it advances at scheduler ticks and switches,
// so a reading may be up to a tick, ~4 ms, off), and the longest GC pause on its own.
//
//   npm run bench:ttl                 100k items per scenario
//   node bench/ttl.mjs --items 20000  fewer
import { mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';

const here = dirname(fileURLToPath(import.meta.url));
const { startServer } = await import(join(here, '..', 'dist', 'src', 'server.js'));
const { ManualClock } = await import(join(here, '..', 'dist', 'src', 'core', 'clock.js'));

const itemsArg = process.argv.indexOf('--items');
const ITEMS = itemsArg > 0 ? Number(process.argv[itemsArg + 1]) : 100_000;
const scratch = mkdtempSync(join(tmpdir(), 'sealdb-bench-ttl-'));

// The main thread's CPU time in ms (Linux; undefined elsewhere).
const mainThreadCpu = (() => {
  let fd;
  try {
    fd = openSync(`/proc/self/task/${process.pid}/schedstat`, 'r');
  } catch {
    return () => undefined;
  }
  const buffer = Buffer.alloc(128);
  return () => Number(buffer.toString('latin1', 0, readSync(fd, buffer, 0, buffer.length, 0)).split(' ')[0]) / 1e6;
})();

/** Gaps of a 1 ms timer over 5 ms (start, wall ms, main-thread CPU ms) and GC pauses, until stopped. */
function watchStalls() {
  const gaps = [];
  const pauses = [];
  let last = performance.now();
  let lastCpu = mainThreadCpu();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = mainThreadCpu();
    if (now - last > 5) gaps.push({ start: last, ms: now - last, cpuMs: cpu - lastCpu });
    last = now;
    lastCpu = cpu;
  }, 1);
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ start: entry.startTime, ms: entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => {
    clearInterval(timer);
    observer.disconnect();
    const clean = gaps.filter((g) => !pauses.some((p) => p.start < g.start + g.ms && p.start + p.ms > g.start));
    const max = (list, key) => list.reduce((m, x) => Math.max(m, x[key] ?? 0), 0);
    return {
      maxNoGcStallMs: +max(clean, 'ms').toFixed(1),
      maxNoGcStallCpuMs: +max(clean, 'cpuMs').toFixed(1),
      maxGcPauseMs: +max(pauses, 'ms').toFixed(1),
    };
  };
}

async function scenario(name, withIndex) {
  const start = Date.now();
  const clock = new ManualClock({ now: () => start });
  const slices = [];
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(scratch, name),
    region: 'us-east-1',
    rootKey: { kind: 'key-file', path: join(scratch, `${name}.key`) },
    auth: { mode: 'local' },
    clock,
    sweepIntervalMs: 0,
    ttlSweepIntervalMs: 0,
    onTtlSlice: (timing) => slices.push(timing),
  });
  const ddb = new DynamoDBClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
  try {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'bench',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          ...(withIndex ? [{ AttributeName: 'kind', AttributeType: 'S' }] : []),
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        ...(withIndex
          ? {
              GlobalSecondaryIndexes: [
                {
                  IndexName: 'byKind',
                  KeySchema: [{ AttributeName: 'kind', KeyType: 'HASH' }],
                  Projection: { ProjectionType: 'ALL' },
                },
              ],
            }
          : {}),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'bench',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'ttl' },
      }),
    );
    clock.advance(1000);
    const past = `${Math.floor(clock.now() / 1000) - 60}`;
    let inFlight = [];
    for (let i = 0; i < ITEMS; i += 25) {
      const requests = [];
      for (let j = i; j < Math.min(i + 25, ITEMS); j++) {
        requests.push({
          PutRequest: {
            Item: {
              pk: { S: `item-${j}` },
              kind: { S: `k${j % 100}` },
              ttl: { N: past },
              data: { S: 'x'.repeat(100) },
            },
          },
        });
      }
      inFlight.push(ddb.send(new BatchWriteItemCommand({ RequestItems: { bench: requests } })));
      if (inFlight.length === 16) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);

    // Items no TTL pass touches, read all through the pass: what a client sees while TTL sweeps.
    for (let i = 0; i < 100; i++) {
      await ddb.send(new PutItemCommand({ TableName: 'bench', Item: { pk: { S: `keep-${i}` }, kind: { S: 'k' } } }));
    }
    // The control: the same reads for 5 s with no sweep, so a shared machine's own delays are seen.
    const idleDelay = monitorEventLoopDelay({ resolution: 1 });
    idleDelay.enable();
    const idle = [];
    for (const until = performance.now() + 5000; performance.now() < until; ) {
      const t = performance.now();
      await ddb.send(new GetItemCommand({ TableName: 'bench', Key: { pk: { S: `keep-${idle.length % 100}` } } }));
      idle.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
    idleDelay.disable();
    idle.sort((a, b) => a - b);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const stalls = watchStalls();
    slices.length = 0;
    const cpu = process.cpuUsage();
    const began = performance.now();
    let sweeping = true;
    const latencies = [];
    const reader = (async () => {
      for (let i = 0; sweeping; i++) {
        const t = performance.now();
        await ddb.send(new GetItemCommand({ TableName: 'bench', Key: { pk: { S: `keep-${i % 100}` } } }));
        latencies.push(performance.now() - t);
        // A light client: about 100 reads a second.
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    await server.sweep();
    const wallMs = performance.now() - began;
    const used = process.cpuUsage(cpu);
    sweeping = false;
    await reader;
    delay.disable();
    const stalled = stalls();
    latencies.sort((a, b) => a - b);
    const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'bench' }));
    if (Table.ItemCount !== 100) throw new Error(`${Table.ItemCount - 100} expired items left after the pass`);
    const cpuMs = (used.user + used.system) / 1000;
    return {
      scenario: name,
      items: ITEMS,
      passSeconds: +(wallMs / 1000).toFixed(2),
      deletionsPerSecond: Math.round(ITEMS / (wallMs / 1000)),
      deletionsPerCpuSecond: Math.round(ITEMS / (cpuMs / 1000)),
      maxEventLoopDelayMs: +(delay.max / 1e6).toFixed(1),
      p99EventLoopDelayMs: +(delay.percentile(99) / 1e6).toFixed(1),
      maxSliceMs: +Math.max(...slices.map((t) => t.sliceMs)).toFixed(1),
      maxCommitMs: +Math.max(...slices.map((t) => t.commitMs)).toFixed(1),
      deletesPerSlice: +(ITEMS / slices.length).toFixed(1),
      ...stalled,
      idleMaxEventLoopDelayMs: +(idleDelay.max / 1e6).toFixed(1),
      idleGetItemP99Ms: +(idle[Math.floor(0.99 * idle.length)] ?? 0).toFixed(1),
      getItems: latencies.length,
      getItemP50Ms: +at(0.5).toFixed(1),
      getItemP99Ms: +at(0.99).toFixed(1),
      getItemMaxMs: +(latencies.at(-1) ?? 0).toFixed(1),
    };
  } finally {
    ddb.destroy();
    await server.close();
  }
}

try {
  const results = [await scenario('plain', false), await scenario('gsi', true)];
  console.table(results);
  const out = join(here, 'results');
  mkdirSync(out, { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    loadAverage: (await import('node:os')).loadavg()[0],
    results,
  };
  writeFileSync(join(out, 'ttl.json'), `${JSON.stringify(report, null, 2)}\n`);
  const rows = results.map(
    (r) =>
      `| ${r.scenario === 'gsi' ? 'table + GSI (ALL)' : 'table'} | ${r.items} | ${r.passSeconds} | ${r.deletionsPerSecond} | ${r.deletionsPerCpuSecond} | ${r.maxEventLoopDelayMs} | ${r.p99EventLoopDelayMs} | ${r.maxSliceMs} / ${r.maxCommitMs} (${r.deletesPerSlice}) | ${r.maxNoGcStallMs} / ${r.maxNoGcStallCpuMs} | ${r.maxGcPauseMs} | ${r.getItemP50Ms} / ${r.getItemP99Ms} / ${r.getItemMaxMs} (${r.getItems}) | ${r.idleMaxEventLoopDelayMs} / ${r.idleGetItemP99Ms} |`,
  );
  writeFileSync(
    join(out, 'ttl.md'),
    [
      `# TTL sweeper (${report.date}, Node ${report.node}, ${report.cpus} CPUs)`,
      '',
      'One TTL pass over a table of expired items (data on disk, encrypted), `npm run bench:ttl`.',
      `Machine load average (1 min) at the end: ${report.loadAverage.toFixed(1)}: wall-time rates and delays grow with it; deletions per CPU-second less so. A client reads (GetItem) about 100 times a second through the pass.`,
      '',
      "The sweep's own work: the longest slice (scan and delete statements) and the longest group commit after one, real ms, and the deletes a slice made on average; the longest stall with no GC pause in it, real ms and main-thread CPU ms (the CPU it had, not the wait for one; ±4 ms, see bench/ttl.mjs); the longest GC pause.",
      '',
      '| table | expired items | pass (s) | deletions/s | deletions per CPU-second | max event-loop delay (ms) | p99 delay (ms) | sweep: max slice / max commit ms (deletes per slice) | max stall without GC: real / CPU ms | max GC pause ms | GetItem during the pass, p50 / p99 / max ms (reads) | no sweep (control, 5 s): max delay / GetItem p99 ms |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
