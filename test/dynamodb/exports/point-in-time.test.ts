import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeContinuousBackupsCommand,
  ExportTableToPointInTimeCommand,
  ImportTableCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { keepAliveClient } from '../../helpers/clients.js';
import { startTestServer } from '../../helpers/server.js';
import { allItems, bucket, enablePitr, exportFinished, importFinished, ID_TABLE as SCHEMA } from './helpers.js';

describe('ExportTableToPointInTime at an ExportTime', () => {
  it('exports the table as it was at ExportTime, inside the PITR window only', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-pitr-exp-'));
    const exportDir = join(scratch, 's3');
    const server = await startTestServer({ scratch, exportDir });
    const ddb = keepAliveClient(server);
    try {
      bucket(exportDir, 'history');
      const created = await ddb.send(new CreateTableCommand({ TableName: 'Moving', ...SCHEMA }));
      const tableArn = created.TableDescription?.TableArn as string;
      await enablePitr(ddb, 'Moving');
      server.clock.advance(1000);
      for (const id of ['a', 'b', 'c']) {
        await ddb.send(new PutItemCommand({ TableName: 'Moving', Item: { id: { S: id }, v: { N: '1' } } }));
      }
      server.clock.advance(5000);
      const then = server.clock.now();
      const before = await allItems(ddb, 'Moving');
      server.clock.advance(5000);
      await ddb.send(new DeleteItemCommand({ TableName: 'Moving', Key: { id: { S: 'a' } } }));
      await ddb.send(new PutItemCommand({ TableName: 'Moving', Item: { id: { S: 'b' }, v: { N: '2' } } }));
      await ddb.send(new PutItemCommand({ TableName: 'Moving', Item: { id: { S: 'd' }, v: { N: '1' } } }));
      // Past LatestRestorableDateTime (5 minutes behind now): `then` is restorable.
      server.clock.advance(6 * 60_000);
      assert.notDeepEqual(await allItems(ddb, 'Moving'), before);

      const started = await ddb.send(
        new ExportTableToPointInTimeCommand({ TableArn: tableArn, S3Bucket: 'history', ExportTime: new Date(then) }),
      );
      assert.equal(started.ExportDescription?.ExportTime?.getTime(), then);
      const done = await exportFinished(ddb, started.ExportDescription?.ExportArn as string);
      assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);
      assert.equal(done.ItemCount, 3);
      const exportId = (done.ExportArn as string).split('/').pop();
      const imported = await ddb.send(
        new ImportTableCommand({
          S3BucketSource: { S3Bucket: 'history', S3KeyPrefix: `AWSDynamoDB/${exportId}/data/` },
          InputFormat: 'DYNAMODB_JSON',
          InputCompressionType: 'GZIP',
          TableCreationParameters: { TableName: 'AsItWas', ...SCHEMA },
        }),
      );
      const finished = await importFinished(ddb, imported.ImportTableDescription?.ImportArn as string);
      assert.equal(finished.ImportStatus, 'COMPLETED', finished.FailureMessage);
      assert.deepEqual(await allItems(ddb, 'AsItWas'), before);

      const refusedAt = (at: number, message: string) =>
        rejectsWith(
          ddb.send(
            new ExportTableToPointInTimeCommand({ TableArn: tableArn, S3Bucket: 'history', ExportTime: new Date(at) }),
          ),
          'InvalidExportTimeException',
          message,
        );
      // Before PITR was enabled, or in the future: outside the window, in the live service's words
      // (ack-api-quirks, DDB-EXPORT-001), a few seconds ahead (its now+5s) included.
      for (const at of [then - 60_000, server.clock.now() + 60_000, server.clock.now() + 5000]) {
        await refusedAt(at, 'Export Time is invalid');
      }
      // In the past but after LatestRestorableDateTime: not restorable yet, in other words.
      for (const ago of [1000, 4 * 60_000]) {
        await refusedAt(server.clock.now() - ago, 'Point in Time Recovery is not available for specified export time');
      }
      // LatestRestorableDateTime itself is restorable, so it exports.
      const { ContinuousBackupsDescription } = await ddb.send(
        new DescribeContinuousBackupsCommand({ TableName: 'Moving' }),
      );
      const latest = ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.LatestRestorableDateTime as Date;
      const atLatest = await ddb.send(
        new ExportTableToPointInTimeCommand({ TableArn: tableArn, S3Bucket: 'history', ExportTime: latest }),
      );
      const latestDone = await exportFinished(ddb, atLatest.ExportDescription?.ExportArn as string);
      assert.equal(latestDone.ExportStatus, 'COMPLETED', latestDone.FailureMessage);
      // Omitted, ExportTime is now: the default is not held to the restorable window.
      const atNow = await ddb.send(new ExportTableToPointInTimeCommand({ TableArn: tableArn, S3Bucket: 'history' }));
      const nowDone = await exportFinished(ddb, atNow.ExportDescription?.ExportArn as string);
      assert.equal(nowDone.ExportStatus, 'COMPLETED', nowDone.FailureMessage);
      assert.equal(nowDone.ItemCount, 3);
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });
});
