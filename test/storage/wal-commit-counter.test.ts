/**
 * Damage inside the newest committed transaction of a write-ahead log (issue 12, item 1). Nothing
 * in the log tells it from the torn tail of a crash, so SQLite's recovery drops that transaction
 * silently; the commit record kept beside each database (`<file>-commits`, commit-counter.ts)
 * says how far the log was committed, and a log that recovers less is refused as damaged. A
 * real torn tail, which never held an acknowledged write, must still recover cleanly, in
 * `process` and in `fsync` durability, and so must every kill -9 of a busy server.
 */
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { COMMIT_RECORD_SUFFIX } from '../../src/storage/commit-counter.js';
import { checkWal } from '../../src/storage/wal-check.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

const ITEMS = 300;
const BATCH = 25;
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
const ddb = (endpoint: string) => new DynamoDBClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
const kms = (endpoint: string) => new KMSClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

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

/** One changed bit in the page of the last frame SQLite would recover: the newest commit's own frame. */
function flipNewestCommit(bytes: Buffer, walFile: string): Buffer {
  const { recoveredFrames } = checkWal(walFile);
  assert.ok(recoveredFrames > 0, `${walFile} holds committed frames`);
  const pageSize = bytes.readUInt32BE(8);
  const at = 32 + (recoveredFrames - 1) * (24 + pageSize) + 24 + 100;
  bytes[at] = (bytes[at] as number) ^ 0x10;
  return bytes;
}

/** What a write cut short by a crash leaves: a frame header of this generation, half a page after it. */
function tornTail(path: string): void {
  const bytes = readFileSync(path);
  const header = Buffer.from(bytes.subarray(32, 32 + 24));
  header.writeUInt32BE(0, 4);
  appendFileSync(path, Buffer.concat([header, Buffer.alloc(bytes.readUInt32BE(8) / 2, 0x5a)]));
}

/** The record as another boot of the machine would have left it (its CRC made whole again). */
function fromAnotherBoot(recordFile: string): void {
  const bytes = readFileSync(recordFile);
  bytes.fill(0x42, 24, 40);
  bytes.writeUInt32BE(crc32(bytes.subarray(0, 44)), 44);
  writeFileSync(recordFile, bytes);
}

