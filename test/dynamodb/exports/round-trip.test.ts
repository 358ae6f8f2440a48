import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  type AttributeValue,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ExportTableToPointInTimeCommand,
  ImportTableCommand,
  ListExportsCommand,
  ListImportsCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { keepAliveClient } from '../../helpers/clients.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { allItems, bucket, enablePitr, exportFinished, filesIn, importFinished } from './helpers.js';

const bin = (text: string) => Buffer.from(text, 'utf8');

/** Every attribute type, sets, binary (also not UTF-8), nesting, awkward names and numbers. */
function itemsOf(n: number): Record<string, AttributeValue>[] {
  const items: Record<string, AttributeValue>[] = [];
  for (let i = 0; i < n; i++) {
    items.push({
      pk: { S: `p${i % 7}` },
      sk: { N: String(i) },
      s: { S: `value ${i} — zażółć 日本語 "quoted" \\ back\nline\ttab` },
      empty: { S: '' },
      n: { N: i % 2 ? '-17.5' : '123456789012345678901234567890.12345678' },
      big: { N: '9.99999E+37' },
      small: { N: '1E-130' },
      zero: { N: '0' },
      b: { B: new Uint8Array([0, 1, 0xfe, 0xff, i & 0xff]) },
      emptyBinary: { B: new Uint8Array([]) },
      ss: { SS: ['a', 'b', `c${i}`] },
      ns: { NS: ['1', '-2', '3.5', String(i + 10)] },
      bs: { BS: [new Uint8Array([0]), new Uint8Array([1, i & 0xff])] },
      bool: { BOOL: i % 3 === 0 },
      nul: { NULL: true },
      list: { L: [{ S: 's' }, { N: '1' }, { BOOL: true }, { NULL: true }, { B: bin('b') }, { L: [] }, { M: {} }] },
      map: {
        M: { a: { N: '1' }, b: { M: { c: { S: 'd' }, deep: { M: { e: { L: [{ N: '6d2'.length.toString() }] } } } } } },
      },
      'a.b': { S: 'dotted name' },
      null: { S: 'a name that is an Ion keyword' },
      $x: { S: 'a name Ion cannot take bare' },
      ...(i % 5 === 0 ? { g: { S: `group${i % 3}` } } : {}),
    });
  }
  return items;
}

const SCHEMA = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'sk', AttributeType: 'N' as const },
    { AttributeName: 'g', AttributeType: 'S' as const },
  ],
  KeySchema: [
    { AttributeName: 'pk', KeyType: 'HASH' as const },
    { AttributeName: 'sk', KeyType: 'RANGE' as const },
  ],
  BillingMode: 'PAY_PER_REQUEST' as const,
  GlobalSecondaryIndexes: [
    {
      IndexName: 'byGroup',
      KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' as const }],
      Projection: { ProjectionType: 'ALL' as const },
    },
  ],
};

const md5 = (data: Buffer) => createHash('md5').update(data).digest();

