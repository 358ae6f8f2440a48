import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateTableCommand,
  ExportTableToPointInTimeCommand,
  ImportTableCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { keepAliveClient } from '../../helpers/clients.js';
import { createKey } from '../../helpers/kms.js';
import { startTestServer } from '../../helpers/server.js';
import { allItems, bucket, enablePitr, exportFinished, filesIn, importFinished } from './helpers.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const CANARY = 'canary-5be1c0de-plaintext';
const SCHEMA = {
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

describe('exports sealed under a KMS key (S3SseAlgorithm KMS)', () => {
  it('seals every file, audits the KMS calls, opens with `sealdb export open` and re-imports', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-sealed-'));
    const exportDir = join(scratch, 's3');
    const server = await startTestServer({ scratch, exportDir });
    const ddb = keepAliveClient(server);
    const kms = new KMSClient(server.clientConfig());
    const trail = new CloudTrailClient(server.clientConfig());
    try {
      bucket(exportDir, 'sealed-bucket');
      const key = await createKey(kms);
      const created = await ddb.send(new CreateTableCommand({ TableName: 'Secret', ...SCHEMA }));
      await enablePitr(ddb, 'Secret');
      for (let i = 0; i < 20; i++) {
        await ddb.send(
          new PutItemCommand({
            TableName: 'Secret',
            Item: { id: { S: `${CANARY}-${i}` }, [`${CANARY}-attr`]: { S: CANARY } },
          }),
        );
      }
      const started = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: created.TableDescription?.TableArn,
          S3Bucket: 'sealed-bucket',
          S3SseAlgorithm: 'KMS',
          S3SseKmsKeyId: key.id,
        }),
      );
      assert.equal(started.ExportDescription?.S3SseAlgorithm, 'KMS');
      assert.equal(started.ExportDescription?.S3SseKmsKeyId, key.id);
      const done = await exportFinished(ddb, started.ExportDescription?.ExportArn as string);
      assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);

      // Every file is an envelope; nothing of the table reads in the clear.
      const root = join(exportDir, 'sealed-bucket');
      const files = filesIn(root);
      assert.ok(files.length >= 6);
      for (const file of files) {
        const data = readFileSync(join(root, file));
        assert.equal(data.subarray(0, 8).toString('ascii'), 'SDBXSEAL', file);
        assert.ok(!data.includes(Buffer.from('canary-5be1c0de')), `${file} holds plaintext`);
      }
      const exportId = (done.ExportArn as string).split('/').pop() as string;
      const folder = `AWSDynamoDB/${exportId}`;

      // One GenerateDataKey per file, made via S3 for the caller, with the object's ARN as context.
      const generated = await trail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'GenerateDataKey' }],
        }),
      );
      const viaS3 = (generated.Events ?? [])
        .map((e) => JSON.parse(e.CloudTrailEvent as string))
        .filter((e) => e.requestParameters?.encryptionContext?.['aws:s3:arn']);
      assert.equal(viaS3.length, files.length);
      assert.ok(
        viaS3.every((e) =>
          e.requestParameters.encryptionContext['aws:s3:arn'].startsWith('arn:aws:s3:::sealed-bucket/AWSDynamoDB/'),
        ),
      );

      // The CLI opens the summary and a data file through the server's KMS.
      const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local-secret' };
      const out = join(scratch, 'summary.json');
      await run(
        process.execPath,
        [
          CLI,
          'export',
          'open',
          join(root, folder, 'manifest-summary.json'),
          '--out',
          out,
          '--endpoint-url',
          server.endpoint,
        ],
        { env },
      );
      const summary = JSON.parse(readFileSync(out, 'utf8'));
      assert.equal(summary.exportArn, done.ExportArn);
      assert.equal(summary.s3SseAlgorithm, 'KMS');
      assert.equal(summary.s3SseKmsKeyId, key.arn);
      assert.equal(summary.itemCount, 20);
      const manifest = join(scratch, 'files.json');
      await run(
        process.execPath,
        [
          CLI,
          'export',
          'open',
          join(root, folder, 'manifest-files.json'),
          '--out',
          manifest,
          '--endpoint-url',
          server.endpoint,
        ],
        { env },
      );
      const entry = JSON.parse(readFileSync(manifest, 'utf8').split('\n')[0] as string);
      const { stdout } = await run(
        process.execPath,
        [CLI, 'export', 'open', join(root, ...entry.dataFileS3Key.split('/')), '--endpoint-url', server.endpoint],
        { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
      );
      const lines = gunzipSync(stdout as unknown as Buffer)
        .toString('utf8')
        .trim()
        .split('\n');
      assert.equal(lines.length, entry.itemCount);
      assert.ok(lines[0]?.includes(CANARY));

      // ImportTable opens sealed files itself (one KMS Decrypt as the caller per file).
      const imported = await ddb.send(
        new ImportTableCommand({
          S3BucketSource: { S3Bucket: 'sealed-bucket', S3KeyPrefix: `${folder}/data/` },
          InputFormat: 'DYNAMODB_JSON',
          InputCompressionType: 'GZIP',
          TableCreationParameters: { TableName: 'SecretCopy', ...SCHEMA },
        }),
      );
      const finished = await importFinished(ddb, imported.ImportTableDescription?.ImportArn as string);
      assert.equal(finished.ImportStatus, 'COMPLETED', finished.FailureMessage);
      assert.deepEqual(await allItems(ddb, 'SecretCopy'), await allItems(ddb, 'Secret'));

      // With the key disabled, the files stay shut and a new sealed export fails as S3 would.
      await kms.send(new DisableKeyCommand({ KeyId: key.id }));
      await assert.rejects(
        run(
          process.execPath,
          [CLI, 'export', 'open', join(root, folder, 'manifest-summary.json'), '--endpoint-url', server.endpoint],
          { env },
        ),
        /DisabledException/,
      );
      const refused = await ddb.send(
        new ExportTableToPointInTimeCommand({
          TableArn: created.TableDescription?.TableArn,
          S3Bucket: 'sealed-bucket',
          S3Prefix: 'after-disable',
          S3SseAlgorithm: 'KMS',
          S3SseKmsKeyId: key.id,
        }),
      );
      const failed = await exportFinished(ddb, refused.ExportDescription?.ExportArn as string);
      assert.equal(failed.ExportStatus, 'FAILED');
      assert.equal(failed.FailureCode, 'KMS.DisabledException');
    } finally {
      ddb.destroy();
      kms.destroy();
      trail.destroy();
      await server.cleanup();
    }
  });
});
