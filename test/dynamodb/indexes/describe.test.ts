import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  type TableDescription,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { type SealdbProcess, startSealdbProcess } from '../../helpers/process.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { statusTotalSchema } from './fixtures.js';

/**
 * The LocalSecondaryIndexes and GlobalSecondaryIndexes of every TableDescription, member by member
 * (sources cited in src/dynamodb/indexes/description.ts), and their counts: base-table counts stay
 * the table's own, and index counts survive a clean restart and a crash.
 */

const orders = (
  name: string,
  billing: 'PAY_PER_REQUEST' | 'PROVISIONED' = 'PAY_PER_REQUEST',
): CreateTableCommandInput => ({
  TableName: name,
  ...statusTotalSchema({
    local: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['zeta', 'alpha'] },
    global: { ProjectionType: 'KEYS_ONLY' },
    globalByTotal: true,
    ...(billing === 'PROVISIONED' ? { provisioned: { table: [1, 1], index: [5, 7] } } : {}),
  }),
});

const item = (sk: string, extra: Record<string, AttributeValue> = {}): Record<string, AttributeValue> => ({
  pk: { S: 'p' },
  sk: { S: sk },
  alpha: { S: 'projected into byTotal' },
  other: { S: 'not projected anywhere' },
  ...extra,
});
/** Three items: two in byStatus, two in byTotal (the third lacks `total` and `status`). */
const items = [
  item('1', { status: { S: 'open' }, total: { N: '5' } }),
  item('2', { status: { S: 'done' }, total: { N: '7' } }),
  item('3'),
];

async function counts(ddb: DynamoDBClient, name: string) {
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
  const index = (list: { IndexName?: string; ItemCount?: number; IndexSizeBytes?: number }[] | undefined) =>
    list?.map((i) => [i.IndexName, i.ItemCount, i.IndexSizeBytes]);
  return {
    table: [Table?.ItemCount, Table?.TableSizeBytes],
    local: index(Table?.LocalSecondaryIndexes),
    global: index(Table?.GlobalSecondaryIndexes),
  };
}

