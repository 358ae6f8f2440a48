/**
 * The PostgreSQL engine backend: DynamoDB's guarantees with clients spread over two nodes of one
 * engine, and what the engine's operator sees of the data (pg_dump: only what the README's
 * threat model allows).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
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
import pg from 'pg';
import { ITEM_SPACE } from '../../src/storage/postgres/pg-table-store.js';
import { startCluster, stopCluster, TEST_POSTGRES } from '../helpers/engine.js';
import type { TestServer } from '../helpers/server.js';

const run = promisify(execFile);

describe('engine storage: two nodes over one PostgreSQL', () => {
  let nodes: TestServer[];
  let a: DynamoDBClient;
  let b: DynamoDBClient;

  before(async () => {
    nodes = await startCluster(2);
    a = new DynamoDBClient((nodes[0] as TestServer).clientConfig());
    b = new DynamoDBClient((nodes[1] as TestServer).clientConfig());
    await a.send(
      new CreateTableCommand({
        TableName: 'shared',
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
    a.destroy();
    b.destroy();
    await stopCluster(nodes);
  });

  const clientFor = (i: number) => (i % 2 === 0 ? a : b);

  it('serves a table created on one node from the other, with reads that see every acknowledged write', async () => {
    const described = await b.send(new DescribeTableCommand({ TableName: 'shared' }));
    assert.equal(described.Table?.TableStatus, 'ACTIVE');
    for (let i = 0; i < 10; i++) {
      const writer = clientFor(i);
      const reader = clientFor(i + 1);
      await writer.send(
        new PutItemCommand({ TableName: 'shared', Item: { pk: { S: 'rw' }, sk: { S: 's' }, n: { N: `${i}` } } }),
      );
      const read = await reader.send(
        new GetItemCommand({ TableName: 'shared', Key: { pk: { S: 'rw' }, sk: { S: 's' } }, ConsistentRead: true }),
      );
      assert.equal(read.Item?.n?.N, `${i}`);
    }
  });

  it('lets exactly one of many concurrent attribute_not_exists puts win', async () => {
    const attempts = 12;
    const results = await Promise.allSettled(
      Array.from({ length: attempts }, (_, i) =>
        clientFor(i).send(
          new PutItemCommand({
            TableName: 'shared',
            Item: { pk: { S: 'race' }, sk: { S: 'once' }, winner: { N: `${i}` } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof ConditionalCheckFailedException, String(r.reason));
    }
  });

  it('loses no ADD increment from either node', async () => {
    const increments = 40;
    await Promise.all(
      Array.from({ length: increments }, (_, i) =>
        clientFor(i).send(
          new UpdateItemCommand({
            TableName: 'shared',
            Key: { pk: { S: 'counter' }, sk: { S: 'c' } },
            UpdateExpression: 'ADD hits :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        ),
      ),
    );
    const read = await a.send(
      new GetItemCommand({ TableName: 'shared', Key: { pk: { S: 'counter' }, sk: { S: 'c' } }, ConsistentRead: true }),
    );
    assert.equal(read.Item?.hits?.N, `${increments}`);
  });

  it('applies concurrent TransactWriteItems all or nothing (money is neither made nor lost)', async () => {
    const accounts = ['acct-a', 'acct-b', 'acct-c'];
    for (const id of accounts) {
      await a.send(
        new PutItemCommand({ TableName: 'shared', Item: { pk: { S: id }, sk: { S: 'bal' }, bal: { N: '10' } } }),
      );
    }
    const transfers = Array.from({ length: 24 }, (_, i) => {
      const from = accounts[i % 3] as string;
      const to = accounts[(i + 1) % 3] as string;
      return clientFor(i)
        .send(
          new TransactWriteItemsCommand({
            TransactItems: [
              {
                Update: {
                  TableName: 'shared',
                  Key: { pk: { S: from }, sk: { S: 'bal' } },
                  UpdateExpression: 'SET bal = bal - :x',
                  ConditionExpression: 'bal >= :x',
                  ExpressionAttributeValues: { ':x': { N: '7' } },
                },
              },
              {
                Update: {
                  TableName: 'shared',
                  Key: { pk: { S: to }, sk: { S: 'bal' } },
                  UpdateExpression: 'SET bal = bal + :x',
                  ExpressionAttributeValues: { ':x': { N: '7' } },
                },
              },
            ],
          }),
        )
        .then(
          () => 'ok',
          (error: unknown) => {
            assert.ok(error instanceof TransactionCanceledException, String(error));
            assert.equal(error.CancellationReasons?.[0]?.Code, 'ConditionalCheckFailed');
            return 'cancelled';
          },
        );
    });
    const outcomes = await Promise.all(transfers);
    assert.ok(outcomes.includes('ok'));
    let total = 0;
    for (const id of accounts) {
      const read = await b.send(
        new GetItemCommand({ TableName: 'shared', Key: { pk: { S: id }, sk: { S: 'bal' } }, ConsistentRead: true }),
      );
      const balance = Number(read.Item?.bal?.N);
      assert.ok(balance >= 0, `${id} went negative: ${balance}`);
      total += balance;
    }
    assert.equal(total, 30);
  });
});

describe('engine storage: what the engine operator sees', () => {
  let nodes: TestServer[];
  let ddb: DynamoDBClient;
  const canaries = {
    table: 'CanaryTableZq7',
    attributeName: 'canaryAttrNameXq1',
    value: 'canaryValueWz3',
    partition: 'canaryPartitionKv8',
    sort: 'canarySortJm5',
    indexKey: 'canaryIndexKeyRt2',
    number: '918273645546372819',
  };

  before(async () => {
    nodes = await startCluster(1);
    ddb = new DynamoDBClient((nodes[0] as TestServer).clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: canaries.table,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byG',
            KeySchema: [{ AttributeName: 'gk', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let i = 0; i < 5; i++) {
      await ddb.send(
        new PutItemCommand({
          TableName: canaries.table,
          Item: {
            pk: { S: `${canaries.partition}-${i}` },
            sk: { S: `${canaries.sort}-${i}` },
            gk: { S: `${canaries.indexKey}-${i}` },
            [canaries.attributeName]: { S: `${canaries.value}-${i}` },
            num: { N: canaries.number },
          },
        }),
      );
    }
    await ddb.send(
      new UpdateItemCommand({
        TableName: canaries.table,
        Key: { pk: { S: `${canaries.partition}-0` }, sk: { S: `${canaries.sort}-0` } },
        UpdateExpression: 'SET #a = :v',
        ExpressionAttributeNames: { '#a': canaries.attributeName },
        ExpressionAttributeValues: { ':v': { S: `${canaries.value}-updated` } },
      }),
    );
  });
  after(async () => {
    ddb.destroy();
    await stopCluster(nodes);
  });

  it('serves the workload (the canaries are really stored)', async () => {
    const byIndex = await ddb.send(
      new QueryCommand({
        TableName: canaries.table,
        IndexName: 'byG',
        KeyConditionExpression: 'gk = :g',
        ExpressionAttributeValues: { ':g': { S: `${canaries.indexKey}-3` } },
      }),
    );
    assert.equal(byIndex.Items?.[0]?.[canaries.attributeName]?.S, `${canaries.value}-3`);
  });

  it('pg_dump of its schema holds no table name, attribute name, value or key in any form', async () => {
    const storage = new URL((nodes[0] as TestServer).storage as string);
    const schema = storage.searchParams.get('schema') as string;
    storage.searchParams.delete('schema');
    const { stdout: dump } = await run('pg_dump', ['--dbname', storage.toString(), '--schema', schema, '--data-only'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // The workload is there: item rows, index entries and stream records (5 puts, 1 update).
    assert.ok(dump.includes('COPY'), 'the dump holds the data');
    const rows = await countRows(storage.toString(), schema);
    assert.ok(rows >= 5 + 5 + 6, `rows in the engine: ${rows}`);
    const lower = dump.toLowerCase();
    for (const canary of Object.values(canaries)) {
      assert.ok(!lower.includes(canary.toLowerCase()), `${canary} appears in the dump`);
      // pg_dump writes BYTEA as hex: the canary's bytes must not be there either.
      assert.ok(!lower.includes(Buffer.from(canary, 'utf8').toString('hex')), `${canary} appears as hex`);
      assert.ok(!lower.includes(Buffer.from(canary, 'utf8').toString('base64').toLowerCase()), `${canary} as base64`);
    }
  });

  it('refuses a row moved to another key instead of serving it (the AAD binds rows to their place)', async () => {
    const storage = new URL((nodes[0] as TestServer).storage as string);
    const schema = storage.searchParams.get('schema') as string;
    storage.searchParams.delete('schema');
    const client = new pg.Client({ connectionString: storage.toString() });
    await client.connect();
    try {
      // Item rows (space -2^31): give the first item's key the second item's ciphertext.
      const items = await client.query<{ km: Buffer; sealed: Buffer }>(
        `SELECT km, sealed FROM "${schema}".rows WHERE space = ${ITEM_SPACE} ORDER BY km LIMIT 2`,
      );
      const [first, second] = items.rows;
      assert.ok(first && second);
      await client.query(`UPDATE "${schema}".rows SET sealed = $1 WHERE space = ${ITEM_SPACE} AND km = $2`, [
        second.sealed,
        first.km,
      ]);
    } finally {
      await client.end();
    }
    // Every item is read by a Scan: the swapped row fails authentication, and nothing is served.
    const node = nodes[0] as TestServer;
    await assert.rejects(
      ddb
        .send(
          new QueryCommand({
            TableName: canaries.table,
            IndexName: 'byG',
            KeyConditionExpression: 'gk = :g',
            ExpressionAttributeValues: { ':g': { S: 'none' } },
          }),
        )
        .then(async () => {
          const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
          return ddb.send(new ScanCommand({ TableName: canaries.table }));
        }),
      (error: Error & { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 500,
    );
    // The server reported it; the helper would fail cleanup on reported internal errors.
    assert.ok(node.internalErrors.length > 0);
    (node.internalErrors as unknown[]).length = 0;
  });
});

async function countRows(url: string, schema: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".rows`);
    return Number(result.rows[0]?.n);
  } finally {
    await client.end();
  }
}

void TEST_POSTGRES;
