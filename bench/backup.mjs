// CreateBackup and RestoreTableFromBackup of a large table (issue 15), not a timed test.
//
//   npm run bench:backup -- --items 20000 [--item-bytes 1000] [--readers 4]
//
// An in-process server with a data directory; the table is loaded with BatchWriteItem, then:
//  1. GetItem latency of `readers` concurrent clients for a few seconds (the baseline);
//  2. CreateBackup, with the same readers running until the backup is AVAILABLE;
//  3. RestoreTableFromBackup into a new table, readers on the source, until it is ACTIVE.
// Reported: MB/s of the backup and the restore (table size / time), the p50/p99 of GetItem during
// each phase, and the server's largest event-loop delay (monitorEventLoopDelay) in each phase.
// Results go to bench/results/backup-<date>.json and .md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  BatchWriteItemCommand,
  CreateBackupCommand,
  CreateTableCommand,
  DescribeBackupCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  RestoreTableFromBackupCommand,
} from '@aws-sdk/client-dynamodb';

const here = dirname(fileURLToPath(import.meta.url));
const { startServer } = await import(join(here, '..', 'dist', 'src', 'server.js'));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ITEMS = arg('items', 20000);
const ITEM_BYTES = arg('item-bytes', 1000);
const READERS = arg('readers', 4);
const BASELINE_MS = arg('baseline-ms', 3000);

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-bench-backup-'));
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(scratch, 'data'),
  region: 'us-east-1',
  rootKey: { kind: 'key-file', path: join(scratch, 'root.key') },
  auth: { mode: 'local' },
  sweepIntervalMs: 0,
});
const config = {
  endpoint: server.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
  maxAttempts: 1,
};
const ddb = new DynamoDBClient(config);
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

await ddb.send(
  new CreateTableCommand({
    TableName: 'bench',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  }),
);
const filler = 'x'.repeat(ITEM_BYTES);
let next = 0;
const loadStart = performance.now();
await Promise.all(
  Array.from({ length: 4 }, async () => {
    for (;;) {
      const from = next;
      next += 25;
      if (from >= ITEMS) return;
      const count = Math.min(25, ITEMS - from);
      await ddb.send(
        new BatchWriteItemCommand({
          RequestItems: {
            bench: Array.from({ length: count }, (_, j) => ({
              PutRequest: { Item: { id: { S: `item${from + j}` }, f: { S: filler } } },
            })),
          },
        }),
      );
    }
  }),
);
const loadSeconds = (performance.now() - loadStart) / 1000;
const table = (await ddb.send(new DescribeTableCommand({ TableName: 'bench' }))).Table;
const tableBytes = table.TableSizeBytes;
console.log(`loaded ${ITEMS} items, ${(tableBytes / 1e6).toFixed(1)} MB in ${loadSeconds.toFixed(1)} s`);

/** Runs GetItem readers until `until` resolves; returns latencies (ms) and the loop's worst delay. */
async function readersDuring(until) {
  const latencies = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  let done = false;
  const clients = Array.from({ length: READERS }, () => new DynamoDBClient(config));
  const running = clients.map(async (client, r) => {
    for (let n = r; !done; n += READERS) {
      const started = performance.now();
      await client.send(new GetItemCommand({ TableName: 'bench', Key: { id: { S: `item${(n * 7919) % ITEMS}` } } }));
      latencies.push(performance.now() - started);
    }
  });
  const started = performance.now();
  await until();
  const seconds = (performance.now() - started) / 1000;
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
  };
}

const baseline = await readersDuring(() => pause(BASELINE_MS));
let arn;
const backup = await readersDuring(async () => {
  arn = (await ddb.send(new CreateBackupCommand({ TableName: 'bench', BackupName: 'bench' }))).BackupDetails.BackupArn;
  for (;;) {
    const d = await ddb.send(new DescribeBackupCommand({ BackupArn: arn }));
    if (d.BackupDescription.BackupDetails.BackupStatus === 'AVAILABLE') return;
    await pause(20);
  }
});
const restore = await readersDuring(async () => {
  await ddb.send(new RestoreTableFromBackupCommand({ TargetTableName: 'restored', BackupArn: arn }));
  for (;;) {
    const t = (await ddb.send(new DescribeTableCommand({ TableName: 'restored' }))).Table;
    if (t.TableStatus === 'ACTIVE') return;
    await pause(20);
  }
});
const restored = (await ddb.send(new DescribeTableCommand({ TableName: 'restored' }))).Table;
if (restored.ItemCount !== ITEMS) throw new Error(`restored ${restored.ItemCount} of ${ITEMS} items`);

const mbps = (seconds) => +(tableBytes / 1e6 / seconds).toFixed(1);
const results = {
  date: new Date().toISOString(),
  items: ITEMS,
  itemBytes: ITEM_BYTES,
  tableMB: +(tableBytes / 1e6).toFixed(1),
  readers: READERS,
  baseline,
  backup: { ...backup, mbPerSecond: mbps(backup.seconds) },
  restore: { ...restore, mbPerSecond: mbps(restore.seconds) },
  p99DuringBackupVsBaseline: +(backup.p99Ms / baseline.p99Ms).toFixed(2),
};
console.log(JSON.stringify(results, null, 2));
const stamp = results.date.slice(0, 19).replace(/[:T]/g, '-');
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', `backup-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(
  join(here, 'results', `backup-${stamp}.md`),
  `# Backup and restore, ${results.date}\n\n${ITEMS} items of ~${ITEM_BYTES} B (${results.tableMB} MB), ` +
    `${READERS} concurrent GetItem clients, in-process server (bench/backup.mjs).\n\n` +
    '| phase | seconds | MB/s | GetItems | p50 ms | p99 ms | max loop delay ms |\n|---|---|---|---|---|---|---|\n' +
    [
      ['baseline (no backup)', baseline, ''],
      ['CreateBackup until AVAILABLE', backup, results.backup.mbPerSecond],
      ['Restore until ACTIVE', restore, results.restore.mbPerSecond],
    ]
      .map(
        ([name, r, m]) =>
          `| ${name} | ${r.seconds.toFixed(2)} | ${m} | ${r.gets} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxLoopDelayMs} |`,
      )
      .join('\n') +
    `\n\np99 during the backup / p99 without: ${results.p99DuringBackupVsBaseline}×\n`,
);
ddb.destroy();
await server.close();
rmSync(scratch, { recursive: true, force: true });
