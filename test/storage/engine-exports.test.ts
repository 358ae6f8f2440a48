/**
 * Exports and imports over the engine: their records are the engine's rows, so a job started on
 * one node is described and listed on another (both nodes write and read the same export folder,
 * as a shared mount). A job runs under a lease of its own: once its node stops renewing it,
 * another node's sweep fails the job and drops the half-filled table of an import, and the first
 * node's slices, fenced by the lost lease, commit nothing more.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeImportCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ExportTableToPointInTimeCommand,
  ImportTableCommand,
  ListExportsCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type pg from 'pg';
import {
  allItems,
  bucket,
  enablePitr,
  exportFinished,
  importFinished,
  ID_TABLE as SCHEMA,
} from '../dynamodb/exports/helpers.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { keepAliveClient } from '../helpers/clients.js';
import { engineOf, rowsLeft, startCluster, stopCluster } from '../helpers/engine.js';
import type { TestServer } from '../helpers/server.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('engine exports and imports across nodes', () => {
  const exportDir = join(mkdtempSync(join(tmpdir(), 'sealdb-engine-s3-')), 's3');
  let nodes: TestServer[];
  let clients: DynamoDBClient[];
  let engine: pg.Client;
  let schema: string;

  before(async () => {
    nodes = await startCluster(2, { exportDir });
    clients = nodes.map((node) => keepAliveClient(node));
    ({ client: engine, schema } = await engineOf(nodes[0] as TestServer));
    bucket(exportDir, 'shared-bucket');
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await engine.end();
    await stopCluster(nodes);
  });

  const a = () => clients[0] as DynamoDBClient;
  const b = () => clients[1] as DynamoDBClient;

  it('an export started on one node is described and listed on the other, and imported there', async () => {
    const created = await a().send(new CreateTableCommand({ TableName: 'Source', ...SCHEMA }));
    await enablePitr(a(), 'Source');
    for (let i = 0; i < 30; i++) {
      await clients[i % 2]?.send(new PutItemCommand({ TableName: 'Source', Item: { id: { S: `k${i}` } } }));
    }
    const started = await a().send(
      new ExportTableToPointInTimeCommand({ TableArn: created.TableDescription?.TableArn, S3Bucket: 'shared-bucket' }),
    );
    const arn = started.ExportDescription?.ExportArn as string;
    // Written after the export answered: not in it (its snapshot was pinned before).
    await b().send(new PutItemCommand({ TableName: 'Source', Item: { id: { S: 'late' } } }));
    const done = await exportFinished(b(), arn);
    assert.equal(done.ExportStatus, 'COMPLETED', done.FailureMessage);
    assert.equal(done.ItemCount, 30);
    const listed = await b().send(new ListExportsCommand({ TableArn: created.TableDescription?.TableArn }));
    assert.deepEqual(
      listed.ExportSummaries?.map((s) => [s.ExportArn, s.ExportStatus]),
      [[arn, 'COMPLETED']],
    );

    const exportId = arn.split('/').pop() as string;
    const imported = await b().send(
      new ImportTableCommand({
        S3BucketSource: { S3Bucket: 'shared-bucket', S3KeyPrefix: `AWSDynamoDB/${exportId}/data/` },
        InputFormat: 'DYNAMODB_JSON',
        InputCompressionType: 'GZIP',
        TableCreationParameters: { TableName: 'Copy', ...SCHEMA },
      }),
    );
    const finished = await importFinished(a(), imported.ImportTableDescription?.ImportArn as string);
    assert.equal(finished.ImportStatus, 'COMPLETED', finished.FailureMessage);
    assert.equal(finished.ImportedItemCount, 30);
    const source = (await allItems(a(), 'Source')).filter((item) => !item.includes('"late"'));
    assert.deepEqual(await allItems(a(), 'Copy'), source);
  });

  it('a job whose node stopped renewing its lease is failed by another node, its table dropped', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 60_000; i++) lines.push(`{"Item":{"id":{"S":"item-${i}"},"v":{"N":"${i}"}}}`);
    writeFileSync(join(bucket(exportDir, 'big-bucket'), 'items.json'), `${lines.join('\n')}\n`);
    const started = await a().send(
      new ImportTableCommand({
        S3BucketSource: { S3Bucket: 'big-bucket' },
        InputFormat: 'DYNAMODB_JSON',
        TableCreationParameters: { TableName: 'Big', ...SCHEMA },
      }),
    );
    const arn = started.ImportTableDescription?.ImportArn as string;
    const tableId = started.ImportTableDescription?.TableId as string;
    // The job runs on node A: the other node sees the table CREATING, and takes nothing over.
    const described = await b().send(new DescribeTableCommand({ TableName: 'Big' }));
    assert.equal(described.Table?.TableStatus, 'CREATING');
    await nodes[1]?.sweep();
    const running = await b().send(new DescribeImportCommand({ ImportArn: arn }));
    assert.equal(running.ImportTableDescription?.ImportStatus, 'IN_PROGRESS');

    // As if node A had died: its lease of the job lapses (it would stop renewing it).
    const expired = await engine.query(`UPDATE "${schema}".leases SET expires_at = 0 WHERE name = $1`, [
      `transfer/${arn}`,
    ]);
    assert.equal(expired.rowCount, 1, 'node A holds the lease of its job');
    await nodes[1]?.sweep();
    const failed = await importFinished(b(), arn);
    assert.equal(failed.ImportStatus, 'FAILED');
    assert.equal(failed.FailureMessage, 'sealdb stopped during the job');
    await rejectsWith(a().send(new DescribeTableCommand({ TableName: 'Big' })), 'ResourceNotFoundException');

    // Node A's slices were fenced by the lease it lost: none commits after the drop, and its own
    // record of the job's end was refused.
    assert.equal(await rowsLeft({ client: engine, schema }, tableId), 0, 'no row of the half-filled table is left');
    await pause(500);
    assert.equal((await importFinished(a(), arn)).ImportStatus, 'FAILED');
  });
});
