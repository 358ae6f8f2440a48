/**
 * Three sealdb nodes (separate `sealdb start` processes) on loopback over one PostgreSQL schema,
 * with clients spread over them: DynamoDB's guarantees hold across nodes, and a node SIGKILLed
 * under load loses no acknowledged write and leaves no half-applied transaction (every
 * acknowledged operation is journalled, and the journal is checked against the engine after).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { TEST_POSTGRES } from '../helpers/engine.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';
import { dropTestSchema, testStorageUrl } from '../helpers/server.js';

const TABLE = 'three';

interface Node {
  readonly process: SealdbProcess;
  readonly client: DynamoDBClient;
}

function clientOf(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    // Every failure is seen: an SDK retry would hide a lost request, or apply an ADD twice.
    maxAttempts: 1,
  });
}

describe('engine storage: three node processes over one PostgreSQL', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-three-'));
  const storage = testStorageUrl(TEST_POSTGRES) as string;
  const rootKeyFile = join(scratch, 'root.key');
  const nodes: Node[] = [];
  const client = (i: number): DynamoDBClient => (nodes[i % nodes.length] as Node).client;

  before(async () => {
    // The first node creates the root key; the others start with the same one (the same root of trust).
    for (let i = 0; i < 3; i++) {
      const process = await startSealdbProcess([
        '--storage',
        storage,
        '--root-key-file',
        rootKeyFile,
        '--data-dir',
        join(scratch, `node-${i}`),
      ]);
      nodes.push({ process, client: clientOf(process.endpoint) });
    }
    await client(0).send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });

  after(async () => {
    for (const node of nodes) {
      node.client.destroy();
      if (node.process.child.exitCode === null && node.process.child.signalCode === null) await node.process.stop();
    }
    rmSync(scratch, { recursive: true, force: true });
    await dropTestSchema(storage);
  });

  it('serves the table from every node, each strongly consistent read seeing the write acknowledged on another', async () => {
    for (let i = 0; i < 3; i++) {
      const described = await client(i).send(new DescribeTableCommand({ TableName: TABLE }));
      assert.equal(described.Table?.TableStatus, 'ACTIVE');
    }
    for (let i = 0; i < 12; i++) {
      await client(i).send(
        new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'rw' }, sk: { S: 's' }, n: { N: `${i}` } } }),
      );
      for (const reader of [i + 1, i + 2]) {
        const read = await client(reader).send(
          new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'rw' }, sk: { S: 's' } }, ConsistentRead: true }),
        );
        assert.equal(read.Item?.n?.N, `${i}`, `node ${reader % 3} after a write acknowledged by node ${i % 3}`);
      }
    }
  });

  it('lets exactly one of many concurrent attribute_not_exists puts win, for each of several keys', async () => {
    for (const key of ['race-1', 'race-2', 'race-3']) {
      const results = await Promise.allSettled(
        Array.from({ length: 15 }, (_, i) =>
          client(i).send(
            new PutItemCommand({
              TableName: TABLE,
              Item: { pk: { S: key }, sk: { S: 'once' }, winner: { N: `${i}` } },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        ),
      );
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      assert.equal(won.length, 1, `${key}: winners ${won.join(', ')}`);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(r.reason instanceof ConditionalCheckFailedException, String(r.reason));
      }
      // The stored item is the winner's, on every node.
      for (let i = 0; i < 3; i++) {
        const read = await client(i).send(
          new GetItemCommand({ TableName: TABLE, Key: { pk: { S: key }, sk: { S: 'once' } }, ConsistentRead: true }),
        );
        assert.equal(read.Item?.winner?.N, `${won[0]}`);
      }
    }
  });

  it('loses no ADD increment with clients on all three nodes', async () => {
    const increments = 36;
    await Promise.all(
      Array.from({ length: increments }, (_, i) =>
        client(i).send(
          new UpdateItemCommand({
            TableName: TABLE,
            Key: { pk: { S: 'counter' }, sk: { S: 'c' } },
            UpdateExpression: 'ADD hits :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        ),
      ),
    );
    for (let i = 0; i < 3; i++) {
      const read = await client(i).send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'counter' }, sk: { S: 'c' } }, ConsistentRead: true }),
      );
      assert.equal(read.Item?.hits?.N, `${increments}`);
    }
  });

  it('applies concurrent TransactWriteItems on three nodes all or nothing', async () => {
    const accounts = ['t-a', 't-b', 't-c'];
    for (const id of accounts) {
      await client(0).send(
        new PutItemCommand({ TableName: TABLE, Item: { pk: { S: id }, sk: { S: 'bal' }, bal: { N: '10' } } }),
      );
    }
    const outcomes = await Promise.all(
      Array.from({ length: 18 }, (_, i) =>
        client(i)
          .send(transfer(accounts[i % 3] as string, accounts[(i + 1) % 3] as string, 7, `tx3-${i}`))
          .then(
            () => 'ok' as const,
            (error: unknown) => {
              assert.ok(error instanceof TransactionCanceledException, String(error));
              assert.equal(error.CancellationReasons?.[0]?.Code, 'ConditionalCheckFailed');
              return 'cancelled' as const;
            },
          ),
      ),
    );
    assert.ok(outcomes.includes('ok'));
    assert.equal(await totalBalance(client(2), accounts), 30);
    // The marker written with each transfer is there exactly for the transfers that went through.
    const markers = await markersOf(client(1));
    const applied = outcomes.flatMap((o, i) => (o === 'ok' ? [`tx3-${i}`] : []));
    assert.deepEqual(
      [...markers].filter((m) => m.startsWith('tx3-')).sort(),
      applied.sort(),
      'markers of the transfers that went through, and only those',
    );
  });

  it('loses no acknowledged write and half-applies no transaction when a node is SIGKILLed under load', async () => {
    const accounts = ['k-a', 'k-b', 'k-c', 'k-d'];
    for (const id of accounts) {
      await client(0).send(
        new PutItemCommand({ TableName: TABLE, Item: { pk: { S: id }, sk: { S: 'bal' }, bal: { N: '100' } } }),
      );
    }
    const victim = 2;
    // The journal: what was acknowledged, and what may or may not have happened (no answer).
    const ackedPuts = new Map<string, string>();
    const ackedTransfers = new Set<string>();
    const cancelledTransfers = new Set<string>();
    const unknownTransfers = new Set<string>();
    let ackedAdds = 0;
    let unknownAdds = 0;
    const unexpected: string[] = [];
    let killed = false;
    let stop = false;

    const worker = async (w: number) => {
      const node = w % 3;
      const ddb = client(node);
      for (let i = 0; !stop; i++) {
        const op = (w + i) % 3;
        const id = `w${w}-${i}`;
        try {
          if (op === 0) {
            await ddb.send(
              new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'puts' }, sk: { S: id }, v: { S: id } } }),
            );
            ackedPuts.set(id, id);
          } else if (op === 1) {
            await ddb.send(
              new UpdateItemCommand({
                TableName: TABLE,
                Key: { pk: { S: 'kill-counter' }, sk: { S: 'c' } },
                UpdateExpression: 'ADD hits :one',
                ExpressionAttributeValues: { ':one': { N: '1' } },
              }),
            );
            ackedAdds++;
          } else {
            const from = accounts[(w + i) % accounts.length] as string;
            const to = accounts[(w + i + 1) % accounts.length] as string;
            try {
              await ddb.send(transfer(from, to, 9, `tx-${id}`));
              ackedTransfers.add(`tx-${id}`);
            } catch (error) {
              if (!(error instanceof TransactionCanceledException)) throw error;
              cancelledTransfers.add(`tx-${id}`);
            }
          }
        } catch (error) {
          if (node === victim && killed) {
            // No answer from the killed node: this one may or may not have been applied.
            if (op === 1) unknownAdds++;
            if (op === 2) unknownTransfers.add(`tx-${id}`);
            return;
          }
          unexpected.push(`node ${node}: ${String(error)}`);
          return;
        }
      }
    };
    const workers = Array.from({ length: 6 }, (_, w) => worker(w));
    await waitFor(() => ackedPuts.size + ackedAdds + ackedTransfers.size >= 90, 30_000);
    killed = true;
    (nodes[victim] as Node).process.child.kill('SIGKILL');
    // The survivors go on serving for a while after the kill.
    const afterKill = ackedPuts.size + ackedAdds + ackedTransfers.size;
    await waitFor(() => ackedPuts.size + ackedAdds + ackedTransfers.size >= afterKill + 90, 30_000);
    stop = true;
    await Promise.all(workers);
    assert.deepEqual(unexpected, []);
    assert.ok(ackedTransfers.size > 0 && ackedAdds > 0 && ackedPuts.size > 0);

    const survivor = client(0);
    // Every acknowledged put is there, with its value.
    const puts = await queryAll(survivor, 'puts');
    for (const [id, v] of ackedPuts) assert.equal(puts.get(id), v, `acknowledged put ${id}`);
    // Every acknowledged increment counted; at most the unanswered ones besides.
    const counter = await client(1).send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'kill-counter' }, sk: { S: 'c' } },
        ConsistentRead: true,
      }),
    );
    const hits = Number(counter.Item?.hits?.N);
    assert.ok(hits >= ackedAdds && hits <= ackedAdds + unknownAdds, `${hits} hits, ${ackedAdds} acknowledged`);
    // Transfers: all or nothing. Both halves' markers with the balances moved, or neither.
    const markers = await markersOf(survivor, 'tx-');
    assert.deepEqual(
      [...ackedTransfers].filter((id) => !markers.has(id)),
      [],
      'acknowledged transfers without their marker',
    );
    for (const id of cancelledTransfers) assert.ok(!markers.has(id), `cancelled transfer ${id} left a marker`);
    for (const id of markers) {
      assert.ok(ackedTransfers.has(id) || unknownTransfers.has(id), `marker ${id} of no transfer sent`);
    }
    const halves = await halvesOf(survivor);
    for (const id of markers) assert.equal(halves.get(id), 2, `transfer ${id}: both halves`);
    const allMarkers = await markersOf(survivor);
    for (const id of halves.keys()) assert.ok(allMarkers.has(id), `halves of ${id} without its marker`);
    assert.equal(await totalBalance(client(1), accounts), 100 * accounts.length);
  });
});

/** Moves `amount` between two accounts, writing a marker pair (`id`, its two halves) with it. */
function transfer(from: string, to: string, amount: number, id: string): TransactWriteItemsCommand {
  return new TransactWriteItemsCommand({
    TransactItems: [
      {
        Update: {
          TableName: TABLE,
          Key: { pk: { S: from }, sk: { S: 'bal' } },
          UpdateExpression: 'SET bal = bal - :x',
          ConditionExpression: 'bal >= :x',
          ExpressionAttributeValues: { ':x': { N: `${amount}` } },
        },
      },
      {
        Update: {
          TableName: TABLE,
          Key: { pk: { S: to }, sk: { S: 'bal' } },
          UpdateExpression: 'SET bal = bal + :x',
          ExpressionAttributeValues: { ':x': { N: `${amount}` } },
        },
      },
      { Put: { TableName: TABLE, Item: { pk: { S: 'markers' }, sk: { S: id } } } },
      { Put: { TableName: TABLE, Item: { pk: { S: 'halves' }, sk: { S: `${id}#a` } } } },
      { Put: { TableName: TABLE, Item: { pk: { S: 'halves' }, sk: { S: `${id}#b` } } } },
    ],
  });
}

async function totalBalance(ddb: DynamoDBClient, accounts: readonly string[]): Promise<number> {
  let total = 0;
  for (const id of accounts) {
    const read = await ddb.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: id }, sk: { S: 'bal' } }, ConsistentRead: true }),
    );
    const balance = Number(read.Item?.bal?.N);
    assert.ok(balance >= 0, `${id} went negative: ${balance}`);
    total += balance;
  }
  return total;
}

/** A partition's items (sort key → attribute v), strongly consistent. */
async function queryAll(ddb: DynamoDBClient, pk: string): Promise<Map<string, string | undefined>> {
  const items = new Map<string, string | undefined>();
  let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: pk } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const item of page.Items ?? []) items.set(item.sk?.S as string, item.v?.S);
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function markersOf(ddb: DynamoDBClient, prefix = ''): Promise<Set<string>> {
  return new Set([...(await queryAll(ddb, 'markers')).keys()].filter((k) => k.startsWith(prefix)));
}

/** How many halves each transfer's marker has. */
async function halvesOf(ddb: DynamoDBClient): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const sk of (await queryAll(ddb, 'halves')).keys()) {
    const id = sk.slice(0, sk.lastIndexOf('#'));
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
