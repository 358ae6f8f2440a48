// DynamoDB Streams cost (issue 14): server CPU per PutItem on a table with a NEW_AND_OLD_IMAGES
// stream against one without (target ≤ 1.5×), and GetRecords throughput in records/s.
//
//   npm run bench:streams                      this build (dist/)
//   node bench/streams.mjs --requests 20000    more requests per run (default 8000)
//
// One server process (data on disk); the client sends raw JSON over keep-alive connections. The
// server's own CPU time (process.cpuUsage, user + system) is read before and after each run, so
// the measurement holds on a machine shared with other work. Runs alternate between the tables;
// the median of the repeats is reported. Writes bench/results/streams.json and streams.md.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { callTarget } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values: opts } = parseArgs({
  options: {
    dist: { type: 'string' },
    requests: { type: 'string' },
    repeat: { type: 'string' },
    concurrency: { type: 'string' },
    // For profiling one side alone (BENCH_CPU_PROF): only this table's PutItems are run.
    only: { type: 'string' },
  },
});
const dist = resolve(opts.dist ?? join(here, '..', 'dist'));
const REQUESTS = Number(opts.requests ?? 8000);
const REPEAT = Number(opts.repeat ?? 3);
const CONCURRENCY = Number(opts.concurrency ?? 16);
const KEYS = 2000;
const PAYLOAD = 'x'.repeat(900);

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-bench-streams-'));
const child = fork(join(here, 'streams-server.mjs'), [dist, scratch], {
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  // BENCH_CPU_PROF=dir: a V8 CPU profile of the server (bench/prof-summary.mjs reads it).
  ...(process.env.BENCH_CPU_PROF ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] } : {}),
});
const ask = (message, key) =>
  new Promise((resolveAsk) => {
    const on = (reply) => {
      if (key in reply) {
        child.off('message', on);
        resolveAsk(reply[key]);
      }
    };
    child.on('message', on);
    if (message) child.send(message);
  });
const port = await ask(undefined, 'port');
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const call = (target, body) => callTarget(port, agent, target, body);
const ddb = (op, body) => call(`DynamoDB_20120810.${op}`, body);
const streams = (op, body) => call(`DynamoDBStreams_20120810.${op}`, body);

async function createTable(name, stream) {
  const created = await ddb('CreateTable', {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
  });
  return created.TableDescription.LatestStreamArn;
}

let counter = 0;
/** REQUESTS PutItems over KEYS keys (after the first pass each one is a MODIFY with both images). */
async function putRun(table) {
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      next++;
      counter++;
      await ddb('PutItem', {
        TableName: table,
        Item: { pk: { S: `key-${counter % KEYS}` }, n: { N: String(counter) }, payload: { S: PAYLOAD } },
      });
    }
  };
  const before = await ask('cpu', 'cpuMicros');
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const cpu = (await ask('cpu', 'cpuMicros')) - before;
  return { cpuMicrosPerRequest: cpu / REQUESTS, requestsPerSecond: REQUESTS / seconds };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  await createTable('plain', false);
  const arn = await createTable('streamed', true);
  // Warm-up: every key exists in both tables, and the code is hot.
  if (opts.only !== 'streamed') await putRun('plain');
  if (opts.only !== 'plain') await putRun('streamed');
  const runs = { plain: [], streamed: [] };
  for (let i = 0; i < REPEAT; i++) {
    if (opts.only !== 'streamed') runs.plain.push(await putRun('plain'));
    if (opts.only !== 'plain') runs.streamed.push(await putRun('streamed'));
  }
  if (opts.only) {
    const side = runs[opts.only];
    process.stdout.write(
      `${opts.only}: ${Math.round(median(side.map((r) => r.cpuMicrosPerRequest)))} µs per PutItem\n`,
    );
  } else {
    const plainCpu = median(runs.plain.map((r) => r.cpuMicrosPerRequest));
    const streamedCpu = median(runs.streamed.map((r) => r.cpuMicrosPerRequest));

    // GetRecords: the whole stream (every PutItem above that changed data), 1000 records a call.
    const shards = (await streams('DescribeStream', { StreamArn: arn })).StreamDescription.Shards;
    let records = 0;
    let calls = 0;
    const cpuBefore = await ask('cpu', 'cpuMicros');
    const started = performance.now();
    for (const shard of shards) {
      let iterator = (
        await streams('GetShardIterator', { StreamArn: arn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' })
      ).ShardIterator;
      while (iterator) {
        const page = await streams('GetRecords', { ShardIterator: iterator, Limit: 1000 });
        calls++;
        records += page.Records.length;
        if (page.Records.length === 0) break;
        iterator = page.NextShardIterator;
      }
    }
    const readSeconds = (performance.now() - started) / 1000;
    const readCpu = (await ask('cpu', 'cpuMicros')) - cpuBefore;

    const result = {
      date: new Date().toISOString(),
      node: process.version,
      requestsPerRun: REQUESTS,
      repeat: REPEAT,
      concurrency: CONCURRENCY,
      itemBytes: PAYLOAD.length + 20,
      putItem: {
        plainCpuMicrosPerRequest: Math.round(plainCpu),
        streamedCpuMicrosPerRequest: Math.round(streamedCpu),
        ratio: Number((streamedCpu / plainCpu).toFixed(3)),
        target: '≤ 1.5',
        runs,
      },
      getRecords: {
        records,
        calls,
        recordsPerSecond: Math.round(records / readSeconds),
        cpuMicrosPerRecord: Number((readCpu / records).toFixed(2)),
      },
    };
    const out = join(here, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'streams.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = `# DynamoDB Streams cost (\`npm run bench:streams\`)

${result.date}, Node ${result.node}; ${REQUESTS} PutItems per run (${CONCURRENCY} in flight, ~1 KB items over ${KEYS} keys, so nearly all are MODIFY records with both images), ${REPEAT} runs per table, median shown; server CPU time (user + system) only.

| PutItem | server CPU per request | req/s (wall, shared machine) |
|---|---|---|
| table without a stream | ${result.putItem.plainCpuMicrosPerRequest} µs | ${Math.round(median(runs.plain.map((r) => r.requestsPerSecond)))} |
| NEW_AND_OLD_IMAGES stream | ${result.putItem.streamedCpuMicrosPerRequest} µs | ${Math.round(median(runs.streamed.map((r) => r.requestsPerSecond)))} |
| ratio (target ≤ 1.5×) | **${result.putItem.ratio}×** | |

| GetRecords (Limit 1000, TRIM_HORIZON to the end) | |
|---|---|
| records read | ${records} in ${calls} calls |
| records/s | ${result.getRecords.recordsPerSecond} |
| server CPU per record | ${result.getRecords.cpuMicrosPerRecord} µs |
`;
    writeFileSync(join(out, 'streams.md'), md);
    process.stdout.write(md);
  }
} finally {
  child.send('stop');
  await new Promise((r) => child.once('exit', r));
  agent.destroy();
  rmSync(scratch, { recursive: true, force: true });
}
