import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { openEncryptedDatabase, WrongKeyError } from '../../src/storage/encrypted-db.js';
import { TableFile } from '../../src/storage/table-file.js';
import { filesContaining, filesUnder } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('encryption at rest', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  const binaryCanary = randomBytes(24);

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('writes no canary from keys or values to any file under the data directory', async () => {
    const tableName = `t-${canary}`;
    await ddb.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'B' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const items = Array.from({ length: 200 }, (_, i) => ({
      pk: { S: `${canary}-pk-${i}` },
      sk: { B: Buffer.concat([binaryCanary, Buffer.of(i)]) },
      [`attr-${canary}`]: { S: `${canary} value ${i}` },
      nested: { M: { deep: { L: [{ S: `${canary}-nested` }, { SS: [`${canary}-set`] }] } } },
      blob: { B: binaryCanary },
    }));
    for (const Item of items) await ddb.send(new PutItemCommand({ TableName: tableName, Item }));

    for (const [i, item] of items.entries()) {
      const got = await ddb.send(new GetItemCommand({ TableName: tableName, Key: { pk: item.pk, sk: item.sk } }));
      assert.equal(got.Item?.[`attr-${canary}`]?.S, `${canary} value ${i}`);
      assert.deepEqual(Buffer.from(got.Item?.blob?.B ?? []), binaryCanary);
    }

    // Read while the server still runs (WAL not yet checkpointed), then again after it stops.
    const files = filesUnder(server.dataDir);
    assert.ok(
      files.some((f) => f.endsWith('-wal')),
      'the WAL file is part of what is scanned',
    );
    assert.ok(files.some((f) => f.endsWith('.db')));
    assert.deepEqual(filesContaining(server.dataDir, canary), []);
    assert.deepEqual(filesContaining(server.dataDir, binaryCanary), []);
    await server.close();
    assert.deepEqual(filesContaining(server.dataDir, canary), []);
    assert.deepEqual(filesContaining(server.dataDir, binaryCanary), []);
  });

  it('refuses to open a table file with the wrong key and never returns its data', () => {
    const tables = join(server.dataDir, 'tables');
    const file = readdirSync(tables).find((f) => f.endsWith('.db')) as string;
    assert.ok(file, 'a table file exists');
    const path = join(tables, file);
    const before = readFileSync(path);
    assert.throws(() => TableFile.open(path, randomBytes(32)), WrongKeyError);
    assert.throws(() => openEncryptedDatabase({ file: path, key: randomBytes(32), readonly: true }), WrongKeyError);
    assert.deepEqual(readFileSync(path), before, 'a failed open changes nothing');
  });
});
