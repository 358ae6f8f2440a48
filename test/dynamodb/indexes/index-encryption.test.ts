import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  type AttributeValue,
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type Projection,
  PutItemCommand,
  ScanCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { DisableKeyCommand, EnableKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { engineDump, placesHolding } from '../../helpers/at-rest.js';
import { keepAliveClient, newConnectionClient } from '../../helpers/clients.js';
import { filesUnder } from '../../helpers/files.js';
import { createKey } from '../../helpers/kms.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

type Item = Record<string, AttributeValue>;

/** The base64 text of the needle's bytes at each of the three alignments it can have in an encoded blob. */
function base64Forms(needle: string): Buffer[] {
  const bytes = Buffer.from(needle, 'utf8');
  return [0, 1, 2].map((offset) => {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    const first = Math.ceil(offset / 3) * 4;
    const last = Math.floor((offset + bytes.length) / 3) * 4;
    return Buffer.from(encoded.slice(first, last), 'latin1');
  });
}

/**
 * Places at rest holding the canary in plain text: UTF-8, UTF-16LE, or base64 at any alignment
 * (data-directory files; over the engine, its pg_dump, BYTEA as hex included).
 */
function plaintextCanary(server: TestServer, canary: string): Promise<string[]> {
  return placesHolding(server, [canary, ...base64Forms(canary)]);
}

/** A table with an LSI and a GSI whose keys and projected attributes hold the canary. */
async function createIndexedTable(ddb: DynamoDBClient, name: string, sse?: { keyId: string }): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'lk', AttributeType: 'S' },
        { AttributeName: 'gk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      LocalSecondaryIndexes: [
        {
          IndexName: 'local',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'lk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['secret'] },
        },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'global',
          KeySchema: [{ AttributeName: 'gk', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['secret'] },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      ...(sse ? { SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: sse.keyId } } : {}),
    }),
  );
}

const row = (canary: string, i: number): Item => ({
  pk: { S: `p${i % 3}` },
  sk: { S: `s${i}` },
  lk: { S: `${canary}-local-${i}` },
  gk: { S: `${canary}-global-${i % 4}` },
  // Only the indexes carry this attribute apart from the item itself: the projection under test.
  secret: { S: `${canary}-secret-${i}` },
  nk: { S: `${canary}-newkey-${i}` },
});

/** UpdateTable: a GSI `added` on the string attribute `nk`, backfilled in the background. */
async function addIndexOnNk(ddb: DynamoDBClient, table: string, projection: Projection): Promise<void> {
  await ddb.send(
    new UpdateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'nk', AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [
        {
          Create: { IndexName: 'added', KeySchema: [{ AttributeName: 'nk', KeyType: 'HASH' }], Projection: projection },
        },
      ],
    }),
  );
}

