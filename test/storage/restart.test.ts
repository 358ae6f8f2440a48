import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { RootKeyMismatchError } from '../../src/encryption/root-of-trust.js';
import { filesUnder } from '../helpers/files.js';
import { startTestServer } from '../helpers/server.js';

describe('restarts', () => {
  it('reads every table and item back after a restart on the same data directory', async () => {
    const first = await startTestServer();
    let ddb = new DynamoDBClient(first.clientConfig());
    for (const table of ['alpha', 'beta']) {
      await ddb.send(
        new CreateTableCommand({
          TableName: table,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      for (let i = 0; i < 50; i++) {
        await ddb.send(
          new PutItemCommand({ TableName: table, Item: { id: { N: String(i) }, v: { S: `${table}-${i}` } } }),
        );
      }
    }
    ddb.destroy();
    await first.close();

    const second = await startTestServer({ dataDir: first.dataDir, rootKeyFile: first.rootKeyFile });
    ddb = new DynamoDBClient(second.clientConfig());
    try {
      const list = await ddb.send(new ListTablesCommand({}));
      assert.deepEqual(list.TableNames, ['alpha', 'beta']);
      for (const table of ['alpha', 'beta']) {
        const described = await ddb.send(new DescribeTableCommand({ TableName: table }));
        assert.equal(described.Table?.ItemCount, 50);
        for (let i = 0; i < 50; i++) {
          const got = await ddb.send(new GetItemCommand({ TableName: table, Key: { id: { N: String(i) } } }));
          assert.equal(got.Item?.v?.S, `${table}-${i}`);
        }
      }
    } finally {
      ddb.destroy();
      await second.cleanup();
      await first.cleanup();
    }
  });

  it('refuses to start with the wrong root key and leaves the data untouched', async () => {
    const first = await startTestServer();
    const ddb = new DynamoDBClient(first.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'kept',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    ddb.destroy();
    await first.close();
    const snapshot = new Map(filesUnder(first.dataDir).map((f) => [f, readFileSync(f)]));

    const wrongKey = `${first.rootKeyFile}.wrong`;
    writeFileSync(wrongKey, randomBytes(32), { mode: 0o600 });
    await assert.rejects(startTestServer({ dataDir: first.dataDir, rootKeyFile: wrongKey }), (error: Error) => {
      assert.ok(error instanceof RootKeyMismatchError);
      assert.match(error.message, /root key does not match/);
      return true;
    });
    const after = filesUnder(first.dataDir);
    assert.deepEqual(after.sort(), [...snapshot.keys()].sort());
    for (const file of after) assert.deepEqual(readFileSync(file), snapshot.get(file), `${file} unchanged`);

    const again = await startTestServer({ dataDir: first.dataDir, rootKeyFile: first.rootKeyFile });
    const client = new DynamoDBClient(again.clientConfig());
    assert.deepEqual((await client.send(new ListTablesCommand({}))).TableNames, ['kept']);
    client.destroy();
    await again.cleanup();
    await first.cleanup();
  });
});