describe('secondary indexes in table descriptions', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('CreateTable answers CREATING for the table and its GSIs, without warm throughput yet', async () => {
    const { TableDescription: table } = await ddb.send(new CreateTableCommand(orders('Orders')));
    assert.ok(table);
    assert.equal(table.TableStatus, 'CREATING');
    assert.deepEqual(table.LocalSecondaryIndexes, [
      {
        IndexName: 'byTotal',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'total', KeyType: 'RANGE' },
        ],
        // Sorted by name, as DynamoDB returns them.
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['alpha', 'zeta'] },
        IndexSizeBytes: 0,
        ItemCount: 0,
        IndexArn: `${table.TableArn}/index/byTotal`,
      },
    ]);
    assert.deepEqual(table.GlobalSecondaryIndexes, [
      {
        IndexName: 'byStatus',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'total', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'KEYS_ONLY' },
        IndexStatus: 'CREATING',
        ProvisionedThroughput: { NumberOfDecreasesToday: 0, ReadCapacityUnits: 0, WriteCapacityUnits: 0 },
        IndexSizeBytes: 0,
        ItemCount: 0,
        IndexArn: `${table.TableArn}/index/byStatus`,
      },
    ]);
  });

  it('DescribeTable shows them ACTIVE, with on-demand warm throughput and no LSI throughput', async () => {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Orders' }));
    assert.equal(Table?.TableStatus, 'ACTIVE');
    const [gsi] = Table?.GlobalSecondaryIndexes ?? [];
    assert.equal(gsi?.IndexStatus, 'ACTIVE');
    assert.equal(gsi?.Backfilling, undefined);
    assert.deepEqual(gsi?.WarmThroughput, { ReadUnitsPerSecond: 12000, WriteUnitsPerSecond: 4000, Status: 'ACTIVE' });
    assert.deepEqual(gsi?.ProvisionedThroughput, {
      NumberOfDecreasesToday: 0,
      ReadCapacityUnits: 0,
      WriteCapacityUnits: 0,
    });
    assert.equal(gsi?.OnDemandThroughput, undefined);
    const [lsi] = Table?.LocalSecondaryIndexes ?? [];
    assert.deepEqual(Object.keys(lsi ?? {}).sort(), [
      'IndexArn',
      'IndexName',
      'IndexSizeBytes',
      'ItemCount',
      'KeySchema',
      'Projection',
    ]);
  });

  it('a provisioned GSI shows its capacity, and warm throughput mirrors it unless set', async () => {
    const input = orders('Provisioned', 'PROVISIONED');
    const second = {
      IndexName: 'warm',
      KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' as const }],
      Projection: { ProjectionType: 'ALL' as const },
      ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 3 },
      WarmThroughput: { ReadUnitsPerSecond: 20 },
    };
    await ddb.send(
      new CreateTableCommand({ ...input, GlobalSecondaryIndexes: [...(input.GlobalSecondaryIndexes ?? []), second] }),
    );
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Provisioned' }));
    const [byStatus, warm] = Table?.GlobalSecondaryIndexes ?? [];
    assert.deepEqual(byStatus?.ProvisionedThroughput, {
      NumberOfDecreasesToday: 0,
      ReadCapacityUnits: 5,
      WriteCapacityUnits: 7,
    });
    assert.deepEqual(byStatus?.WarmThroughput, { ReadUnitsPerSecond: 5, WriteUnitsPerSecond: 7, Status: 'ACTIVE' });
    assert.deepEqual(warm?.WarmThroughput, { ReadUnitsPerSecond: 20, WriteUnitsPerSecond: 3, Status: 'ACTIVE' });
  });

  it('an on-demand GSI shows its OnDemandThroughput as set and its warm throughput as requested', async () => {
    const input = orders('Capped');
    const [gsi] = input.GlobalSecondaryIndexes ?? [];
    await ddb.send(
      new CreateTableCommand({
        ...input,
        GlobalSecondaryIndexes: [
          {
            ...gsi,
            OnDemandThroughput: { MaxWriteRequestUnits: 40 },
            WarmThroughput: { ReadUnitsPerSecond: 13000, WriteUnitsPerSecond: 5000 },
          } as NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number],
        ],
      }),
    );
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Capped' }));
    assert.deepEqual(Table?.GlobalSecondaryIndexes?.[0]?.OnDemandThroughput, { MaxWriteRequestUnits: 40 });
    assert.deepEqual(Table?.GlobalSecondaryIndexes?.[0]?.WarmThroughput, {
      ReadUnitsPerSecond: 13000,
      WriteUnitsPerSecond: 5000,
      Status: 'ACTIVE',
    });
  });

  it('counts items per index; the table counts and size stay the base table’s own', async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Plain',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (const Item of items) {
      await ddb.send(new PutItemCommand({ TableName: 'Orders', Item }));
      await ddb.send(new PutItemCommand({ TableName: 'Plain', Item }));
    }
    const indexed = await counts(ddb, 'Orders');
    const plain = await counts(ddb, 'Plain');
    assert.deepEqual(indexed.table, plain.table);
    assert.equal(indexed.table[0], 3);
    assert.deepEqual(
      indexed.local?.map(([name, count]) => [name, count]),
      [['byTotal', 2]],
    );
    assert.deepEqual(
      indexed.global?.map(([name, count]) => [name, count]),
      [['byStatus', 2]],
    );
    // KEYS_ONLY entries are smaller than INCLUDE ones holding `alpha` too.
    const gsiBytes = indexed.global?.[0]?.[2] as number;
    const lsiBytes = indexed.local?.[0]?.[2] as number;
    assert.ok(gsiBytes > 0 && lsiBytes > gsiBytes, `${gsiBytes} ${lsiBytes}`);
  });

  it('UpdateTable and DeleteTable answer with the same index blocks and counts', async () => {
    const { Table: described } = await ddb.send(new DescribeTableCommand({ TableName: 'Orders' }));
    const { TableDescription: updated } = await ddb.send(
      new UpdateTableCommand({ TableName: 'Orders', DeletionProtectionEnabled: false }),
    );
    const strip = (t: TableDescription | undefined) => ({
      local: t?.LocalSecondaryIndexes,
      global: t?.GlobalSecondaryIndexes?.map(({ IndexStatus: _s, WarmThroughput: _w, ...rest }) => rest),
    });
    assert.deepEqual(strip(updated), strip(described));
    const { TableDescription: deleted } = await ddb.send(new DeleteTableCommand({ TableName: 'Orders' }));
    assert.deepEqual(strip(deleted), strip(described));
    assert.equal(deleted?.ItemCount, 3);
  });
});

describe('index counts across restarts', () => {
  it('survive a clean restart while the table file stays closed', async () => {
    const first = await startTestServer();
    const ddb = new DynamoDBClient(first.clientConfig());
    try {
      await ddb.send(new CreateTableCommand(orders('Kept')));
      for (const Item of items) await ddb.send(new PutItemCommand({ TableName: 'Kept', Item }));
      const before = await counts(ddb, 'Kept');
      await first.close();
      const second = await startTestServer({
        scratch: first.scratch,
        dataDir: first.dataDir,
        rootKeyFile: first.rootKeyFile,
      });
      const again = new DynamoDBClient(second.clientConfig());
      try {
        // No data-plane request: the counts are those kept when the file was closed.
        assert.deepEqual(await counts(again, 'Kept'), before);
        assert.equal(before.global?.[0]?.[1], 2);
      } finally {
        again.destroy();
        await second.cleanup();
      }
    } finally {
      ddb.destroy();
    }
  });

  it('are right after a crash', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-index-crash-'));
    const args = ['--data-dir', join(scratch, 'data'), '--root-key-file', join(scratch, 'root.key')];
    const running: SealdbProcess[] = [];
    const client = (endpoint: string) =>
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
        maxAttempts: 1,
      });
    try {
      const first = await startSealdbProcess(args);
      running.push(first);
      const ddb = client(first.endpoint);
      await ddb.send(new CreateTableCommand(orders('Crashed')));
      for (const Item of items) await ddb.send(new PutItemCommand({ TableName: 'Crashed', Item }));
      const before = await counts(ddb, 'Crashed');
      ddb.destroy();
      await first.stop('SIGKILL');
      const second = await startSealdbProcess(args);
      running.push(second);
      const again = client(second.endpoint);
      try {
        assert.deepEqual(await counts(again, 'Crashed'), before);
        assert.deepEqual(before.global?.[0]?.slice(0, 2), ['byStatus', 2]);
      } finally {
        again.destroy();
      }
    } finally {
      for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop('SIGTERM');
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
