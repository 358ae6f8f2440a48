/**
 * Backups over the engine are the engine's rows, shared by every node: a backup made on one node
 * is listed, described, restored and deleted on another, and its rows hold only ciphertext.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateBackupCommand,
  CreateTableCommand,
  DeleteBackupCommand,
  DescribeBackupCommand,
  DynamoDBClient,
  GetItemCommand,
  ListBackupsCommand,
  PutItemCommand,
  RestoreTableFromBackupCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { backupsWithData, placesHolding } from '../helpers/at-rest.js';
import { startCluster } from '../helpers/engine.js';
import { dropTestSchema, type TestServer } from '../helpers/server.js';

const CANARY = 'canary-engine-backup-5d1e';

describe('engine backups across nodes', () => {
  let nodes: TestServer[];
  let clients: DynamoDBClient[];

  before(async () => {
    nodes = await startCluster(2);
    clients = nodes.map((node) => new DynamoDBClient(node.clientConfig()));
    await clients[0]?.send(
      new CreateTableCommand({
        TableName: 'Shared',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let i = 0; i < 40; i++) {
      await clients[i % 2]?.send(
        new PutItemCommand({ TableName: 'Shared', Item: { id: { S: `k${i}` }, v: { S: `${CANARY}-${i}` } } }),
      );
    }
  });
  after(async () => {
    for (const client of clients) client.destroy();
    const storage = nodes[0]?.storage;
    for (const node of nodes) await node.cleanup();
    if (storage) await dropTestSchema(storage);
  });

  const a = () => clients[0] as DynamoDBClient;
  const b = () => clients[1] as DynamoDBClient;

  it('a backup made on one node is listed, restored and deleted on the other', async () => {
    const { BackupDetails } = await a().send(new CreateBackupCommand({ TableName: 'Shared', BackupName: 'shared-1' }));
    const arn = BackupDetails?.BackupArn as string;
    // Written after the backup answered: not in it.
    await b().send(new PutItemCommand({ TableName: 'Shared', Item: { id: { S: 'late' }, v: { S: 'x' } } }));
    for (let i = 0; i < 500; i++) {
      const { BackupDescription } = await b().send(new DescribeBackupCommand({ BackupArn: arn }));
      if (BackupDescription?.BackupDetails?.BackupStatus === 'AVAILABLE') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const listed = await b().send(new ListBackupsCommand({ TableName: 'Shared' }));
    assert.deepEqual(
      listed.BackupSummaries?.map((s) => [s.BackupArn, s.BackupStatus]),
      [[arn, 'AVAILABLE']],
    );
    assert.equal((await backupsWithData(nodes[0] as TestServer)).length, 1, 'the backup has rows of its own');

    await b().send(new RestoreTableFromBackupCommand({ TargetTableName: 'Copy', BackupArn: arn }));
    let count = 0;
    for (let i = 0; i < 500; i++) {
      const scan = await a()
        .send(new ScanCommand({ TableName: 'Copy' }))
        .catch(() => undefined);
      count = scan?.Count ?? 0;
      if (count === 40) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(count, 40);
    const item = await a().send(
      new GetItemCommand({ TableName: 'Copy', Key: { id: { S: 'k7' } }, ConsistentRead: true }),
    );
    assert.equal(item.Item?.v?.S, `${CANARY}-7`);
    const late = await a().send(new GetItemCommand({ TableName: 'Copy', Key: { id: { S: 'late' } } }));
    assert.equal(late.Item, undefined);

    // The engine holds the items' and the backup's rows as ciphertext only.
    assert.deepEqual(await placesHolding(nodes[0] as TestServer, [CANARY, 'shared-1']), []);

    await a().send(new DeleteBackupCommand({ BackupArn: arn }));
    await rejectsWith(b().send(new DescribeBackupCommand({ BackupArn: arn })), 'BackupNotFoundException');
    assert.deepEqual(await backupsWithData(nodes[0] as TestServer), []);
  });
});
