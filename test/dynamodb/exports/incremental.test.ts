import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import {
  CreateTableCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  type ExportDescription,
  ExportTableToPointInTimeCommand,
  type ExportTableToPointInTimeCommandInput,
  ListExportsCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import * as ion from 'ion-js';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { keepAliveClient } from '../../helpers/clients.js';
import { createKey } from '../../helpers/kms.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { bucket, enablePitr, exportFinished, filesIn } from './helpers.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const MINUTE = 60_000;
const SCHEMA = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'N' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

interface Line {
  Metadata: { WriteTimestampMicros: { N: string } };
  Keys: Record<string, unknown>;
  NewImage?: Record<string, unknown>;
  OldImage?: Record<string, unknown>;
}

const item = (pk: string, v: string) => ({ pk: { S: pk }, sk: { N: '1' }, v: { N: v } });
const key = (pk: string) => ({ pk: { S: pk }, sk: { N: '1' } });

/**
 * A table with history: a, b, c before the window; in it a burst of updates, a delete, a new
 * item and one put then deleted; after it more writes the export must not show.
 */
async function burst(server: TestServer, ddb: DynamoDBClient) {
  const created = await ddb.send(new CreateTableCommand({ TableName: 'Orders', ...SCHEMA }));
  await enablePitr(ddb, 'Orders');
  const put = (pk: string, v: string) => ddb.send(new PutItemCommand({ TableName: 'Orders', Item: item(pk, v) }));
  const del = (pk: string) => ddb.send(new DeleteItemCommand({ TableName: 'Orders', Key: key(pk) }));
  server.clock.advance(1000);
  await put('a', '1');
  await put('b', '1');
  await put('c', '1');
  server.clock.advance(MINUTE);
  const from = server.clock.now();
  // A write stamped exactly at ExportFromTime is inside the window (inclusive start).
  await ddb.send(
    new UpdateItemCommand({
      TableName: 'Orders',
      Key: key('a'),
      UpdateExpression: 'SET v = :v',
      ExpressionAttributeValues: { ':v': { N: '2' } },
    }),
  );
  server.clock.advance(MINUTE);
  const bAt = server.clock.now();
  await del('b');
  const bWritten = [bAt, server.clock.now()] as const;
  server.clock.advance(MINUTE);
  await put('e', '1');
  server.clock.advance(MINUTE);
  await put('f', '1');
  server.clock.advance(MINUTE);
  await del('f');
  server.clock.advance(MINUTE);
  const aAt = server.clock.now();
  await put('a', '3');
  const lastA = [aAt, server.clock.now()] as const;
  server.clock.advance(15 * MINUTE);
  const to = server.clock.now();
  // Stamped at ExportToTime: outside the window (exclusive end), as is all that follows.
  await put('c', '9');
  server.clock.advance(MINUTE);
  await put('g', '1');
  await del('e');
  server.clock.advance(MINUTE);
  return { tableArn: created.TableDescription?.TableArn as string, from, to, lastA, bWritten };
}

/** The server's clock runs on between the test's readings: a write's stamp lies between two of them. */
function stampedWithin(micros: string, [before, after]: readonly [number, number]): void {
  const at = Number(micros);
  assert.ok(at >= before * 1000 && at <= after * 1000 + 999, `${micros} not within ${before}..${after}`);
}

/** The lines of an export's data files, read through its manifests (checksums verified). */
function exportLines(root: string, done: ExportDescription, open: (file: string) => Buffer = readFileSync) {
  const summary = JSON.parse(open(join(root, done.ExportManifest as string)).toString('utf8'));
  const entries = open(join(root, summary.manifestFilesS3Key))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const lines: Line[] = [];
  for (const entry of entries) {
    const data = open(join(root, entry.dataFileS3Key));
    assert.equal(createHash('md5').update(data).digest('base64'), entry.md5Checksum);
    const text = gunzipSync(data).toString('utf8');
    const fileLines = text.split('\n').filter(Boolean);
    assert.equal(fileLines.length, entry.itemCount);
    lines.push(...fileLines.map((l) => JSON.parse(l) as Line));
  }
  const byKey = new Map(lines.map((l) => [JSON.stringify(l.Keys), l]));
  assert.equal(byKey.size, lines.length, 'one line per changed item');
  return { summary, entries, lines, byKey };
}

describe('ExportTableToPointInTime INCREMENTAL_EXPORT', () => {
  it('exports each item changed in the window once, with its new and old images', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-incr-'));
    const exportDir = join(scratch, 's3');
    const server = await startTestServer({ scratch, exportDir });
    const ddb = keepAliveClient(server);
    try {
      const root = bucket(exportDir, 'changes');
      const { tableArn, from, to, lastA, bWritten } = await burst(server, ddb);

      const started = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: tableArn,
          S3Bucket: 'changes',
          S3Prefix: 'cdc',
          ExportType: 'INCREMENTAL_EXPORT',
          IncrementalExportSpecification: { ExportFromTime: new Date(from), ExportToTime: new Date(to) },
        }),
      );
      const description = started.ExportDescription as ExportDescription;
      assert.equal(description.ExportType, 'INCREMENTAL_EXPORT');
      assert.equal(description.IncrementalExportSpecification?.ExportFromTime?.getTime(), from);
      assert.equal(description.IncrementalExportSpecification?.ExportToTime?.getTime(), to);
      // The default view (model: IncrementalExportSpecification).
      assert.equal(description.IncrementalExportSpecification?.ExportViewType, 'NEW_AND_OLD_IMAGES');
      const done = await exportFinished(ddb, description.ExportArn as string);
      assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);
      assert.equal(done.ExportType, 'INCREMENTAL_EXPORT');
      assert.equal(done.IncrementalExportSpecification?.ExportViewType, 'NEW_AND_OLD_IMAGES');
      // a (updated twice), b (deleted), e (new); f came and went, c and g changed after the window.
      assert.equal(done.ItemCount, 3);

      const { summary, entries, lines, byKey } = exportLines(root, done);
      const exportId = (done.ExportArn as string).split('/').pop();
      assert.equal(done.ExportManifest, `cdc/AWSDynamoDB/${exportId}/manifest-summary.json`);
      assert.equal(summary.exportType, 'INCREMENTAL_EXPORT');
      assert.equal(summary.outputView, 'NEW_AND_OLD_IMAGES');
      assert.equal(summary.outputFormat, 'DYNAMODB_JSON');
      assert.equal(summary.exportFromTime, new Date(from).toISOString());
      assert.equal(summary.exportToTime, new Date(to).toISOString());
      assert.equal(summary.exportTime, undefined);
      assert.equal(summary.itemCount, 3);
      // Data files in the prefix's shared data folder.
      for (const entry of entries)
        assert.match(entry.dataFileS3Key, /^cdc\/AWSDynamoDB\/data\/[a-z2-7]{26}\.json\.gz$/);
      assert.ok(filesIn(root).includes(`cdc/AWSDynamoDB/${exportId}/_started`));
      assert.equal(lines.length, 3);

      const a = byKey.get(JSON.stringify(key('a'))) as Line;
      assert.deepEqual(a.NewImage, item('a', '3'));
      assert.deepEqual(a.OldImage, item('a', '1'));
      stampedWithin(a.Metadata.WriteTimestampMicros.N, lastA);
      const b = byKey.get(JSON.stringify(key('b'))) as Line;
      assert.equal(b.NewImage, undefined);
      assert.deepEqual(b.OldImage, item('b', '1'));
      stampedWithin(b.Metadata.WriteTimestampMicros.N, bWritten);
      const e = byKey.get(JSON.stringify(key('e'))) as Line;
      assert.deepEqual(e.NewImage, item('e', '1'));
      assert.equal(e.OldImage, undefined);
      assert.deepEqual(Object.keys(a), ['Metadata', 'Keys', 'NewImage', 'OldImage']);

      // NEW_IMAGE: no old images; a delete is its keys alone.
      const newOnly = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: tableArn,
          S3Bucket: 'changes',
          ExportType: 'INCREMENTAL_EXPORT',
          IncrementalExportSpecification: {
            ExportFromTime: new Date(from),
            ExportToTime: new Date(to),
            ExportViewType: 'NEW_IMAGE',
          },
        }),
      );
      const doneNew = await exportFinished(ddb, newOnly.ExportDescription?.ExportArn as string);
      assert.equal(doneNew.ExportStatus, 'COMPLETED', doneNew.FailureMessage);
      const viewNew = exportLines(root, doneNew);
      assert.equal(viewNew.summary.outputView, 'NEW_IMAGE');
      assert.equal(viewNew.lines.length, 3);
      assert.ok(viewNew.lines.every((l) => l.OldImage === undefined));
      const bNew = viewNew.byKey.get(JSON.stringify(key('b'))) as Line;
      assert.deepEqual(Object.keys(bNew), ['Metadata', 'Keys']);
      assert.deepEqual(bNew.Keys, key('b'));
      assert.equal(bNew.Metadata.WriteTimestampMicros.N, b.Metadata.WriteTimestampMicros.N);
      assert.deepEqual(viewNew.byKey.get(JSON.stringify(key('a')))?.NewImage, item('a', '3'));

      // A later window (from after a's last write) holds the later changes only: c, g (new) and e (deleted).
      const askedAt = server.clock.now();
      const later = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: tableArn,
          S3Bucket: 'changes',
          ExportType: 'INCREMENTAL_EXPORT',
          IncrementalExportSpecification: { ExportFromTime: new Date(to - 14 * MINUTE) },
        }),
      );
      const doneLater = await exportFinished(ddb, later.ExportDescription?.ExportArn as string);
      assert.equal(doneLater.ExportStatus, 'COMPLETED', doneLater.FailureMessage);
      // ExportToTime defaults to the latest time with data: now.
      const laterTo = doneLater.IncrementalExportSpecification?.ExportToTime?.getTime() as number;
      assert.ok(laterTo >= askedAt && laterTo <= server.clock.now());
      const laterLines = exportLines(root, doneLater);
      assert.deepEqual(
        [...laterLines.byKey.keys()].sort(),
        [key('c'), key('e'), key('g')].map((k) => JSON.stringify(k)).sort(),
      );
      assert.deepEqual(laterLines.byKey.get(JSON.stringify(key('c')))?.OldImage, item('c', '1'));
      assert.deepEqual(laterLines.byKey.get(JSON.stringify(key('c')))?.NewImage, item('c', '9'));

      // ION: the same fields, each line an Ion struct (read back with ion-js).
      const asIon = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: tableArn,
          S3Bucket: 'changes',
          ExportFormat: 'ION',
          ExportType: 'INCREMENTAL_EXPORT',
          IncrementalExportSpecification: { ExportFromTime: new Date(from), ExportToTime: new Date(to) },
        }),
      );
      const doneIon = await exportFinished(ddb, asIon.ExportDescription?.ExportArn as string);
      assert.equal(doneIon.ExportStatus, 'COMPLETED', doneIon.FailureMessage);
      assert.equal(doneIon.ItemCount, 3);
      const ionSummary = JSON.parse(readFileSync(join(root, doneIon.ExportManifest as string), 'utf8'));
      const ionFiles = readFileSync(join(root, ionSummary.manifestFilesS3Key), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l).dataFileS3Key as string);
      const ionText = ionFiles.map((f) => gunzipSync(readFileSync(join(root, f))).toString('utf8')).join('');
      const values = ion.loadAll(ionText) as unknown as Record<string, Record<string, unknown>>[];
      assert.equal(values.length, 3);
      const ionA = values.find((v) => String(v.Keys?.pk) === 'a');
      assert.ok(ionA, ionText);
      assert.equal(String(ionA.NewImage?.v), '3');
      assert.equal(String(ionA.OldImage?.v), '1');
      assert.equal(String(ionA.Metadata?.WriteTimestampMicros), a.Metadata.WriteTimestampMicros.N);

      // ListExports names the type.
      const listed = await ddb.send(new ListExportsCommand({ TableArn: tableArn }));
      assert.ok((listed.ExportSummaries ?? []).every((s) => s.ExportType === 'INCREMENTAL_EXPORT'));
    } finally {
      ddb.destroy();
      await server.close();
    }
  });

  it('takes old images from the snapshot and the log before the window, for the changed items only', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-incr-old-'));
    const exportDir = join(scratch, 's3');
    const server = await startTestServer({ scratch, exportDir });
    const ddb = keepAliveClient(server);
    try {
      const root = bucket(exportDir, 'old');
      const created = await ddb.send(new CreateTableCommand({ TableName: 'Orders', ...SCHEMA }));
      const put = (pk: string, v: string) => ddb.send(new PutItemCommand({ TableName: 'Orders', Item: item(pk, v) }));
      // Written before PITR: only the first snapshot holds them.
      for (const pk of ['s1', 's2', 's3', 'keep']) await put(pk, '1');
      for (let i = 0; i < 50; i++) await put(`other${i}`, '1');
      await enablePitr(ddb, 'Orders');
      server.clock.advance(1000);
      await put('s2', '2');
      await ddb.send(new DeleteItemCommand({ TableName: 'Orders', Key: key('s3') }));
      // A day on, a second snapshot: the old images come from it and the log after it.
      server.clock.advance(24 * 60 * MINUTE + MINUTE);
      await server.sweep();
      server.clock.advance(1000);
      await put('s4', '1');
      await put('s2', '3');
      server.clock.advance(MINUTE);
      const from = server.clock.now();
      for (const pk of ['s1', 's2', 's3', 's4']) await put(pk, '9');
      server.clock.advance(16 * MINUTE);
      const to = server.clock.now();
      const started = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: created.TableDescription?.TableArn,
          S3Bucket: 'old',
          ExportType: 'INCREMENTAL_EXPORT',
          IncrementalExportSpecification: { ExportFromTime: new Date(from), ExportToTime: new Date(to) },
        }),
      );
      const done = await exportFinished(ddb, started.ExportDescription?.ExportArn as string);
      assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);
      assert.equal(done.ItemCount, 4);
      const { byKey } = exportLines(root, done);
      const line = (pk: string) => byKey.get(JSON.stringify(key(pk)));
      assert.deepEqual(line('s1')?.OldImage, item('s1', '1'));
      assert.deepEqual(line('s2')?.OldImage, item('s2', '3'));
      assert.equal(line('s3')?.OldImage, undefined);
      assert.deepEqual(line('s3')?.NewImage, item('s3', '9'));
      assert.deepEqual(line('s4')?.OldImage, item('s4', '1'));
      assert.equal(line('keep'), undefined);
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });

  it('fails on a bucket that does not exist (S3NoSuchBucket), the window read or not', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-incr-nb-'));
    const exportDir = join(scratch, 's3');
    const server = await startTestServer({ scratch, exportDir });
    const ddb = keepAliveClient(server);
    try {
      const { tableArn, from, to } = await burst(server, ddb);
      const started = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: tableArn,
          S3Bucket: 'no-such-bucket',
          ExportType: 'INCREMENTAL_EXPORT',
          IncrementalExportSpecification: { ExportFromTime: new Date(from), ExportToTime: new Date(to) },
        }),
      );
      const done = await exportFinished(ddb, started.ExportDescription?.ExportArn as string);
      assert.equal(done.ExportStatus, 'FAILED');
      assert.equal(done.FailureCode, 'S3NoSuchBucket');
      // The table's history is still readable: the failed job released what it held.
      await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: item('after-failure', '1') }));
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });

  it('refuses windows and parameters as DynamoDB does, in its words', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-incr-v-'));
    const exportDir = join(scratch, 's3');
    const server = await startTestServer({ scratch, exportDir });
    const ddb = keepAliveClient(server);
    try {
      bucket(exportDir, 'changes');
      const created = await ddb.send(new CreateTableCommand({ TableName: 'Plain', ...SCHEMA }));
      const tableArn = created.TableDescription?.TableArn as string;
      const base = { TableArn: tableArn, S3Bucket: 'changes' };
      const incremental = (
        spec: ExportTableToPointInTimeCommandInput['IncrementalExportSpecification'],
        extra: Partial<ExportTableToPointInTimeCommandInput> = {},
      ) =>
        ddb.send(
          new ExportTableToPointInTimeCommand({
            ...base,
            ExportType: 'INCREMENTAL_EXPORT',
            IncrementalExportSpecification: spec,
            ...extra,
          }),
        );
      const seconds = (ms: number) => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
      const fromTooEarly = (from: number) =>
        `Incremental export period from time cannot be less than the table creation time : ${seconds(from)}`;
      // Without PITR the window lies outside the (absent) history: the window's error.
      server.clock.advance(MINUTE);
      const early = server.clock.now() - 30 * MINUTE;
      await rejectsWith(
        incremental({ ExportFromTime: new Date(early) }),
        'InvalidExportTimeException',
        fromTooEarly(early),
      );
      await enablePitr(ddb, 'Plain');
      const enabledAt = server.clock.now();
      server.clock.advance(2 * 60 * MINUTE);
      const now = server.clock.now();

      // The pairing of ExportType and the specification.
      await rejectsWith(
        ddb.send(
          new ExportTableToPointInTimeCommand({
            ...base,
            IncrementalExportSpecification: { ExportFromTime: new Date(now - 30 * MINUTE) },
          }),
        ),
        'ValidationException',
        'Invalid Request: Export Type expected to be Incremental Export when incremental export specification is provided',
      );
      await rejectsWith(
        incremental({ ExportFromTime: new Date(now - 30 * MINUTE) }, { ExportType: 'FULL_EXPORT' }),
        'ValidationException',
        'Invalid Request: When Export Type is Full Export , Incremental Export Specification should not be provided',
      );
      await rejectsWith(
        ddb.send(new ExportTableToPointInTimeCommand({ ...base, ExportType: 'INCREMENTAL_EXPORT' })),
        'ValidationException',
        'Invalid Request: Incremental Export Specification expected when export type is set as Incremental Export',
      );
      for (const spec of [{}, { ExportViewType: 'NEW_IMAGE' as const }, { ExportToTime: new Date(now) }]) {
        await rejectsWith(
          incremental(spec),
          'ValidationException',
          'Invalid Request: ExportFromTime must be provided in IncrementalExportSpecification',
        );
      }
      await rejectsWith(
        incremental({ ExportFromTime: new Date(now - 30 * MINUTE), ExportViewType: 'NEW_IMAGES' as 'NEW_IMAGE' }),
        'ValidationException',
        /incrementalExportSpecification\.exportViewType/,
      );

      // The window: its start, its end, then its length, all InvalidExportTimeException.
      const before = enabledAt - MINUTE;
      await rejectsWith(
        incremental({ ExportFromTime: new Date(before), ExportToTime: new Date(enabledAt + 20 * MINUTE) }),
        'InvalidExportTimeException',
        fromTooEarly(before),
      );
      const future = now + 10 * MINUTE;
      await rejectsWith(
        incremental({ ExportFromTime: new Date(now - 10 * MINUTE), ExportToTime: new Date(future) }),
        'InvalidExportTimeException',
        `Incremental export period to time cannot be greater than the current time : ${seconds(future)}`,
      );
      const short = 'Difference between export period from time and export period to time is less than 15 minutes';
      await rejectsWith(
        incremental({ ExportFromTime: new Date(now - 14 * MINUTE), ExportToTime: new Date(now) }),
        'InvalidExportTimeException',
        short,
      );
      // A defaulted ExportToTime (now) counts; an inverted window is too short as well.
      await rejectsWith(
        incremental({ ExportFromTime: new Date(now - 10 * MINUTE) }),
        'InvalidExportTimeException',
        short,
      );
      await rejectsWith(
        incremental({ ExportFromTime: new Date(now - 20 * MINUTE), ExportToTime: new Date(now - 40 * MINUTE) }),
        'InvalidExportTimeException',
        short,
      );
      server.clock.advance(24 * 60 * MINUTE);
      const later = server.clock.now();
      await rejectsWith(
        incremental({ ExportFromTime: new Date(later - 25 * 60 * MINUTE), ExportToTime: new Date(later) }),
        'InvalidExportTimeException',
        'Difference between export period from time and export period to time is greater than 24 hours',
      );
      await rejectsWith(
        incremental({ ExportFromTime: new Date(later - 30 * MINUTE) }, { ExportTime: new Date(later) }),
        'ValidationException',
        /ExportTime cannot be provided/,
      );
      // A window at the very start of the history is fine (and empty).
      const started = await incremental({
        ExportFromTime: new Date(enabledAt),
        ExportToTime: new Date(enabledAt + 15 * MINUTE),
      });
      const done = await exportFinished(ddb, started.ExportDescription?.ExportArn as string);
      assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);
      assert.equal(done.ItemCount, 0);
      // Billed at least 10 MB, as DynamoDB bills an incremental export.
      assert.equal(done.BilledSizeBytes, 10_000_000);
      // ExportTime is not shown for an incremental export (as DynamoDB shows it: DDB-EXPORT-019).
      assert.equal(done.ExportTime, undefined);
      // Replaying its ClientToken with another window conflicts.
      const token = 'incremental-token';
      await incremental(
        { ExportFromTime: new Date(enabledAt), ExportToTime: new Date(enabledAt + 16 * MINUTE) },
        { ClientToken: token },
      );
      await rejectsWith(
        incremental(
          { ExportFromTime: new Date(enabledAt), ExportToTime: new Date(enabledAt + 17 * MINUTE) },
          { ClientToken: token },
        ),
        'ExportConflictException',
        'Export conflict: Duplicate request detected with conflicting parameters',
      );
      await rejectsWith(
        incremental(
          {
            ExportFromTime: new Date(enabledAt),
            ExportToTime: new Date(enabledAt + 16 * MINUTE),
            ExportViewType: 'NEW_IMAGE',
          },
          { ClientToken: token },
        ),
        'ExportConflictException',
      );
    } finally {
      ddb.destroy();
      await server.close();
    }
  });

  it('seals every file of an incremental export under the KMS key (S3SseAlgorithm KMS)', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-incr-kms-'));
    const exportDir = join(scratch, 's3');
    const server = await startTestServer({ scratch, exportDir });
    const ddb = keepAliveClient(server);
    const kms = new KMSClient(server.clientConfig());
    try {
      const root = bucket(exportDir, 'sealed');
      const kmsKey = await createKey(kms);
      const { tableArn, from, to } = await burst(server, ddb);
      const started = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: tableArn,
          S3Bucket: 'sealed',
          S3SseAlgorithm: 'KMS',
          S3SseKmsKeyId: kmsKey.id,
          ExportType: 'INCREMENTAL_EXPORT',
          IncrementalExportSpecification: { ExportFromTime: new Date(from), ExportToTime: new Date(to) },
        }),
      );
      const done = await exportFinished(ddb, started.ExportDescription?.ExportArn as string);
      assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);
      for (const file of filesIn(root)) {
        const data = readFileSync(join(root, file));
        assert.equal(data.subarray(0, 8).toString('ascii'), 'SDBXSEAL', file);
      }
      // Opened with `sealdb export open`, the files read as the plain export's.
      const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local-secret' };
      let n = 0;
      const opened = new Map<string, Buffer>();
      for (const file of filesIn(root)) {
        if (file.endsWith('_started')) continue;
        const out = join(scratch, `opened-${n++}`);
        await run(
          process.execPath,
          [CLI, 'export', 'open', join(root, file), '--out', out, '--endpoint-url', server.endpoint],
          {
            env,
          },
        );
        opened.set(join(root, file), readFileSync(out));
      }
      const open = (path: string): Buffer => {
        const data = opened.get(path);
        assert.ok(data, `no file ${path}`);
        return data;
      };
      const { summary, byKey } = exportLines(root, done, open);
      assert.equal(summary.s3SseAlgorithm, 'KMS');
      assert.equal(summary.s3SseKmsKeyId, kmsKey.arn);
      assert.equal(byKey.size, 3);
      assert.deepEqual(byKey.get(JSON.stringify(key('a')))?.OldImage, item('a', '1'));
    } finally {
      kms.destroy();
      ddb.destroy();
      await server.close();
    }
  });
});
