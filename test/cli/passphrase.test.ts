import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { filesUnder } from '../helpers/files.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

const client = (endpoint: string) =>
  new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });

describe('a root passphrase instead of a key file', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-passphrase-'));
  const dataDir = join(scratch, 'data');
  const running: SealdbProcess[] = [];
  after(async () => {
    for (const server of running) if (server.child.exitCode === null) await server.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('stretches the passphrase with scrypt, and refuses a wrong one without touching the data', async () => {
    const first = await startSealdbProcess(['--data-dir', dataDir], {
      SEALDB_ROOT_PASSPHRASE: 'correct horse battery',
    });
    running.push(first);
    assert.match(first.output(), /root key: passphrase from SEALDB_ROOT_PASSPHRASE \(scrypt\)/);
    assert.doesNotMatch(first.output(), /correct horse/);
    const ddb = client(first.endpoint);
    await ddb.send(
      new CreateTableCommand({
        TableName: 'kept',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await ddb.send(new PutItemCommand({ TableName: 'kept', Item: { id: { S: 'a' }, v: { S: 'secret value' } } }));
    ddb.destroy();
    assert.equal(await first.stop(), 0);
    const snapshot = new Map(filesUnder(dataDir).map((f) => [f, readFileSync(f)]));

    await assert.rejects(
      startSealdbProcess(['--data-dir', dataDir], { SEALDB_ROOT_PASSPHRASE: 'wrong horse battery' }),
      /root key does not match/,
    );
    for (const [file, bytes] of snapshot) assert.deepEqual(readFileSync(file), bytes, `${file} unchanged`);

    const again = await startSealdbProcess(['--data-dir', dataDir], {
      SEALDB_ROOT_PASSPHRASE: 'correct horse battery',
    });
    running.push(again);
    const reader = client(again.endpoint);
    const got = await reader.send(new GetItemCommand({ TableName: 'kept', Key: { id: { S: 'a' } } }));
    assert.equal(got.Item?.v?.S, 'secret value');
    reader.destroy();
    assert.equal(await again.stop(), 0);
  });
});
