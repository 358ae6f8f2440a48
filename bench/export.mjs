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
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DescribeExportCommand,
  DescribeImportCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ExportTableToPointInTimeCommand,
  ImportTableCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { arg } from './lib.mjs';
import { loadTable, pause, readersDuring as readersOn, startScratchServer } from './loaded-table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ITEMS = Number(arg('--items', 20000));
const ITEM_BYTES = Number(arg('--item-bytes', 1000));
const READERS = Number(arg('--readers', 4));
const BASELINE_MS = Number(arg('--baseline-ms', 3000));
const FORMAT = arg('--format', 'DYNAMODB_JSON');

const { server, scratch, config } = await startScratchServer('sealdb-bench-export-', (dir) => ({
  exportDir: join(dir, 's3'),
}));
mkdirSync(join(scratch, 's3', 'bench-bucket'), { recursive: true });
const ddb = new DynamoDBClient(config);
const tableBytes = await loadTable(ddb, 'bench', ITEMS, ITEM_BYTES);
await ddb.send(
  new UpdateContinuousBackupsCommand({
    TableName: 'bench',
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  }),
);
const readersDuring = (until) => readersOn({ config, name: 'bench', readers: READERS, items: ITEMS }, until);

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
