import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  CreateTableCommand,
  DescribeExportCommand,
  DescribeImportCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ExportTableToPointInTimeCommand,
  GetItemCommand,
  ImportTableCommand,
  type ImportTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { keepAliveClient } from '../../helpers/clients.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { allItems, bucket, enablePitr, exportFinished, importFinished, zstdRawFrame } from './helpers.js';

// The example item of the DynamoDB developer guide ("DynamoDB table export output format"),
// in both of the formats it shows, on one line each as AWS writes them.
const AWS_JSON_ITEM =
  '{"Item":{"Authors":{"SS":["Author1","Author2"]},"Dimensions":{"S":"8.5 x 11.0 x 1.5"},"ISBN":{"S":"333-3333333333"},' +
  '"Id":{"N":"103"},"InPublication":{"BOOL":false},"PageCount":{"N":"600"},"Price":{"N":"2000"},' +
  '"ProductCategory":{"S":"Book"},"Title":{"S":"Book 103 Title"}}}';
const AWS_ION_ITEM =
  '$ion_1_0 {Item:{Authors:$dynamodb_SS::["Author1","Author2"],Dimensions:"8.5 x 11.0 x 1.5",ISBN:"333-3333333333",' +
  'Id:103.,InPublication:false,PageCount:6d2,Price:2d3,ProductCategory:"Book",Title:"Book 103 Title"}}';
const EXPECTED = {
  Authors: { SS: ['Author1', 'Author2'] },
  Dimensions: { S: '8.5 x 11.0 x 1.5' },
  ISBN: { S: '333-3333333333' },
  Id: { N: '103' },
  InPublication: { BOOL: false },
  PageCount: { N: '600' },
  Price: { N: '2000' },
  ProductCategory: { S: 'Book' },
  Title: { S: 'Book 103 Title' },
};

