import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

/**
 * Kills the server in the middle of TransactWriteItems spanning two table files and checks,
 * after a restart, that every transaction is either wholly applied or not at all.
 */
describe('transactions survive a crash', () => {
  let scratch: string;
  let args: string[];
  const running: SealdbProcess[] = [];

  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'sealdb-crash-'));
    args = ['--data-dir', join(scratch, 'data'), '--root-key-file', join(scratch, 'root.key')];
  });
  after(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  const client = (endpoint: string) =>
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
      maxAttempts: 1,
    });

  async function start(
    env: NodeJS.ProcessEnv = {},
    serverArgs = args,
  ): Promise<{ server: SealdbProcess; ddb: DynamoDBClient }> {
    const server = await startSealdbProcess(serverArgs, env);
    running.push(server);
    return { server, ddb: client(server.endpoint) };
  }

  /** Transaction `n`: an order row in Orders, a matching row in Audit, and one more on a counter. */
  const transaction = (n: number) =>
    new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: 'Orders', Item: { id: { S: `o${n}` }, n: { N: String(n) } } } },
        {
          Update: {
            TableName: 'Orders',
            Key: { id: { S: 'counter' } },
            UpdateExpression: 'ADD tally :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          },
        },
        { Put: { TableName: 'Audit', Item: { id: { S: `o${n}` }, n: { N: String(n) } } } },
      ],
    });

  async function ids(ddb: DynamoDBClient, table: string): Promise<Map<string, Record<string, AttributeValue>>> {
    const out = new Map<string, Record<string, AttributeValue>>();
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await ddb.send(
        new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) out.set(item.id?.S as string, item);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /** Every order is in both tables or in neither, and the counter counts exactly those. */
  async function assertAllOrNothing(ddb: DynamoDBClient): Promise<Set<number>> {
    const orders = await ids(ddb, 'Orders');
    const audit = await ids(ddb, 'Audit');
    const total = Number(orders.get('counter')?.tally?.N ?? '0');
    orders.delete('counter');
    assert.deepEqual([...orders.keys()].sort(), [...audit.keys()].sort(), 'Orders and Audit disagree');
    assert.equal(total, orders.size, 'the counter disagrees with the orders');
    return new Set([...orders.keys()].map((id) => Number(id.slice(1))));
  }

  /** Streams transactions from six clients, kills the server with SIGKILL, restarts and checks. */
  async function killDuringStream(serverArgs: string[]): Promise<void> {
    const { server, ddb } = await start({}, serverArgs);
    for (const TableName of ['Orders', 'Audit']) {
      await ddb.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    }
    let next = 0;
    let acknowledged = 0;
    let stop = false;
    let refused: unknown;
    const workers = Array.from({ length: 6 }, async () => {
      while (!stop) {
        const n = next++;
        try {
          await ddb.send(transaction(n));
          acknowledged++;
        } catch (error) {
          // After the kill requests fail without a response; before it, none may fail at all.
          if (!stop) refused = error;
          return;
        }
      }
    });
    const deadline = Date.now() + 20_000;
    while (acknowledged < 60 && refused === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(refused, undefined);
    assert.ok(acknowledged >= 60, 'the stream was running when the server was killed');
    stop = true;
    await server.stop('SIGKILL');
    await Promise.all(workers);
    ddb.destroy();

    const again = await start({}, serverArgs);
    const applied = await assertAllOrNothing(again.ddb);
    assert.ok(applied.size >= acknowledged, 'every acknowledged transaction survived');
    again.ddb.destroy();
    await again.server.stop('SIGINT');
  }

  it('keeps transactions whole when killed at random during a stream', () => killDuringStream(args));

  it('keeps them whole with --durability fsync too (each step flushed before the next)', () =>
    killDuringStream([
      '--data-dir',
      join(scratch, 'fsync', 'data'),
      '--root-key-file',
      join(scratch, 'fsync', 'root.key'),
      '--durability',
      'fsync',
    ]));

  for (const [step, outcome] of [
    ['staged', 'none'],
    ['committed', 'all'],
  ] as const) {
    it(`applies ${outcome} of a transaction killed after it was ${step}`, async () => {
      const before = await start();
      const known = await assertAllOrNothing(before.ddb);
      before.ddb.destroy();
      await before.server.stop('SIGINT');

      // The third transaction of this process dies between its table files.
      const { ddb } = await start({ SEALDB_TEST_CRASH_AT: `${step}:3` });
      const base = 100_000 + (step === 'staged' ? 0 : 1000);
      const sent: number[] = [];
      let crashed: number | undefined;
      for (let n = base; crashed === undefined && n < base + 10; n++) {
        sent.push(n);
        await ddb.send(transaction(n)).catch(() => {
          crashed = n;
        });
      }
      ddb.destroy();
      assert.equal(crashed, base + 2, 'the fault hook fired on the third transaction');

      const after = await start();
      const applied = await assertAllOrNothing(after.ddb);
      for (const n of known) assert.ok(applied.has(n));
      assert.ok(applied.has(base) && applied.has(base + 1));
      assert.equal(applied.has(base + 2), outcome === 'all');
      after.ddb.destroy();
      await after.server.stop('SIGINT');
    });
  }
});
