/** `--durability fsync` through the real server: group-committed WAL flushes, nothing lost on restart. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startTestServer, type TestServer } from '../helpers/server.js';

async function walSyncs(endpoint: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('sealdb_wal_syncs_total '));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('durability fsync', () => {
  let server: TestServer;
  let client: DynamoDBClient;
  before(async () => {
    server = await startTestServer({ durability: 'fsync' });
    client = new DynamoDBClient(server.clientConfig());
    await client.send(
      new CreateTableCommand({
        TableName: 'ledger',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  after(async () => {
    client.destroy();
    await server.cleanup();
  });

  it('flushes the log for acknowledged writes, at most once per write', async () => {
    const before = await walSyncs(server.endpoint);
    const writes = 64;
    await Promise.all(
      Array.from({ length: writes }, (_, n) =>
        client.send(new PutItemCommand({ TableName: 'ledger', Item: { id: { S: `k${n}` }, n: { N: String(n) } } })),
      ),
    );
    const flushes = (await walSyncs(server.endpoint)) - before;
    // One flush per group commit; how many writes share a group depends on arrival timing
    // (the exact grouping is tested on the table file itself).
    assert.ok(flushes >= 1 && flushes <= writes, `${flushes} flushes for ${writes} writes`);
  });

  it('does not flush in process durability', async () => {
    const plain = await startTestServer({ inMemory: false });
    const plainClient = new DynamoDBClient(plain.clientConfig());
    try {
      await plainClient.send(
        new CreateTableCommand({
          TableName: 'scratch',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await plainClient.send(new PutItemCommand({ TableName: 'scratch', Item: { id: { S: 'a' } } }));
      assert.equal(await walSyncs(plain.endpoint), 0);
    } finally {
      plainClient.destroy();
      await plain.cleanup();
    }
  });

  it('keeps every acknowledged write across a restart', async () => {
    await server.close();
    server = await startTestServer({
      durability: 'fsync',
      scratch: server.scratch,
      dataDir: server.dataDir,
      rootKeyFile: server.rootKeyFile,
    });
    client.destroy();
    client = new DynamoDBClient(server.clientConfig());
    for (const n of [0, 31, 63]) {
      const { Item } = await client.send(new GetItemCommand({ TableName: 'ledger', Key: { id: { S: `k${n}` } } }));
      assert.equal(Item?.n?.N, String(n));
    }
  });
});
