/**
 * Leases of background work over engine storage (src/cluster/leases.ts): with three node
 * processes over one PostgreSQL schema, TTL expiry is done by the lease holder only, and goes on
 * on a surviving node once the holder is SIGKILLed (its lease expires, another node takes it
 * with a higher fencing token); an online index backfill is done under the backfill lease,
 * whichever node the UpdateTable came to (a node asked while another holds it looks again).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { TEST_POSTGRES } from '../helpers/engine.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';
import { dropTestSchema, testStorageUrl } from '../helpers/server.js';

const TABLE = 'leased';

interface Lease {
  readonly holder: string;
  readonly token: number;
}

describe('engine storage: leases of background work move when their holder dies', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-leases-'));
  const storage = testStorageUrl(TEST_POSTGRES) as string;
  const nodes: { process: SealdbProcess; client: DynamoDBClient }[] = [];
  let engine: pg.Client;
  const schema = new URL(storage).searchParams.get('schema') as string;

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const process = await startSealdbProcess([
        '--storage',
        storage,
        '--root-key-file',
        join(scratch, 'root.key'),
        '--data-dir',
        join(scratch, `node-${i}`),
        // Short, so a lease moves within seconds of its holder's death.
        '--lease-seconds',
        '3',
        '--ttl-sweep-seconds',
        '0.2',
      ]);
      const client = new DynamoDBClient({
        endpoint: process.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
        maxAttempts: 1,
      });
      nodes.push({ process, client });
    }
    const url = new URL(storage);
    url.searchParams.delete('schema');
    engine = new pg.Client({ connectionString: url.toString() });
    await engine.connect();
    const ddb = (nodes[0] as (typeof nodes)[number]).client;
    await ddb.send(
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
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: TABLE,
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
      }),
    );
  });

  after(async () => {
    await engine.end();
    for (const node of nodes) {
      node.client.destroy();
      if (node.process.child.exitCode === null && node.process.child.signalCode === null) await node.process.stop();
    }
    rmSync(scratch, { recursive: true, force: true });
    await dropTestSchema(storage);
  });

  const lease = async (name: string): Promise<Lease | undefined> => {
    const result = await engine.query<{ holder: string; token: string }>(
      `SELECT holder, token FROM "${schema}".leases WHERE name = $1`,
      [name],
    );
    const row = result.rows[0];
    return row ? { holder: row.holder, token: Number(row.token) } : undefined;
  };
  /** The node whose process the lease row names (holders are host/pid/tag). */
  const holderIndex = (held: Lease): number =>
    nodes.findIndex((n) => held.holder.split('/')[1] === String(n.process.child.pid));
  const deletedBy = async (i: number): Promise<number> => {
    const text = await fetch(`${(nodes[i] as (typeof nodes)[number]).process.endpoint}/metrics`).then((r) => r.text());
    const match = /^sealdb_ttl_deleted_items_total(?:\{[^}]*\})? (\d+)/m.exec(text);
    return Number(match?.[1] ?? 0);
  };
  const putExpired = async (via: number, prefix: string, count: number) => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    for (let i = 0; i < count; i++) {
      await (nodes[via] as (typeof nodes)[number]).client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'p' }, sk: { S: `${prefix}-${i}` }, expires: { N: `${past}` } },
        }),
      );
    }
  };
  const remaining = async (via: number): Promise<number> => {
    const page = await (nodes[via] as (typeof nodes)[number]).client.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: 'pk = :p',
        ExpressionAttributeValues: { ':p': { S: 'p' } },
        ConsistentRead: true,
      }),
    );
    return page.Count ?? 0;
  };

  const backfilledBy = async (i: number): Promise<number> => {
    const text = await fetch(`${(nodes[i] as (typeof nodes)[number]).process.endpoint}/metrics`).then((r) => r.text());
    return Number(/^sealdb_index_backfill_items_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
  };

  it('backfills each new GSI under the backfill lease, whichever node was asked, each item once', async () => {
    const ddb = (i: number) => (nodes[i] as (typeof nodes)[number]).client;
    await ddb(0).send(
      new CreateTableCommand({
        TableName: 'indexed',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const ITEMS = 100;
    for (let i = 0; i < ITEMS; i += 25) {
      const puts = Array.from({ length: 25 }, (_, j) => ({
        PutRequest: { Item: { pk: { S: `k${i + j}` }, a: { S: `a${(i + j) % 7}` }, b: { S: `b${(i + j) % 5}` } } },
      }));
      await ddb(1).send(new BatchWriteItemCommand({ RequestItems: { indexed: puts } }));
    }
    const before = await Promise.all([0, 1, 2].map(backfilledBy));
    // Each index through another node; the second's node does not hold the lease the first took.
    for (const [via, attribute] of [
      [0, 'a'],
      [2, 'b'],
    ] as const) {
      await ddb(via).send(
        new UpdateTableCommand({
          TableName: 'indexed',
          AttributeDefinitions: [{ AttributeName: attribute, AttributeType: 'S' }],
          GlobalSecondaryIndexUpdates: [
            {
              Create: {
                IndexName: `by-${attribute}`,
                KeySchema: [{ AttributeName: attribute, KeyType: 'HASH' }],
                Projection: { ProjectionType: 'KEYS_ONLY' },
              },
            },
          ],
        }),
      );
      await waitFor(async () => {
        const { Table } = await ddb(1).send(new DescribeTableCommand({ TableName: 'indexed' }));
        return Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === `by-${attribute}`)?.IndexStatus === 'ACTIVE';
      }, 30_000);
    }
    const held = await lease('index-backfill');
    assert.ok(held, 'a node took the backfill lease');
    assert.ok(holderIndex(held) >= 0, `the holder ${held.holder} is one of the nodes`);
    const done = (await Promise.all([0, 1, 2].map(backfilledBy))).map((n, i) => n - (before[i] as number));
    // Every item read once per index, by one node at a time: no slice of a backfill was done twice.
    assert.equal(
      done.reduce((x, y) => x + y, 0),
      2 * ITEMS,
      `items backfilled per node: ${done.join(', ')}`,
    );
  });

  it('expires items on the lease holder only, then on a survivor once the holder is SIGKILLed', async () => {
    const first = await lease('ttl-sweep');
    assert.ok(first, 'a node took the TTL lease');
    const holder = holderIndex(first);
    assert.ok(holder >= 0, `the holder ${first.holder} is one of the nodes`);
    // The sweep timer's leases exist too, each held by one node: stream trimming, the tables' key
    // check and archival, PITR history, SYSTEM backup expiry, the audit digests.
    for (const name of ['stream-trim', 'table-keys', 'pitr-history', 'backup-expiry', 'audit-digests']) {
      const held = await lease(name);
      assert.ok(held && holderIndex(held) >= 0, `${name} is held by one of the nodes`);
    }

    await putExpired((holder + 1) % 3, 'before', 12);
    await waitFor(async () => (await remaining(0)) === 0, 30_000);
    // Every expiry was done by the holder: the other nodes deleted nothing.
    const counts = await Promise.all([0, 1, 2].map(deletedBy));
    assert.equal(counts[holder], 12, `deletes per node: ${counts.join(', ')}`);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      12,
      `deletes per node: ${counts.join(', ')}`,
    );

    (nodes[holder] as (typeof nodes)[number]).process.child.kill('SIGKILL');
    const survivor = (holder + 1) % 3;
    await putExpired(survivor, 'after', 12);
    await waitFor(async () => (await remaining(survivor)) === 0, 30_000);
    const moved = await lease('ttl-sweep');
    assert.ok(moved);
    const next = holderIndex(moved);
    assert.ok(next >= 0 && next !== holder, `the lease moved to a survivor (${moved.holder})`);
    assert.ok(moved.token > first.token, `a new holder has a higher fencing token (${first.token} → ${moved.token})`);
    const survivors = [0, 1, 2].filter((i) => i !== holder);
    const after = await Promise.all(survivors.map(deletedBy));
    assert.equal(after[survivors.indexOf(next)], 12, `deletes per survivor: ${after.join(', ')}`);
    assert.equal(
      after.reduce((a, b) => a + b, 0),
      12,
    );
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
