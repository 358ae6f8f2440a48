/**
 * Damage to a committed frame of a write-ahead log, after a kill -9 of a real `sealdb start`,
 * must never come back as a silently shortened history. SQLite's recovery ends at the first
 * frame whose checksum fails and drops everything after it: a table's items, the catalog's
 * tables, the key store's keys and aliases. A torn tail, which a crash does leave, must stay
 * recoverable.
 */
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

const ITEMS = 300;
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

describe('WAL integrity after a kill -9', () => {
  let scratch: string;
  let rootKey: string;
  /** The data directory as the killed process left it; each case works on its own copy. */
  let crashed: string;
  let ordersFile: string;
  let keyId: string;
  const running: SealdbProcess[] = [];

  const ddb = (endpoint: string) => new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const kms = (endpoint: string) => new KMSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

  async function start(dataDir: string): Promise<SealdbProcess> {
    const server = await startSealdbProcess(['--data-dir', dataDir, '--root-key-file', rootKey]);
    running.push(server);
    return server;
  }

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'sealdb-walint-'));
    rootKey = join(scratch, 'root.key');
    crashed = join(scratch, 'crashed');
    // No checkpoint folds the table logs into their files: every acknowledged write is still
    // only in the log when the process dies, as it is right after a write.
    const server = await startSealdbProcess(['--data-dir', crashed, '--root-key-file', rootKey], {
      SEALDB_TEST_PAUSE_CHECKPOINTS: '1',
    });
    running.push(server);
    const client = ddb(server.endpoint);
    for (const TableName of ['Orders', 'Other']) {
      await client.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }
    for (let n = 0; n < ITEMS; n += 25) {
      const puts = Array.from({ length: 25 }, (_, i) => ({
        PutRequest: { Item: { id: { S: `o${n + i}` }, body: { S: 'x'.repeat(200) } } },
      }));
      await client.send(new BatchWriteItemCommand({ RequestItems: { Orders: puts } }));
    }
    await client.send(
      new BatchWriteItemCommand({ RequestItems: { Other: [{ PutRequest: { Item: { id: { S: 'kept' } } } }] } }),
    );
    const id = (await client.send(new DescribeTableCommand({ TableName: 'Orders' }))).Table?.TableId as string;
    ordersFile = join('tables', `${id}.db`);
    const keys = kms(server.endpoint);
    keyId = (await keys.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await keys.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: keyId }));
    keys.destroy();
    client.destroy();
    await server.stop('SIGKILL');
  });

  after(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A copy of the crashed data directory, with `change` applied to one of its logs. */
  function copyWith(name: string, wal: string, change?: (bytes: Buffer) => Buffer): string {
    const dir = join(scratch, name);
    cpSync(crashed, dir, { recursive: true });
    if (change) writeFileSync(join(dir, wal), change(readFileSync(join(dir, wal))));
    return dir;
  }

  /** One changed bit in the page of the log's first frame: a committed frame with commits after it. */
  const flipFirstFrame = (bytes: Buffer) => {
    const at = 32 + 24 + 1000;
    assert.ok(bytes.length > 32 + 2 * (24 + bytes.readUInt32BE(8)), 'the log holds several frames');
    bytes[at] = (bytes[at] as number) ^ 0x10;
    return bytes;
  };

  async function scanCount(client: DynamoDBClient, TableName: string): Promise<number> {
    let count = 0;
    let ExclusiveStartKey: Record<string, never> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName, ExclusiveStartKey }));
      count += page.Count ?? 0;
      ExclusiveStartKey = page.LastEvaluatedKey as typeof ExclusiveStartKey;
    } while (ExclusiveStartKey);
    return count;
  }

  it('recovers every acknowledged write from the untouched logs', async () => {
    const server = await start(copyWith('untouched', ordersFile));
    const client = ddb(server.endpoint);
    assert.equal(await scanCount(client, 'Orders'), ITEMS);
    client.destroy();
    await server.stop();
  });

  it('a damaged table log: that table refuses, naming itself and the file; the others keep serving', async () => {
    const dir = copyWith('table', `${ordersFile}-wal`, flipFirstFrame);
    const server = await start(dir);
    const client = ddb(server.endpoint);
    const named = new RegExp(
      `^Table Orders cannot be served: .*${ordersFile} is damaged: .*${ordersFile}-wal .*backup`,
    );
    await rejectsWith(client.send(new ScanCommand({ TableName: 'Orders' })), 'InternalServerError', named);
    await rejectsWith(
      client.send(new GetItemCommand({ TableName: 'Orders', Key: { id: { S: 'o1' } } })),
      'InternalServerError',
      named,
    );
    await rejectsWith(client.send(new DescribeTableCommand({ TableName: 'Orders' })), 'InternalServerError', named);
    assert.equal(await scanCount(client, 'Other'), 1);
    // The operator is told once, naming the file, however many requests meet it.
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.includes(`${ordersFile} is damaged`));
    assert.equal(lines.length, 1, server.output());
    client.destroy();
    await server.stop();
    // Nothing was dropped: the log is still there for a restore or a closer look.
    assert.ok(readdirSync(join(dir, 'tables')).includes(`${ordersFile.slice('tables/'.length)}-wal`));
  });

  it('a damaged catalog log: the server refuses to start, naming the file and how to restore', async () => {
    const dir = copyWith('catalog', 'catalog.db-wal', flipFirstFrame);
    await assert.rejects(start(dir), (error: Error) => {
      assert.match(error.message, /exited with 1/);
      assert.match(error.message, /catalog\.db is damaged: frame 1 of its write-ahead log .*catalog\.db-wal/);
      assert.match(error.message, /Restore .*catalog\.db.* from a backup of the data directory/);
      return true;
    });
    assert.ok(readdirSync(dir).includes('catalog.db-wal'), 'the log is left in place');
  });

  it('a damaged key store log: the server refuses to start, naming the file and how to restore', async () => {
    const dir = copyWith('keystore', join('kms', 'keystore.db-wal'), flipFirstFrame);
    await assert.rejects(start(dir), (error: Error) => {
      assert.match(error.message, /exited with 1/);
      assert.match(error.message, /keystore\.db is damaged: frame 1 of its write-ahead log .*keystore\.db-wal/);
      assert.match(error.message, /Restore .*keystore\.db.* from a backup of the data directory/);
      return true;
    });
  });

  it('a torn tail in each log stays recoverable, with every acknowledged write', async () => {
    const dir = copyWith('torn', ordersFile);
    for (const wal of [`${ordersFile}-wal`, 'catalog.db-wal', join('kms', 'keystore.db-wal')]) {
      const path = join(dir, wal);
      const bytes = readFileSync(path);
      // What a write cut short leaves: a frame header of this log's generation, half a page after it.
      const header = Buffer.from(bytes.subarray(32, 32 + 24));
      header.writeUInt32BE(0, 4);
      appendFileSync(path, Buffer.concat([header, Buffer.alloc(bytes.readUInt32BE(8) / 2, 0x5a)]));
    }
    const server = await start(dir);
    const client = ddb(server.endpoint);
    assert.equal(await scanCount(client, 'Orders'), ITEMS);
    assert.deepEqual((await client.send(new ListTablesCommand({}))).TableNames, ['Orders', 'Other']);
    const keys = kms(server.endpoint);
    const described = await keys.send(new DescribeKeyCommand({ KeyId: 'alias/orders' }));
    assert.equal(described.KeyMetadata?.KeyId, keyId);
    keys.destroy();
    client.destroy();
    await server.stop();
  });
});
