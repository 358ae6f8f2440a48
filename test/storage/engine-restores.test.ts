/**
 * Restores across nodes over the engine: a node restoring a backup holds the lease of that
 * backup's restore (no other node restores it meanwhile, as AWS allows one restore of a backup at
 * a time) and the lease of the table it fills. Once that node stops renewing them (it died),
 * another node's sweep drops the half-filled CREATING table, and the first node's fill, fenced by
 * the lost lease, commits nothing more.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateBackupCommand,
  CreateTableCommand,
  DescribeBackupCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  RestoreTableFromBackupCommand,
} from '@aws-sdk/client-dynamodb';
import type pg from 'pg';
import { rejectsWith } from '../helpers/assert-aws.js';
import { keepAliveClient } from '../helpers/clients.js';
import { engineOf, rowsLeft, startCluster, stopCluster } from '../helpers/engine.js';
import type { TestServer } from '../helpers/server.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ITEMS = 4000;

describe('engine restores across nodes', () => {
  let nodes: TestServer[];
  let clients: DynamoDBClient[];
  let engine: pg.Client;
  let schema: string;
  const a = () => clients[0] as DynamoDBClient;
  const b = () => clients[1] as DynamoDBClient;

  before(async () => {
    nodes = await startCluster(2);
    clients = nodes.map((node) => keepAliveClient(node));
    ({ client: engine, schema } = await engineOf(nodes[0] as TestServer));
  });
  after(async () => {
    for (const client of clients) client.destroy();
    await engine.end();
    await stopCluster(nodes);
  });

  it("one node's restore of a backup keeps others from restoring it; its table goes once the node is gone", async () => {
    await a().send(
      new CreateTableCommand({
        TableName: 'Source',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const payload = 'p'.repeat(2048);
    for (let i = 0; i < ITEMS; i += 25) {
      const batch = Array.from({ length: 25 }, (_, j) => ({
        PutRequest: { Item: { id: { S: `item-${i + j}` }, payload: { S: payload } } },
      }));
      await a().send(new BatchWriteItemCommand({ RequestItems: { Source: batch } }));
    }
    const created = await a().send(new CreateBackupCommand({ TableName: 'Source', BackupName: 'restore-me' }));
    const BackupArn = created.BackupDetails?.BackupArn as string;
    for (let i = 0; i < 600; i++) {
      const d = await b().send(new DescribeBackupCommand({ BackupArn }));
      if (d.BackupDescription?.BackupDetails?.BackupStatus === 'AVAILABLE') break;
      await pause(100);
    }

    const restored = await a().send(new RestoreTableFromBackupCommand({ BackupArn, TargetTableName: 'Restored' }));
    const tableId = restored.TableDescription?.TableId as string;
    // Node A fills the table: node B neither restores the same backup nor takes the table over.
    await rejectsWith(
      b().send(new RestoreTableFromBackupCommand({ BackupArn, TargetTableName: 'Other' })),
      'BackupInUseException',
      `Backup is being used to restore another table: ${BackupArn}`,
    );
    await nodes[1]?.sweep();
    assert.equal((await b().send(new DescribeTableCommand({ TableName: 'Restored' }))).Table?.TableStatus, 'CREATING');

    // As if node A had died: its leases of the restore lapse (it would stop renewing them).
    const expired = await engine.query(
      `UPDATE "${schema}".leases SET expires_at = 0 WHERE name LIKE 'restore/%/Restored' OR name = $1`,
      [`backup-restore/${BackupArn}`],
    );
    assert.equal(expired.rowCount, 2, "node A holds the restore's two leases");
    await nodes[1]?.sweep();
    await rejectsWith(b().send(new DescribeTableCommand({ TableName: 'Restored' })), 'ResourceNotFoundException');

    // Node A's slices were fenced by the lease it lost: none commits after the drop.
    assert.equal(await rowsLeft({ client: engine, schema }, tableId), 0, 'no row of the half-filled table is left');
    await pause(500);
    await rejectsWith(a().send(new DescribeTableCommand({ TableName: 'Restored' })), 'ResourceNotFoundException');
  });
});