/** A data directory a kill -9 left: two tables' items, a KMS key and alias, all still only in the logs. */
async function crashedDataDir(scratch: string, name: string, rootKey: string, durability: string) {
  const dir = join(scratch, name);
  const server = await startSealdbProcess(
    ['--data-dir', dir, '--root-key-file', rootKey, '--durability', durability],
    // No checkpoint folds the logs into their files: every write is still only in the log.
    { SEALDB_TEST_PAUSE_CHECKPOINTS: '1' },
  );
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
  for (let n = 0; n < ITEMS; n += BATCH) {
    const puts = Array.from({ length: BATCH }, (_, i) => ({
      PutRequest: { Item: { id: { S: `o${n + i}` }, body: { S: 'x'.repeat(200) } } },
    }));
    await client.send(new BatchWriteItemCommand({ RequestItems: { Orders: puts } }));
  }
  await client.send(new PutItemCommand({ TableName: 'Other', Item: { id: { S: 'kept' } } }));
  const id = (await client.send(new DescribeTableCommand({ TableName: 'Orders' }))).Table?.TableId as string;
  const keys = kms(server.endpoint);
  const keyId = (await keys.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
  // The key store's newest transaction: the alias.
  await keys.send(new CreateAliasCommand({ AliasName: 'alias/orders', TargetKeyId: keyId }));
  keys.destroy();
  client.destroy();
  await server.stop('SIGKILL');
  return { dir, ordersFile: join('tables', `${id}.db`), keyId };
}

for (const durability of ['process', 'fsync'] as const) {
  describe(`the newest committed transaction after a kill -9 (${durability} durability)`, () => {
    let scratch: string;
    let rootKey: string;
    let crashed: Awaited<ReturnType<typeof crashedDataDir>>;
    const running: SealdbProcess[] = [];

    async function start(dataDir: string): Promise<SealdbProcess> {
      const server = await startSealdbProcess([
        '--data-dir',
        dataDir,
        '--root-key-file',
        rootKey,
        '--durability',
        durability,
      ]);
      running.push(server);
      return server;
    }

    /** A copy of the crashed data directory, with `change` applied to it. */
    function copyWith(name: string, change?: (dir: string) => void): string {
      const dir = join(scratch, name);
      cpSync(crashed.dir, dir, { recursive: true });
      change?.(dir);
      return dir;
    }

    const flipIn = (wal: string) => (dir: string) => {
      const path = join(dir, wal);
      writeFileSync(path, flipNewestCommit(readFileSync(path), path));
    };

    before(async () => {
      scratch = mkdtempSync(join(tmpdir(), `sealdb-commits-${durability}-`));
      rootKey = join(scratch, 'root.key');
      crashed = await crashedDataDir(scratch, 'crashed', rootKey, durability);
    });

    after(async () => {
      for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop('SIGKILL');
      rmSync(scratch, { recursive: true, force: true });
    });

    it('keeps a commit record beside the table, the catalog and the key store', () => {
      for (const file of [crashed.ordersFile, 'catalog.db', join('kms', 'keystore.db')]) {
        assert.ok(existsSync(join(crashed.dir, `${file}${COMMIT_RECORD_SUFFIX}`)), file);
      }
    });

    it('recovers every acknowledged write from the untouched logs', async () => {
      const server = await start(copyWith('untouched'));
      const client = ddb(server.endpoint);
      assert.equal(await scanCount(client, 'Orders'), ITEMS);
      client.destroy();
      await server.stop();
    });

    it("a changed byte in a table's newest transaction: the table refuses, naming its file and the record", async () => {
      const server = await start(copyWith('table', flipIn(`${crashed.ordersFile}-wal`)));
      const client = ddb(server.endpoint);
      // Before the record, this table answered 275 of 300 items, with no error and no log line.
      const named = new RegExp(
        `^Table Orders cannot be served: .*${crashed.ordersFile} is damaged: frame \\d+ of its write-ahead log .*${crashed.ordersFile}-wal fails its checksum, but .*${crashed.ordersFile}-commits records that the log was committed through frame \\d+: .*backup`,
      );
      await rejectsWith(client.send(new ScanCommand({ TableName: 'Orders' })), 'InternalServerError', named);
      assert.equal(await scanCount(client, 'Other'), 1);
      assert.match(server.output(), new RegExp(`${crashed.ordersFile} is damaged`));
      client.destroy();
      await server.stop();
    });

    it("a changed byte in the catalog's newest transaction: the server refuses to start, naming the file", async () => {
      const dir = copyWith('catalog', flipIn('catalog.db-wal'));
      await assert.rejects(start(dir), (error: Error) => {
        assert.match(error.message, /exited with 1/);
        assert.match(error.message, /catalog\.db is damaged: frame \d+ of its write-ahead log .*catalog\.db-wal/);
        assert.match(error.message, /catalog\.db-commits records that the log was committed through frame/);
        assert.match(error.message, /Restore .*catalog\.db.* from a backup of the data directory/);
        return true;
      });
      assert.ok(existsSync(join(dir, 'catalog.db-wal')), 'the log is left in place');
    });

    it("a changed byte in the key store's newest transaction (an alias): the server refuses to start", async () => {
      const dir = copyWith('keystore', flipIn(join('kms', 'keystore.db-wal')));
      await assert.rejects(start(dir), (error: Error) => {
        assert.match(error.message, /keystore\.db is damaged: frame \d+ of its write-ahead log .*keystore\.db-wal/);
        assert.match(error.message, /keystore\.db-commits records/);
        return true;
      });
    });

    it("a log cut short inside the newest transaction's frames is refused too", async () => {
      const wal = `${crashed.ordersFile}-wal`;
      const dir = copyWith('cut', (d) => {
        const path = join(d, wal);
        const bytes = readFileSync(path);
        writeFileSync(path, bytes.subarray(0, bytes.length - 1000));
      });
      const server = await start(dir);
      const client = ddb(server.endpoint);
      await rejectsWith(
        client.send(new ScanCommand({ TableName: 'Orders' })),
        'InternalServerError',
        new RegExp(
          `${crashed.ordersFile} is damaged: the committed history in its write-ahead log .*-wal ends at frame \\d+, but .*-commits records`,
        ),
      );
      client.destroy();
      await server.stop();
    });

    it('a torn tail in each log stays recoverable, with every acknowledged write', async () => {
      const dir = copyWith('torn', (d) => {
        for (const wal of [`${crashed.ordersFile}-wal`, 'catalog.db-wal', join('kms', 'keystore.db-wal')]) {
          tornTail(join(d, wal));
        }
      });
      const server = await start(dir);
      const client = ddb(server.endpoint);
      assert.equal(await scanCount(client, 'Orders'), ITEMS);
      const keys = kms(server.endpoint);
      assert.equal(
        (await keys.send(new DescribeKeyCommand({ KeyId: 'alias/orders' }))).KeyMetadata?.KeyId,
        crashed.keyId,
      );
      keys.destroy();
      client.destroy();
      await server.stop();
    });

    it(
      durability === 'fsync'
        ? 'a record of a flushed log holds after a reboot too'
        : 'after a reboot (an OS crash may lose any unflushed write) the record vouches for nothing: no false alarm',
      async () => {
        const dir = copyWith('reboot', (d) => {
          fromAnotherBoot(join(d, `${crashed.ordersFile}${COMMIT_RECORD_SUFFIX}`));
          flipIn(`${crashed.ordersFile}-wal`)(d);
        });
        const server = await start(dir);
        const client = ddb(server.endpoint);
        if (durability === 'fsync') {
          await rejectsWith(
            client.send(new ScanCommand({ TableName: 'Orders' })),
            'InternalServerError',
            /-commits records that the log was committed through frame/,
          );
        } else {
          // Process durability promises nothing for an OS crash: the shortened log is taken as a torn tail.
          assert.equal(await scanCount(client, 'Orders'), ITEMS - BATCH);
        }
        client.destroy();
        await server.stop();
      },
    );

    it('survives kill -9 of a busy server, again and again, with no false alarm and no lost write', async () => {
      const dir = copyWith('busy');
      const acknowledged = new Set<string>();
      for (let cycle = 0; cycle < 3; cycle++) {
        const server = await start(dir);
        const client = ddb(server.endpoint);
        let stop = false;
        const writers = Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; !stop; i++) {
            const id = `c${cycle}-w${w}-${i}`;
            try {
              await client.send(new PutItemCommand({ TableName: 'Other', Item: { id: { S: id } } }));
              acknowledged.add(id);
            } catch {
              return; // the server is gone
            }
          }
        });
        // Killed while writes are in flight: once this cycle has some acknowledged (however slow the
        // machine), a little later each cycle.
        const before = acknowledged.size;
        const deadline = Date.now() + 20_000;
        while (acknowledged.size < before + 10) {
          assert.ok(Date.now() < deadline, `cycle ${cycle}: no writes acknowledged\n${server.output()}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await new Promise((resolve) => setTimeout(resolve, 40 * cycle));
        await server.stop('SIGKILL');
        stop = true;
        await Promise.all(writers);
        client.destroy();
      }
      const server = await start(dir);
      const client = ddb(server.endpoint);
      assert.ok(acknowledged.size > 20, `only ${acknowledged.size} writes were acknowledged`);
      const stored = new Set<string>();
      let ExclusiveStartKey: Record<string, never> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: 'Other', ExclusiveStartKey }));
        for (const item of page.Items ?? []) stored.add(item.id?.S as string);
        ExclusiveStartKey = page.LastEvaluatedKey as typeof ExclusiveStartKey;
      } while (ExclusiveStartKey);
      const lost = [...acknowledged].filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], 'acknowledged writes were lost');
      assert.equal(await scanCount(client, 'Orders'), ITEMS);
      client.destroy();
      await server.stop();
    });
  });
}
