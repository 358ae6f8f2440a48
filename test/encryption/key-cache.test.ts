import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateTableCommand, type DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { keepAliveClient, newConnectionClient } from '../helpers/clients.js';
import { kmsCallCount } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MINUTE = 60_000;

async function customerKeyTable(server: TestServer, name: string): Promise<void> {
  const kms = new KMSClient(server.clientConfig());
  const key = await kms.send(new CreateKeyCommand({}));
  kms.destroy();
  const ddb = keepAliveClient(server);
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key.KeyMetadata?.KeyId as string },
    }),
  );
  await ddb.send(new PutItemCommand({ TableName: name, Item: { id: { S: 'a' } } }));
  ddb.destroy();
}

/** Sends one GetItem per client every minute for `minutes` minutes of the server's clock. */
async function traffic(
  server: TestServer,
  clients: DynamoDBClient[],
  tables: string[],
  minutes: number,
): Promise<void> {
  for (let minute = 0; minute < minutes; minute++) {
    for (const client of clients) {
      for (const table of tables) await client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'a' } } }));
    }
    server.clock.advance(MINUTE);
  }
}

describe('table-key caching', () => {
  it('makes one Decrypt per keep-alive connection per 5 active minutes, none per request', async () => {
    const server = await startTestServer();
    try {
      await customerKeyTable(server, 'cached');
      const clients = [keepAliveClient(server), keepAliveClient(server), keepAliveClient(server)];
      const before = await kmsCallCount(server.endpoint, 'Decrypt');
      await traffic(server, clients, ['cached'], 12);
      // 36 requests over 12 minutes on 3 connections: 3 × ⌈12/5⌉ Decrypts.
      assert.equal((await kmsCallCount(server.endpoint, 'Decrypt')) - before, 9);
      for (const c of clients) c.destroy();
    } finally {
      await server.cleanup();
    }
  });

  it('makes one Decrypt per new connection', async () => {
    const server = await startTestServer();
    try {
      await customerKeyTable(server, 'fresh');
      const client = newConnectionClient(server);
      const before = await kmsCallCount(server.endpoint, 'Decrypt');
      for (let i = 0; i < 50; i++)
        await client.send(new GetItemCommand({ TableName: 'fresh', Key: { id: { S: 'a' } } }));
      assert.equal((await kmsCallCount(server.endpoint, 'Decrypt')) - before, 50);
      client.destroy();
    } finally {
      await server.cleanup();
    }
  });

  it('with --key-cache-scope table, makes one Decrypt per table per 5 minutes whatever the connections', async () => {
    const server = await startTestServer({ keyCacheScope: 'table' });
    try {
      await customerKeyTable(server, 'shared-1');
      await customerKeyTable(server, 'shared-2');
      const clients = [
        keepAliveClient(server),
        keepAliveClient(server),
        keepAliveClient(server),
        newConnectionClient(server),
      ];
      // Let the keys cached while the tables were filled go stale first.
      server.clock.advance(5 * MINUTE);
      const before = await kmsCallCount(server.endpoint, 'Decrypt');
      await traffic(server, clients, ['shared-1', 'shared-2'], 12);
      // 2 tables × ⌈12/5⌉, at most one Decrypt at a time per table.
      assert.equal((await kmsCallCount(server.endpoint, 'Decrypt')) - before, 6);
      server.clock.advance(5 * MINUTE);
      const parallel = await Promise.all(
        Array.from({ length: 20 }, () => newConnectionClient(server)).map(async (c) => {
          const out = await c.send(new GetItemCommand({ TableName: 'shared-1', Key: { id: { S: 'a' } } }));
          c.destroy();
          return out;
        }),
      );
      assert.equal(parallel.length, 20);
      assert.equal(
        (await kmsCallCount(server.endpoint, 'Decrypt')) - before,
        7,
        'single flight: one Decrypt for 20 concurrent requests',
      );
      for (const c of clients) c.destroy();
    } finally {
      await server.cleanup();
    }
  });

  it('reports cache hits and misses and tables by key type', async () => {
    const server = await startTestServer();
    try {
      await customerKeyTable(server, 'counted');
      const client = keepAliveClient(server);
      for (let i = 0; i < 5; i++)
        await client.send(new GetItemCommand({ TableName: 'counted', Key: { id: { S: 'a' } } }));
      client.destroy();
      const text = await (await fetch(`${server.endpoint}/metrics`)).text();
      const value = (prefix: string) =>
        Number(
          text
            .split('\n')
            .find((l) => l.startsWith(prefix))
            ?.split(' ')
            .pop(),
        );
      assert.ok(value('sealdb_table_key_cache_total{result="hit"}') >= 4);
      assert.ok(value('sealdb_table_key_cache_total{result="miss"}') >= 1);
      assert.equal(value('sealdb_tables{sse_type="CUSTOMER",status="ACTIVE"}'), 1);
      assert.ok(value('sealdb_kms_calls_total{operation="GenerateDataKey",outcome="success"}') >= 1);
    } finally {
      await server.cleanup();
    }
  });
});
