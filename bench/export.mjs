// ExportTableToPointInTime and ImportTable of a table of N items (issue 15), not a timed test.
//
//   npm run bench:export -- --items 20000 [--item-bytes 1000] [--readers 4] [--format DYNAMODB_JSON|ION]
//
// An in-process server with a data directory and an export folder; the table is loaded with
// BatchWriteItem and PITR enabled, then:
//  1. GetItem latency of `readers` concurrent clients for a few seconds (the baseline);
//  2. ExportTableToPointInTime, the readers running until the export is COMPLETED;
//  3. ImportTable of the export's data files into a new table, readers on the source, until COMPLETED.
// Reported: MB/s (table size / time), the p50/p99 of GetItem in each phase, the server's largest
// event-loop delay in each phase, and the process's CPU seconds (server and clients share it).
// Results go to bench/results/export-<date>.json and .md.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeExportCommand,
  DescribeImportCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ExportTableToPointInTimeCommand,
  GetItemCommand,
  ImportTableCommand,
  UpdateContinuousBackupsCommand,
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
const FORMAT = process.argv.includes('--format') ? process.argv[process.argv.indexOf('--format') + 1] : 'DYNAMODB_JSON';

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-bench-export-'));
const server = await startServer({
  host: '127.0.0.1',
  port: 0,
  dataDir: join(scratch, 'data'),
  region: 'us-east-1',
  rootKey: { kind: 'key-file', path: join(scratch, 'root.key') },
  auth: { mode: 'local' },
  sweepIntervalMs: 0,
  exportDir: join(scratch, 's3'),
});
mkdirSync(join(scratch, 's3', 'bench-bucket'), { recursive: true });
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
await ddb.send(
  new UpdateContinuousBackupsCommand({
    TableName: 'bench',
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  }),
);
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

const baseline = await readersDuring(() => pause(BASELINE_MS));
let exportArn;
const exported = await readersDuring(async () => {
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'bench' }));
  exportArn = (
    await ddb.send(
      new ExportTableToPointInTimeCommand({ TableArn: Table.TableArn, S3Bucket: 'bench-bucket', ExportFormat: FORMAT }),
    )
  ).ExportDescription.ExportArn;
  for (;;) {
    const d = (await ddb.send(new DescribeExportCommand({ ExportArn: exportArn }))).ExportDescription;
    if (d.ExportStatus === 'COMPLETED') return;
    if (d.ExportStatus === 'FAILED') throw new Error(`export failed: ${d.FailureMessage}`);
    await pause(20);
  }
});
const exportId = exportArn.split('/').pop();
const imported = await readersDuring(async () => {
  const { ImportTableDescription } = await ddb.send(
    new ImportTableCommand({
      S3BucketSource: { S3Bucket: 'bench-bucket', S3KeyPrefix: `AWSDynamoDB/${exportId}/data/` },
      InputFormat: FORMAT,
      InputCompressionType: 'GZIP',
      TableCreationParameters: {
        TableName: 'imported',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      },
    }),
  );
  for (;;) {
    const d = (await ddb.send(new DescribeImportCommand({ ImportArn: ImportTableDescription.ImportArn })))
      .ImportTableDescription;
    if (d.ImportStatus === 'COMPLETED') return;
    if (d.ImportStatus === 'FAILED') throw new Error(`import failed: ${d.FailureMessage}`);
    await pause(20);
  }
});
const copy = (await ddb.send(new DescribeTableCommand({ TableName: 'imported' }))).Table;
if (copy.ItemCount !== ITEMS) throw new Error(`imported ${copy.ItemCount} of ${ITEMS} items`);

const mbps = (seconds) => +(tableBytes / 1e6 / seconds).toFixed(1);
const results = {
  date: new Date().toISOString(),
  items: ITEMS,
  itemBytes: ITEM_BYTES,
  format: FORMAT,
  tableMB: +(tableBytes / 1e6).toFixed(1),
  readers: READERS,
  baseline,
  export: { ...exported, mbPerSecond: mbps(exported.seconds) },
  import: { ...imported, mbPerSecond: mbps(imported.seconds) },
  p99DuringExportVsBaseline: +(exported.p99Ms / baseline.p99Ms).toFixed(2),
};
console.log(JSON.stringify(results, null, 2));
const stamp = results.date.slice(0, 19).replace(/[:T]/g, '-');
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', `export-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(
  join(here, 'results', `export-${stamp}.md`),
  `# Export and import, ${results.date}\n\n${ITEMS} items of ~${ITEM_BYTES} B (${results.tableMB} MB), ${FORMAT}, ` +
    `${READERS} concurrent GetItem clients, in-process server (bench/export.mjs).\n\n` +
    '| phase | seconds | MB/s | GetItems | p50 ms | p99 ms | max loop delay ms | CPU s (process) |\n|---|---|---|---|---|---|---|---|\n' +
    [
      ['baseline (no export)', baseline, ''],
      ['ExportTableToPointInTime until COMPLETED', exported, results.export.mbPerSecond],
      ['ImportTable until COMPLETED', imported, results.import.mbPerSecond],
    ]
      .map(
        ([name, r, m]) =>
          `| ${name} | ${r.seconds.toFixed(2)} | ${m} | ${r.gets} | ${r.p50Ms} | ${r.p99Ms} | ${r.maxLoopDelayMs} | ${r.cpuSeconds} |`,
      )
      .join('\n') +
    `\n\np99 during the export / p99 without: ${results.p99DuringExportVsBaseline}×\n`,
);
ddb.destroy();
await server.close();
rmSync(scratch, { recursive: true, force: true });