async function scanCount(ddb: DynamoDBClient, table: string, index: string): Promise<number> {
  let count = 0;
  let start: Item | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({ TableName: table, IndexName: index, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

const indexStatus = async (ddb: DynamoDBClient, table: string, index: string) =>
  (await ddb.send(new DescribeTableCommand({ TableName: table }))).Table?.GlobalSecondaryIndexes?.find(
    (g) => g.IndexName === index,
  );

async function drain(server: TestServer): Promise<void> {
  while (await server.indexJobsStep()) {}
}

describe('secondary indexes are encrypted like their table', () => {
  it('leaves no index key, projected value or backfill position on disk in plain text, checkpointed or in the WAL', async () => {
    const canary = `idxcanary${randomBytes(8).toString('hex')}`;
    const first = await startTestServer({ indexJobs: { mode: 'manual', sliceItems: 10, sliceMs: 60_000 } });
    let ddb = keepAliveClient(first);
    let second: TestServer | undefined;
    try {
      await createIndexedTable(ddb, 'canaries');
      for (let i = 0; i < 40; i++) await ddb.send(new PutItemCommand({ TableName: 'canaries', Item: row(canary, i) }));
      // A GSI on an attribute holding the canary, part backfilled: its saved position is an item key.
      await addIndexOnNk(ddb, 'canaries', { ProjectionType: 'INCLUDE', NonKeyAttributes: ['secret'] });
      await first.indexJobsStep();
      assert.equal(await scanCount(ddb, 'canaries', 'global'), 40);
      assert.equal(await scanCount(ddb, 'canaries', 'local'), 40);
      assert.deepEqual(await plaintextCanary(first, canary), [], 'while running (WAL and SHM included)');
      ddb.destroy();
      await first.close();
      assert.deepEqual(await plaintextCanary(first, canary), [], 'checkpointed at shutdown');
      const dumpedRows = first.storage ? (await engineDump(first.storage)).split('\n').length : 0;

      second = await startTestServer({
        scratch: first.scratch,
        dataDir: first.dataDir,
        rootKeyFile: first.rootKeyFile,
        indexJobs: { mode: 'manual', sliceItems: 10, sliceMs: 60_000 },
      });
      ddb = keepAliveClient(second);
      for (let i = 40; i < 60; i++) await ddb.send(new PutItemCommand({ TableName: 'canaries', Item: row(canary, i) }));
      await second.indexJobsStep();
      if (second.storage) {
        // The engine's equivalent of the WAL: its rows hold the new writes (sealed), in the dump.
        const rows = (await engineDump(second.storage)).split('\n').length;
        assert.ok(rows > dumpedRows, 'the new writes are in the engine');
      } else {
        const wal = filesUnder(second.dataDir).filter((f) => f.endsWith('.db-wal'));
        assert.ok(wal.length > 0, 'the new writes are (also) in a WAL');
      }
      assert.deepEqual(await plaintextCanary(second, canary), [], 'with the new writes in the WAL');
      await drain(second);
      assert.equal(await scanCount(ddb, 'canaries', 'added'), 60);
      assert.equal(await scanCount(ddb, 'canaries', 'global'), 60);
      assert.deepEqual(await plaintextCanary(second, canary), []);
    } finally {
      ddb.destroy();
      if (second) await second.cleanup();
      else await first.cleanup();
    }
  });

  it('keep serving their entries after a key switch, with writes maintaining them', async () => {
    const server = await startTestServer({ encryptionChangeLimit: { perDay: 100, intervalMs: 0 } });
    const ddb = keepAliveClient(server);
    const kms = new KMSClient(server.clientConfig());
    try {
      const keyA = await createKey(kms);
      const keyB = await createKey(kms);
      await createIndexedTable(ddb, 'switched', { keyId: keyA.id });
      for (let i = 0; i < 20; i++) await ddb.send(new PutItemCommand({ TableName: 'switched', Item: row('k', i) }));
      await ddb.send(
        new UpdateTableCommand({
          TableName: 'switched',
          SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyB.id },
        }),
      );
      // The old key no longer matters: the data key is wrapped by the new table key only.
      await kms.send(new DisableKeyCommand({ KeyId: keyA.id }));
      server.clock.advance(5 * MINUTE);
      await server.sweep();
      const fresh = newConnectionClient(server);
      try {
        assert.equal(await scanCount(fresh, 'switched', 'global'), 20);
        assert.equal(await scanCount(fresh, 'switched', 'local'), 20);
        for (let i = 20; i < 25; i++)
          await fresh.send(new PutItemCommand({ TableName: 'switched', Item: row('k', i) }));
        assert.equal(await scanCount(fresh, 'switched', 'global'), 25);
        assert.equal(await scanCount(fresh, 'switched', 'local'), 25);
      } finally {
        fresh.destroy();
      }
    } finally {
      ddb.destroy();
      kms.destroy();
      await server.cleanup();
    }
  });

  it('are refused with the table when its key is disabled, and a backfill pauses until the key is back', async () => {
    const server = await startTestServer({ indexJobs: { mode: 'manual', sliceItems: 10, sliceMs: 60_000 } });
    const ddb = keepAliveClient(server);
    const kms = new KMSClient(server.clientConfig());
    try {
      const key = await createKey(kms);
      await createIndexedTable(ddb, 'paused', { keyId: key.id });
      for (let i = 0; i < 35; i++) await ddb.send(new PutItemCommand({ TableName: 'paused', Item: row('x', i) }));
      await addIndexOnNk(ddb, 'paused', { ProjectionType: 'KEYS_ONLY' });
      await server.indexJobsStep();
      assert.equal((await indexStatus(ddb, 'paused', 'added'))?.ItemCount, 10);

      await kms.send(new DisableKeyCommand({ KeyId: key.id }));
      server.clock.advance(5 * MINUTE);
      await server.sweep();
      const fresh = newConnectionClient(server);
      try {
        for (const index of ['global', 'local', 'added']) {
          await rejectsWith(
            fresh.send(new ScanCommand({ TableName: 'paused', IndexName: index })),
            'AccessDeniedException',
            /DisabledException: .* is disabled\./,
          );
        }
        await rejectsWith(
          fresh.send(new PutItemCommand({ TableName: 'paused', Item: row('x', 99) })),
          'AccessDeniedException',
        );
        assert.equal(await server.indexJobsStep(), false, 'no work can be done without the key');
        const waiting = await indexStatus(ddb, 'paused', 'added');
        assert.equal(waiting?.IndexStatus, 'CREATING');
        assert.equal(waiting?.Backfilling, true);
        assert.equal(waiting?.ItemCount, 10, 'the last known counts');

        await kms.send(new EnableKeyCommand({ KeyId: key.id }));
        await server.sweep();
        await drain(server);
        const done = await indexStatus(ddb, 'paused', 'added');
        assert.equal(done?.IndexStatus, 'ACTIVE');
        assert.equal(await scanCount(fresh, 'paused', 'added'), 35);
        assert.equal(await scanCount(fresh, 'paused', 'global'), 35);
      } finally {
        fresh.destroy();
      }
    } finally {
      ddb.destroy();
      kms.destroy();
      await server.cleanup();
    }
  });

  it('are shredded with the table when its key is deleted; DeleteTable then ends a waiting backfill', async () => {
    const server = await startTestServer({ indexJobs: { mode: 'manual', sliceItems: 10, sliceMs: 60_000 } });
    const ddb = keepAliveClient(server);
    const kms = new KMSClient(server.clientConfig());
    try {
      const key = await createKey(kms);
      await createIndexedTable(ddb, 'shredded', { keyId: key.id });
      for (let i = 0; i < 25; i++) await ddb.send(new PutItemCommand({ TableName: 'shredded', Item: row('y', i) }));
      await addIndexOnNk(ddb, 'shredded', { ProjectionType: 'ALL' });
      await server.indexJobsStep();
      const { TableId } = (await ddb.send(new DescribeTableCommand({ TableName: 'shredded' }))).Table ?? {};
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
      server.clock.advance(7 * DAY + MINUTE);
      await server.sweep();
      await server.sweep();
      const fresh = newConnectionClient(server);
      try {
        for (const index of ['global', 'local', 'added']) {
          await rejectsWith(
            fresh.send(new ScanCommand({ TableName: 'shredded', IndexName: index })),
            'AccessDeniedException',
            /its data can never be decrypted again\.$/,
          );
        }
      } finally {
        fresh.destroy();
      }
      assert.equal(await server.indexJobsStep(), false);
      // Index work never blocks deleting a table whose key is gone.
      await ddb.send(new DeleteTableCommand({ TableName: 'shredded' }));
      assert.equal(await server.indexJobsStep(), false);
      assert.equal(existsSync(join(server.dataDir, 'tables', `${TableId}.db`)), false);
      await rejectsWith(
        ddb.send(new DescribeTableCommand({ TableName: 'shredded' })),
        'ResourceNotFoundException',
        'Requested resource not found: Table: shredded not found',
      );
    } finally {
      ddb.destroy();
      kms.destroy();
      await server.cleanup();
    }
  });
});
