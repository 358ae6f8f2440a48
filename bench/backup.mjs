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
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateBackupCommand,
  DescribeBackupCommand,
  DescribeTableCommand,
  DynamoDBClient,
  RestoreTableFromBackupCommand,
} from '@aws-sdk/client-dynamodb';
import { arg } from './lib.mjs';
import { loadTable, pause, readersDuring as readersOn, startScratchServer } from './loaded-table.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ITEMS = Number(arg('--items', 20000));
const ITEM_BYTES = Number(arg('--item-bytes', 1000));
const READERS = Number(arg('--readers', 4));
const BASELINE_MS = Number(arg('--baseline-ms', 3000));

const { server, scratch, config } = await startScratchServer('sealdb-bench-backup-');
const ddb = new DynamoDBClient(config);
const tableBytes = await loadTable(ddb, 'bench', ITEMS, ITEM_BYTES);
const readersDuring = (until) => readersOn({ config, name: 'bench', readers: READERS, items: ITEMS }, until);

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
