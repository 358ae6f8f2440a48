import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { placesHolding } from '../helpers/at-rest.js';
import { withCatalog } from '../helpers/catalog.js';
import { startTestServer } from '../helpers/server.js';

const KEY_TYPES = ['owned', 'managed', 'customer'] as const;

describe('encryption at rest under each key type', () => {
  it('leaves no canary of keys, values or attribute names at rest (data directory, or the engine)', async () => {
    const server = await startTestServer();
    const canary = `canary${randomBytes(10).toString('hex')}`;
    const ddb = new DynamoDBClient(server.clientConfig());
    const kms = new KMSClient(server.clientConfig());
    try {
      const customer = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const specs = {
        owned: undefined,
        managed: { Enabled: true },
        customer: { Enabled: true, SSEType: 'KMS' as const, KMSMasterKeyId: customer },
      };
      for (const type of KEY_TYPES) {
        await ddb.send(
          new CreateTableCommand({
            TableName: `${type}-${canary}`,
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'sk', AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: 'pk', KeyType: 'HASH' },
              { AttributeName: 'sk', KeyType: 'RANGE' },
            ],
            BillingMode: 'PAY_PER_REQUEST',
            ...(specs[type] ? { SSESpecification: specs[type] } : {}),
          }),
        );
        for (let i = 0; i < 50; i++) {
          await ddb.send(
            new PutItemCommand({
              TableName: `${type}-${canary}`,
              Item: {
                pk: { S: `${canary}-${i}` },
                sk: { S: `${canary}-sort` },
                [`${canary}-attr`]: { S: `${canary}-value` },
              },
            }),
          );
        }
        const got = await ddb.send(
          new GetItemCommand({
            TableName: `${type}-${canary}`,
            Key: { pk: { S: `${canary}-7` }, sk: { S: `${canary}-sort` } },
          }),
        );
        assert.equal(got.Item?.[`${canary}-attr`]?.S, `${canary}-value`);
      }
      assert.deepEqual(await placesHolding(server, [canary]), []);
      await server.close();
      assert.deepEqual(await placesHolding(server, [canary]), []);
    } finally {
      ddb.destroy();
      kms.destroy();
      await server.cleanup();
    }
  });

  it("cannot read a table with another table's wrapped keys", async () => {
    const first = await startTestServer();
    const ddb = new DynamoDBClient(first.clientConfig());
    const kms = new KMSClient(first.clientConfig());
    const customer = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    for (const name of ['victim', 'thief']) {
      await ddb.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: customer },
        }),
      );
      await ddb.send(new PutItemCommand({ TableName: name, Item: { id: { S: 'secret' }, owner: { S: name } } }));
    }
    ddb.destroy();
    kms.destroy();
    await first.close();

    // Tamper with the catalog as someone holding the root key could: give one table the
    // other's encrypted table key, then (starting again from the original) its wrapped data key.
    const [victim, thief] = await withCatalog(first, (c) => {
      const scope = { accountId: '000000000000', region: 'us-east-1' };
      return [c.get(scope, 'victim'), c.get(scope, 'thief')];
    });
    assert.ok(victim && thief);
    const tampered = {
      TableKey: { ...thief, definition: { ...thief.definition, TableKey: victim.definition.TableKey } },
      wrappedKey: { ...thief, wrappedKey: victim.wrappedKey },
    };
    try {
      for (const field of ['TableKey', 'wrappedKey'] as const) {
        await withCatalog(first, (c) => c.put(tampered[field]));
        const server = await startTestServer({ dataDir: first.dataDir, rootKeyFile: first.rootKeyFile });
        const client = new DynamoDBClient(server.clientConfig());
        try {
          const attempt = client.send(new GetItemCommand({ TableName: 'thief', Key: { id: { S: 'secret' } } }));
          if (field === 'TableKey') {
            // The table key is bound to its table by the KMS encryption context.
            await rejectsWith(attempt, 'AccessDeniedException', /InvalidCiphertextException/);
          } else {
            // The data key is bound to its table by the wrap's authenticated data.
            await rejectsWith(
              attempt,
              'InternalServerError',
              'The data key of table thief does not authenticate under its table key',
            );
          }
          const victimItem = await client.send(
            new GetItemCommand({ TableName: 'victim', Key: { id: { S: 'secret' } } }),
          );
          assert.equal(victimItem.Item?.owner?.S, 'victim');
        } finally {
          client.destroy();
          await server.close();
        }
      }
      // Put back, the thief table reads its own data again.
      await withCatalog(first, (c) => c.put(thief));
      const server = await startTestServer({ dataDir: first.dataDir, rootKeyFile: first.rootKeyFile });
      const client = new DynamoDBClient(server.clientConfig());
      assert.equal(
        (await client.send(new GetItemCommand({ TableName: 'thief', Key: { id: { S: 'secret' } } }))).Item?.owner?.S,
        'thief',
      );
      client.destroy();
      await server.close();
    } finally {
      await first.cleanup();
    }
  });
});