describe('export to and import from a local S3 folder', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let exportDir: string;
  let sourceArn: string;

  before(async () => {
    const scratch = (await import('node:fs')).mkdtempSync(join((await import('node:os')).tmpdir(), 'sealdb-exp-'));
    exportDir = join(scratch, 's3');
    server = await startTestServer({ scratch, exportDir });
    ddb = keepAliveClient(server);
    bucket(exportDir, 'my-bucket');
    const created = await ddb.send(new CreateTableCommand({ TableName: 'Source', ...SCHEMA }));
    sourceArn = created.TableDescription?.TableArn as string;
    await enablePitr(ddb, 'Source');
    for (const item of itemsOf(60)) await ddb.send(new PutItemCommand({ TableName: 'Source', Item: item }));
  });

  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  for (const format of ['DYNAMODB_JSON', 'ION'] as const) {
    it(`exports ${format} in AWS's layout and re-imports it into a table equal to the source`, async () => {
      const started = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: sourceArn,
          S3Bucket: 'my-bucket',
          S3Prefix: `exports/${format}`,
          ExportFormat: format,
        }),
      );
      const first = started.ExportDescription;
      assert.equal(first?.ExportStatus, 'IN_PROGRESS');
      assert.match(
        first?.ExportArn ?? '',
        /^arn:aws:dynamodb:us-east-1:000000000000:table\/Source\/export\/\d{14}-[0-9a-f]{8}$/,
      );
      assert.ok(first?.ClientToken, 'a ClientToken is made when the request has none');
      assert.equal(first?.ExportType, undefined, 'DynamoDB leaves ExportType out when the request did');
      assert.equal(first?.ExportFormat, format);
      const done = await exportFinished(ddb, first?.ExportArn as string);
      assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);
      assert.equal(done.ItemCount, 60);
      assert.ok((done.BilledSizeBytes ?? 0) > 0);

      const exportId = (done.ExportArn as string).split('/').pop() as string;
      const folder = join(exportDir, 'my-bucket', 'exports', format, 'AWSDynamoDB', exportId);
      const files = filesIn(folder);
      const extension = format === 'ION' ? '.ion.gz' : '.json.gz';
      assert.deepEqual(
        files.filter((f) => !f.startsWith('data/')),
        ['_started', 'manifest-files.json', 'manifest-files.md5', 'manifest-summary.json', 'manifest-summary.md5'],
      );
      assert.ok(files.some((f) => f.startsWith('data/') && f.endsWith(extension)));
      assert.equal(readFileSync(join(folder, '_started')).length, 0);
      for (const name of ['manifest-files', 'manifest-summary']) {
        const body = readFileSync(join(folder, `${name}.json`));
        assert.equal(readFileSync(join(folder, `${name}.md5`), 'utf8'), md5(body).toString('base64'));
      }
      const summary = JSON.parse(readFileSync(join(folder, 'manifest-summary.json'), 'utf8'));
      assert.equal(summary.version, '2020-06-30');
      assert.equal(summary.exportArn, done.ExportArn);
      assert.equal(summary.tableArn, sourceArn);
      assert.equal(summary.s3Bucket, 'my-bucket');
      assert.equal(summary.s3Prefix, `exports/${format}`);
      assert.equal(summary.s3SseAlgorithm, 'AES256');
      assert.equal(summary.s3SseKmsKeyId, null);
      assert.equal(summary.itemCount, 60);
      assert.equal(summary.outputFormat, format);
      assert.equal(summary.manifestFilesS3Key, `exports/${format}/AWSDynamoDB/${exportId}/manifest-files.json`);
      assert.equal(done.ExportManifest, `exports/${format}/AWSDynamoDB/${exportId}/manifest-summary.json`);
      let counted = 0;
      for (const line of readFileSync(join(folder, 'manifest-files.json'), 'utf8').trim().split('\n')) {
        const entry = JSON.parse(line);
        const data = readFileSync(join(exportDir, 'my-bucket', ...entry.dataFileS3Key.split('/')));
        assert.equal(entry.md5Checksum, md5(data).toString('base64'));
        assert.equal(entry.etag, `${createHash('md5').update(md5(data)).digest('hex')}-1`);
        const lines = gunzipSync(data).toString('utf8').split('\n').filter(Boolean);
        assert.equal(lines.length, entry.itemCount);
        if (format === 'DYNAMODB_JSON') assert.ok(lines.every((l) => Object.keys(JSON.parse(l)).join() === 'Item'));
        else assert.ok(lines.every((l) => l.startsWith('$ion_1_0 {Item:{')));
        counted += entry.itemCount;
      }
      assert.equal(counted, 60);

      const target = `Copy${format === 'ION' ? 'Ion' : 'Json'}`;
      const imported = await ddb.send(
        new ImportTableCommand({
          S3BucketSource: { S3Bucket: 'my-bucket', S3KeyPrefix: `exports/${format}/AWSDynamoDB/${exportId}/data/` },
          InputFormat: format,
          InputCompressionType: 'GZIP',
          TableCreationParameters: { TableName: target, ...SCHEMA },
        }),
      );
      const running = imported.ImportTableDescription;
      assert.equal(running?.ImportStatus, 'IN_PROGRESS');
      assert.equal(running?.ProcessedItemCount, 0);
      assert.equal(running?.EndTime, undefined);
      assert.match(
        running?.CloudWatchLogGroupArn ?? '',
        /^arn:aws:logs:us-east-1:000000000000:log-group:\/aws-dynamodb\/imports/,
      );
      const table = await ddb.send(new DescribeTableCommand({ TableName: target }));
      assert.equal(table.Table?.TableId, running?.TableId);
      const finished = await importFinished(ddb, running?.ImportArn as string);
      assert.equal(finished.ImportStatus, 'COMPLETED', finished.FailureMessage);
      assert.equal(finished.ImportedItemCount, 60);
      assert.equal(finished.ProcessedItemCount, 60);
      assert.equal(finished.ErrorCount, 0);
      assert.ok((finished.ProcessedSizeBytes ?? 0) > 0);
      assert.equal((await ddb.send(new DescribeTableCommand({ TableName: target }))).Table?.TableStatus, 'ACTIVE');
      assert.deepEqual(await allItems(ddb, target), await allItems(ddb, 'Source'));
      // The GSI of TableCreationParameters is built from the imported items.
      const described = await ddb.send(new DescribeTableCommand({ TableName: target }));
      assert.equal(described.Table?.GlobalSecondaryIndexes?.[0]?.ItemCount, 12);
    });
  }

  it('lists exports newest first and imports with their summaries', async () => {
    const exports = await ddb.send(new ListExportsCommand({ TableArn: sourceArn }));
    assert.ok((exports.ExportSummaries?.length ?? 0) >= 2);
    for (const s of exports.ExportSummaries ?? []) assert.equal(s.ExportType, 'FULL_EXPORT');
    const arns = (exports.ExportSummaries ?? []).map((s) => s.ExportArn as string);
    assert.deepEqual([...arns].sort().reverse(), arns);
    const paged = await ddb.send(new ListExportsCommand({ MaxResults: 1 }));
    assert.equal(paged.ExportSummaries?.length, 1);
    assert.ok(paged.NextToken);
    const next = await ddb.send(new ListExportsCommand({ MaxResults: 1, NextToken: paged.NextToken }));
    assert.notEqual(next.ExportSummaries?.[0]?.ExportArn, paged.ExportSummaries?.[0]?.ExportArn);
    const imports = await ddb.send(new ListImportsCommand({ PageSize: 1 }));
    assert.equal(imports.ImportSummaryList?.length, 1);
    assert.match(imports.NextToken ?? '', /^([0-9a-f]{16}){7,}$/);
    const summary = imports.ImportSummaryList?.[0] ?? {};
    assert.deepEqual(Object.keys(summary).sort(), [
      'CloudWatchLogGroupArn',
      'EndTime',
      'ImportArn',
      'ImportStatus',
      'InputFormat',
      'S3BucketSource',
      'StartTime',
      'TableArn',
    ]);
  });
});
