// An INCREMENTAL_EXPORT of a small window of a large table (issue 15), not a timed test.
//
//   node bench/export-incremental.mjs [--items 50000] [--item-bytes 1000] [--changed 20] [--dist DIR]
//
// An in-process server (of the build in --dist, default this checkout's dist/) on a clock the
// bench moves: a table of `items` items with PITR on, a quiet minute, `changed` puts in the next,
// then an incremental export of those two minutes, NEW_AND_OLD_IMAGES. Reported: the export's
// wall seconds and the process's CPU seconds while it ran (the client only polls DescribeExport).
// Run it against two builds to compare; the cost should follow `changed`, not `items`.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DescribeExportCommand,
  DynamoDBClient,
  ExportTableToPointInTimeCommand,
  PutItemCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { arg } from './lib.mjs';
import { loadTable, pause, startScratchServer } from './loaded-table.mjs';

const ITEMS = Number(arg('--items', 50000));
const ITEM_BYTES = Number(arg('--item-bytes', 1000));
const CHANGED = Number(arg('--changed', 20));
const DIST = resolve(arg('--dist', join(import.meta.dirname, '..', 'dist')));
const MINUTE = 60_000;

const { ManualClock } = await import(pathToFileURL(join(DIST, 'src', 'core', 'clock.js')).href);
const clock = new ManualClock();
const { server, scratch, config } = await startScratchServer(
  'sealdb-bench-incr-',
  (dir) => ({ exportDir: join(dir, 's3'), clock }),
  DIST,
);
mkdirSync(join(scratch, 's3', 'bench-bucket'), { recursive: true });
const ddb = new DynamoDBClient(config);
await loadTable(ddb, 'bench', ITEMS, ITEM_BYTES);
await ddb.send(
  new UpdateContinuousBackupsCommand({
    TableName: 'bench',
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
  }),
);
clock.advance(MINUTE);
const from = Math.ceil(clock.now() / 1000) * 1000;
clock.advance(MINUTE);
for (let i = 0; i < CHANGED; i++) {
  await ddb.send(
    new PutItemCommand({ TableName: 'bench', Item: { id: { S: `item-${i * 7}` }, v: { S: `changed-${i}` } } }),
  );
}
// AWS: a window of at least 15 minutes, ending before now.
clock.advance(16 * MINUTE);
const to = from + 16 * MINUTE;
const tableArn = `arn:aws:dynamodb:us-east-1:000000000000:table/bench`;
// The load's background work (checkpoints, the table file's page check on the worker thread)
// settles first: the CPU counted is the export's.
for (let last = process.cpuUsage(); ; ) {
  await pause(500);
  const used = process.cpuUsage(last);
  last = process.cpuUsage();
  if (used.user + used.system < 25_000) break;
}
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const { ExportDescription } = await ddb.send(
  new ExportTableToPointInTimeCommand({
    TableArn: tableArn,
    S3Bucket: 'bench-bucket',
    ExportType: 'INCREMENTAL_EXPORT',
    IncrementalExportSpecification: { ExportFromTime: new Date(from), ExportToTime: new Date(to) },
  }),
);
let done;
for (;;) {
  done = (await ddb.send(new DescribeExportCommand({ ExportArn: ExportDescription.ExportArn }))).ExportDescription;
  if (done.ExportStatus !== 'IN_PROGRESS') break;
  await pause(5);
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
if (done.ExportStatus !== 'COMPLETED') throw new Error(`export ${done.ExportStatus}: ${done.FailureMessage}`);
if (done.ItemCount !== CHANGED) throw new Error(`exported ${done.ItemCount} changes of ${CHANGED}`);
console.log(
  JSON.stringify({
    dist: DIST,
    items: ITEMS,
    changed: CHANGED,
    exportSeconds: +seconds.toFixed(3),
    cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(3),
  }),
);
ddb.destroy();
await server.close();
rmSync(scratch, { recursive: true, force: true });
