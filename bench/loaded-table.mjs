// What the backup and export benches share: an in-process server on a scratch data directory,
// a table loaded with BatchWriteItem, and GetItem readers timed while a long operation runs.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';

const here = dirname(fileURLToPath(import.meta.url));

export const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a server on a new scratch folder (`prefix` names it); `serverOptions` adds to the
 * defaults (e.g. exportDir); `dist` is the build to run (default this checkout's). Returns the
 * server, the scratch path and SDK client settings.
 */
export async function startScratchServer(prefix, serverOptions = (_scratch) => ({}), dist = join(here, '..', 'dist')) {
  const { startServer } = await import(pathToFileURL(join(dist, 'src', 'server.js')).href);
  const scratch = mkdtempSync(join(tmpdir(), prefix));
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(scratch, 'data'),
    region: 'us-east-1',
    rootKey: { kind: 'key-file', path: join(scratch, 'root.key') },
    auth: { mode: 'local' },
    sweepIntervalMs: 0,
    ...serverOptions(scratch),
  });
  const config = {
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  };
  return { server, scratch, config };
}

/** Creates table `name` (hash key `id`) and fills it with `items` items of ~`itemBytes`, 4 writers. */
export async function loadTable(ddb, name, items, itemBytes) {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const filler = 'x'.repeat(itemBytes);
  let next = 0;
  const loadStart = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (;;) {
        const from = next;
        next += 25;
        if (from >= items) return;
        const count = Math.min(25, items - from);
        await ddb.send(
          new BatchWriteItemCommand({
            RequestItems: {
              [name]: Array.from({ length: count }, (_, j) => ({
                PutRequest: { Item: { id: { S: `item${from + j}` }, f: { S: filler } } },
              })),
            },
          }),
        );
      }
    }),
  );
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const tableBytes = (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table.TableSizeBytes;
  console.log(`loaded ${items} items, ${(tableBytes / 1e6).toFixed(1)} MB in ${loadSeconds.toFixed(1)} s`);
  return tableBytes;
}

/**
 * Runs `readers` GetItem clients on table `name` (keys item0..item<items-1>) until `until`
 * resolves; returns their latencies' p50/p99, the loop's worst delay and this process's CPU.
 */
export async function readersDuring({ config, name, readers, items }, until) {
  const latencies = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let done = false;
  const clients = Array.from({ length: readers }, () => new DynamoDBClient(config));
  const running = clients.map(async (client, r) => {
    for (let n = r; !done; n += readers) {
      const started = performance.now();
      await client.send(new GetItemCommand({ TableName: name, Key: { id: { S: `item${(n * 7919) % items}` } } }));
      latencies.push(performance.now() - started);
    }
  });
  const started = performance.now();
  const cpu = process.cpuUsage();
  await until();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  done = true;
  await Promise.all(running);
  loop.disable();
  for (const c of clients) c.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return {
    seconds,
    gets: latencies.length,
    p50Ms: +pct(0.5).toFixed(2),
    p99Ms: +pct(0.99).toFixed(2),
    maxLoopDelayMs: +(loop.max / 1e6).toFixed(1),
    cpuSeconds: +((used.user + used.system) / 1e6).toFixed(2),
  };
}
