// The TTL sweeper's deletion rate (issue 14): a sealdb server in this process, data on disk, a
// table of expired items (and, in a second scenario, a GSI that every delete also updates); one
// TTL pass is timed. Reported: deletions per second of wall time and of process CPU time, and the
// largest event-loop delay during the pass (perf_hooks, 1 ms resolution), i.e. how long the
// sweeper held other requests at most. Not a test: numbers depend on the machine.
//
//   npm run bench:ttl                 100k items per scenario
//   node bench/ttl.mjs --items 20000  fewer
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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

async function scenario(name, withIndex) {
  const start = Date.now();
  const clock = new ManualClock({ now: () => start });
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
      `| ${r.scenario === 'gsi' ? 'table + GSI (ALL)' : 'table'} | ${r.items} | ${r.passSeconds} | ${r.deletionsPerSecond} | ${r.deletionsPerCpuSecond} | ${r.maxEventLoopDelayMs} | ${r.p99EventLoopDelayMs} | ${r.getItemP50Ms} / ${r.getItemP99Ms} / ${r.getItemMaxMs} (${r.getItems}) | ${r.idleMaxEventLoopDelayMs} / ${r.idleGetItemP99Ms} |`,
  );
  writeFileSync(
    join(out, 'ttl.md'),
    [
      `# TTL sweeper (${report.date}, Node ${report.node}, ${report.cpus} CPUs)`,
      '',
      'One TTL pass over a table of expired items (data on disk, encrypted), `npm run bench:ttl`.',
      `Machine load average (1 min) at the end: ${report.loadAverage.toFixed(1)}: wall-time rates and delays grow with it; deletions per CPU-second less so. A client reads (GetItem) about 100 times a second through the pass.`,
      '',
      '| table | expired items | pass (s) | deletions/s | deletions per CPU-second | max event-loop delay (ms) | p99 delay (ms) | GetItem during the pass, p50 / p99 / max ms (reads) | no sweep (control, 5 s): max delay / GetItem p99 ms |',
      '|---|---|---|---|---|---|---|---|---|',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