const BY_ID = {
  AttributeDefinitions: [{ AttributeName: 'Id', AttributeType: 'N' as const }],
  KeySchema: [{ AttributeName: 'Id', KeyType: 'HASH' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

describe('ImportTable of hand-made files in AWS layouts, and its errors', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let exportDir: string;
  let root: string;

  const put = (key: string, data: string | Buffer) => {
    const file = join(root, ...key.split('/'));
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, data);
  };
  const importInto = async (
    table: string,
    input: Omit<ImportTableCommandInput, 'TableCreationParameters'>,
    schema = BY_ID,
  ) => {
    const { ImportTableDescription } = await ddb.send(
      new ImportTableCommand({ ...input, TableCreationParameters: { TableName: table, ...schema } }),
    );
    return importFinished(ddb, ImportTableDescription?.ImportArn as string);
  };

  before(async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-imp-'));
    exportDir = join(scratch, 's3');
    server = await startTestServer({ scratch, exportDir });
    ddb = keepAliveClient(server);
    root = bucket(exportDir, 'hand-made');
  });

  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it("imports AWS's own DynamoDB JSON and Ion example items, gzipped, zstd-compressed and plain", async () => {
    put(
      'json-gz/AWSDynamoDB/01234567890123-a1b2c3d4/data/bafybeiczss3yxay3o4abnabbb.json.gz',
      gzipSync(`${AWS_JSON_ITEM}\n`),
    );
    put('ion-gz/data/gkes5o3lnrhoznhnkyax3hxvya.ion.gz', gzipSync(`${AWS_ION_ITEM}\n`));
    put('json-zstd/data/one.json.zst', zstdRawFrame(Buffer.from(`${AWS_JSON_ITEM}\n\n   \n`)));
    put('ion-plain/data/one.ion', `${AWS_ION_ITEM}\n`);
    const cases = [
      ['JsonGzip', 'json-gz/', 'DYNAMODB_JSON', 'GZIP'],
      ['IonGzip', 'ion-gz/', 'ION', 'GZIP'],
      ['JsonZstd', 'json-zstd/', 'DYNAMODB_JSON', 'ZSTD'],
      ['IonPlain', 'ion-plain/', 'ION', undefined],
    ] as const;
    for (const [table, prefix, format, compression] of cases) {
      const done = await importInto(table, {
        S3BucketSource: { S3Bucket: 'hand-made', S3KeyPrefix: prefix },
        InputFormat: format,
        ...(compression ? { InputCompressionType: compression } : {}),
      });
      assert.equal(done.ImportStatus, 'COMPLETED', `${table}: ${done.FailureMessage}`);
      assert.equal(done.InputCompressionType, compression ?? 'NONE');
      assert.equal(done.ImportedItemCount, 1);
      const got = await ddb.send(new GetItemCommand({ TableName: table, Key: { Id: { N: '103' } } }));
      assert.deepEqual(got.Item, EXPECTED, table);
    }
  });

  it('imports CSV with a header line, with HeaderList, and with another delimiter', async () => {
    put('csv/header.csv', 'Id,Title,Note\n1,"A, quoted ""title""",first\n2,Plain,\n');
    put('csv-list/a.csv', '3;Three;x\n4;Four;y\n');
    const withHeader = await importInto('CsvHeader', {
      S3BucketSource: { S3Bucket: 'hand-made', S3KeyPrefix: 'csv/' },
      InputFormat: 'CSV',
    });
    assert.equal(withHeader.ImportStatus, 'COMPLETED', withHeader.FailureMessage);
    assert.deepEqual(await allItems(ddb, 'CsvHeader'), [
      JSON.stringify({ Id: { N: '1' }, Note: { S: 'first' }, Title: { S: 'A, quoted "title"' } }),
      JSON.stringify({ Id: { N: '2' }, Title: { S: 'Plain' } }),
    ]);
    const withList = await importInto('CsvList', {
      S3BucketSource: { S3Bucket: 'hand-made', S3KeyPrefix: 'csv-list/' },
      InputFormat: 'CSV',
      InputFormatOptions: { Csv: { Delimiter: ';', HeaderList: ['Id', 'Name', 'Tag'] } },
    });
    assert.equal(withList.ImportStatus, 'COMPLETED', withList.FailureMessage);
    assert.equal(withList.ImportedItemCount, 2);
    assert.deepEqual(withList.InputFormatOptions, { Csv: { Delimiter: ';', HeaderList: ['Id', 'Name', 'Tag'] } });
    const got = await ddb.send(new GetItemCommand({ TableName: 'CsvList', Key: { Id: { N: '4' } } }));
    assert.deepEqual(got.Item, { Id: { N: '4' }, Name: { S: 'Four' }, Tag: { S: 'y' } });
  });

  it('fails an import with invalid items as ItemValidationError and keeps the valid ones', async () => {
    put('bad/00000-good.json', '{"Item":{"Id":{"N":"1"}}}\n{"Item":{"Id":{"N":"2"}}}\n\n');
    put('bad/00001-bad.json', '{"NotAnItem":{"Id":{"N":"5"}}}\n{"Item":{"Id":{"N":"6"}}}\n');
    put('bad/00002-bad.json', '{"Item":{"Id":{"S":"wrong type"}}}\n');
    put('bad/00003-bad.json', '{"Item": \n');
    put('bad/00004-empty.json', '');
    const done = await importInto('WithErrors', {
      S3BucketSource: { S3Bucket: 'hand-made', S3KeyPrefix: 'bad/' },
      InputFormat: 'DYNAMODB_JSON',
    });
    assert.equal(done.ImportStatus, 'FAILED');
    assert.equal(done.FailureCode, 'ItemValidationError');
    assert.equal(
      done.FailureMessage,
      'Some of the items failed validation checks and were not imported. Please check CloudWatch error logs for more details.',
    );
    // The first bad line of an object abandons the rest of it (item 6 is never read).
    assert.equal(done.ErrorCount, 3);
    assert.equal(done.ImportedItemCount, 2);
    assert.equal(done.ProcessedItemCount, 5);
    assert.deepEqual(await allItems(ddb, 'WithErrors'), [
      JSON.stringify({ Id: { N: '1' } }),
      JSON.stringify({ Id: { N: '2' } }),
    ]);
    assert.equal((await ddb.send(new DescribeTableCommand({ TableName: 'WithErrors' }))).Table?.TableStatus, 'ACTIVE');
  });

  it('completes an import of a prefix with no objects into an empty table', async () => {
    const done = await importInto('Nothing', {
      S3BucketSource: { S3Bucket: 'hand-made', S3KeyPrefix: 'no/such/prefix/' },
      InputFormat: 'DYNAMODB_JSON',
    });
    assert.equal(done.ImportStatus, 'COMPLETED');
    assert.equal(done.ProcessedSizeBytes, undefined);
    assert.deepEqual(await allItems(ddb, 'Nothing'), []);
  });

  it('fails on a bucket that does not exist, as AWS does, and leaves no table', async () => {
    const done = await importInto('NoBucket', { S3BucketSource: { S3Bucket: 'no-such-bucket' }, InputFormat: 'ION' });
    assert.equal(done.ImportStatus, 'FAILED');
    assert.equal(done.FailureCode, 'S3NoSuchBucket');
    assert.match(done.FailureMessage ?? '', /bucket does not exist/);
    await rejectsWith(ddb.send(new DescribeTableCommand({ TableName: 'NoBucket' })), 'ResourceNotFoundException');

    const created = await ddb.send(new CreateTableCommand({ TableName: 'ExportMe', ...BY_ID }));
    await enablePitr(ddb, 'ExportMe');
    const started = await ddb.send(
      new ExportTableToPointInTimeCommand({ TableArn: created.TableDescription?.TableArn, S3Bucket: 'no-such-bucket' }),
    );
    const exported = await exportFinished(ddb, started.ExportDescription?.ExportArn as string);
    assert.equal(exported.ExportStatus, 'FAILED');
    assert.equal(exported.FailureCode, 'S3NoSuchBucket');
    assert.match(exported.FailureMessage ?? '', /bucket does not exist/);
  });

  it('answers conflicts, unknown ARNs and bad requests as DynamoDB does, changing nothing', async () => {
    put('one/a.json', '{"Item":{"Id":{"N":"1"}}}\n');
    const source = { S3Bucket: 'hand-made', S3KeyPrefix: 'one/' };
    const first = await ddb.send(
      new ImportTableCommand({
        ClientToken: 'token-1',
        S3BucketSource: source,
        InputFormat: 'DYNAMODB_JSON',
        TableCreationParameters: { TableName: 'Tokened', ...BY_ID },
      }),
    );
    // While it runs: the same token and table is the same import; another table conflicts.
    const again = await ddb.send(
      new ImportTableCommand({
        ClientToken: 'token-1',
        S3BucketSource: source,
        InputFormat: 'CSV',
        TableCreationParameters: { TableName: 'Tokened', ...BY_ID },
      }),
    );
    assert.equal(again.ImportTableDescription?.ImportArn, first.ImportTableDescription?.ImportArn);
    await rejectsWith(
      ddb.send(
        new ImportTableCommand({
          ClientToken: 'token-1',
          S3BucketSource: source,
          InputFormat: 'DYNAMODB_JSON',
          TableCreationParameters: { TableName: 'Tokened2', ...BY_ID },
        }),
      ),
      'ImportConflictException',
      /Duplicate request detected/,
    );
    await importFinished(ddb, first.ImportTableDescription?.ImportArn as string);
    await rejectsWith(
      ddb.send(
        new ImportTableCommand({
          ClientToken: 'token-1',
          S3BucketSource: source,
          InputFormat: 'DYNAMODB_JSON',
          TableCreationParameters: { TableName: 'Tokened', ...BY_ID },
        }),
      ),
      'ResourceInUseException',
      'Table already exists: Tokened',
    );
    await rejectsWith(
      ddb.send(
        new ImportTableCommand({
          S3BucketSource: source,
          InputFormat: 'DYNAMODB_JSON',
          InputFormatOptions: { Csv: { Delimiter: ',' } },
          TableCreationParameters: { TableName: 'NeverMade', ...BY_ID },
        }),
      ),
      'ValidationException',
      /InputFormatOptions/,
    );
    await rejectsWith(
      ddb.send(
        new ImportTableCommand({
          S3BucketSource: { S3Bucket: 'hand-made', S3KeyPrefix: '../escape/' },
          InputFormat: 'DYNAMODB_JSON',
          TableCreationParameters: { TableName: 'NeverMade', ...BY_ID },
        }),
      ),
      'ValidationException',
    );
    await rejectsWith(ddb.send(new DescribeTableCommand({ TableName: 'NeverMade' })), 'ResourceNotFoundException');

    const table = 'arn:aws:dynamodb:us-east-1:000000000000:table/Tokened';
    await rejectsWith(
      ddb.send(new ExportTableToPointInTimeCommand({ TableArn: table, S3Bucket: 'hand-made' })),
      'PointInTimeRecoveryUnavailableException',
      "Point in time recovery is not enabled for table 'Tokened'",
    );
    await enablePitr(ddb, 'Tokened');
    await rejectsWith(
      ddb.send(new DescribeImportCommand({ ImportArn: `${table}/import/01658528578619-c4d4e311` })),
      'ImportNotFoundException',
    );
    await rejectsWith(
      ddb.send(new DescribeImportCommand({ ImportArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/x/import/1' })),
      'ValidationException',
      /Invalid Import ARN/,
    );
    await rejectsWith(
      ddb.send(new DescribeExportCommand({ ExportArn: `${table}/export/01658528578619-c4d4e311` })),
      'ExportNotFoundException',
    );
    await rejectsWith(
      ddb.send(
        new DescribeExportCommand({ ExportArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/nonexistent_table_xyz' }),
      ),
      'ValidationException',
      /Invalid Export ARN/,
    );

    const exportArgs = { TableArn: table, S3Bucket: 'hand-made', ClientToken: 'export-token' };
    const exported = await ddb.send(new ExportTableToPointInTimeCommand(exportArgs));
    assert.equal(exported.ExportDescription?.ClientToken, 'export-token');
    const same = await ddb.send(new ExportTableToPointInTimeCommand(exportArgs));
    assert.equal(same.ExportDescription?.ExportArn, exported.ExportDescription?.ExportArn);
    await rejectsWith(
      ddb.send(new ExportTableToPointInTimeCommand({ ...exportArgs, ExportFormat: 'ION' })),
      'ExportConflictException',
      /Duplicate request detected/,
    );
    await rejectsWith(
      ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/NoSuchTable',
          S3Bucket: 'hand-made',
        }),
      ),
      'TableNotFoundException',
      /not found/,
    );
    await rejectsWith(
      ddb.send(new ExportTableToPointInTimeCommand({ TableArn: 'QWERTY', S3Bucket: 'bb' })),
      'ValidationException',
      /TableArn/,
    );
    await rejectsWith(
      ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: table,
          S3Bucket: 'hand-made',
          ExportTime: new Date(Date.now() + 3_600_000),
        }),
      ),
      'InvalidExportTimeException',
    );
    await exportFinished(ddb, exported.ExportDescription?.ExportArn as string);
  });
});

describe('a sealdb without --export-dir', () => {
  it('refuses exports and imports with a message saying how to enable them', async () => {
    const server = await startTestServer();
    const ddb = keepAliveClient(server);
    try {
      await rejectsWith(
        ddb.send(
          new ImportTableCommand({
            S3BucketSource: { S3Bucket: 'bb' },
            InputFormat: 'CSV',
            TableCreationParameters: { TableName: 'T1x', ...BY_ID },
          }),
        ),
        'ValidationException',
        /--export-dir/,
      );
      await rejectsWith(ddb.send(new DescribeTableCommand({ TableName: 'T1x' })), 'ResourceNotFoundException');
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });
});
