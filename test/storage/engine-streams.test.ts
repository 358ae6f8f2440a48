/**
 * Stream records written through two nodes over one engine: each node numbers records with a
 * sequence clock of its own, so two nodes can pick the same position in the same millisecond.
 * The second node's clock runs 2 s behind the first's, as unsynchronised clocks of two machines can.
 */

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

import { ManualClock } from '../../src/core/clock.js';
import { stopCluster, TEST_POSTGRES } from '../helpers/engine.js';
import { metricValue } from '../helpers/metrics.js';
import { startTestServer, type TestServer, testStorageUrl } from '../helpers/server.js';
import { readStream, streamsClient } from '../streams/stream-helpers.js';

describe('engine storage: stream records from two nodes', () => {
  // 40 puts at once, half through each node, then what the stream holds.
  const concurrent = async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        clients[i % 2]?.send(new PutItemCommand({ TableName: 'Together', Item: { id: { S: `t-${i}` } } })),
      ),
    );
    const { Table } = (await clients[0]?.send(new DescribeTableCommand({ TableName: 'Together' }))) ?? {};
    const streams = streamsClient(nodes[1] as TestServer);
    try {
      const records = await readStream(streams, Table?.LatestStreamArn as string);
      const ids = records.map((r) => r.dynamodb?.Keys?.id?.S as string);
      assert.deepEqual([...ids].sort(), Array.from({ length: 40 }, (_, i) => `t-${i}`).sort());
      assert.equal(new Set(records.map((r) => r.dynamodb?.SequenceNumber)).size, 40);
    } finally {
      streams.destroy();
    }
  };

  let nodes: TestServer[];
  let clients: DynamoDBClient[];

  before(async () => {
    const storage = testStorageUrl(TEST_POSTGRES) as string;
    const first = await startTestServer({ storage });
    const behind = await startTestServer({
      storage,
      clock: new ManualClock(first.clock, -2000),
      rootKeyFile: first.rootKeyFile,
      dataDir: join(first.scratch, 'node-1'),
    });
    nodes = [first, behind];
    clients = nodes.map((n) => new DynamoDBClient(n.clientConfig()));
    const create = (client: DynamoDBClient | undefined, TableName: string) =>
      client?.send(
        new CreateTableCommand({
          TableName,
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    await create(clients[0], 'Shared');
    await create(clients[0], 'Alone');
    await create(clients[1], 'Together');
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await stopCluster(nodes);
  });

  it("lets one node's writes to a table with a stream follow one another instead of conflicting", async () => {
    // Every append reads and moves the log's head row: 40 puts in flight at once through one node
    // would conflict pairwise at their commits and mostly run again; taking the log's turn first
    // (storage/postgres/node-turns.ts), they run one after another, at most one attempt to find
    // that they need it.
    const endpoint = (nodes[0] as TestServer).endpoint;
    const retries = await metricValue(endpoint, 'sealdb_engine_retries_total');
    const restarts = await metricValue(endpoint, 'sealdb_engine_turn_restarts_total');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        clients[0]?.send(new PutItemCommand({ TableName: 'Alone', Item: { id: { S: `a-${i}` } } })),
      ),
    );
    const retried = (await metricValue(endpoint, 'sealdb_engine_retries_total')) - retries;
    const restarted = (await metricValue(endpoint, 'sealdb_engine_turn_restarts_total')) - restarts;
    assert.ok(retried < 10, `${retried} of 40 units ran again after a serialization failure`);
    assert.ok(restarted <= 40, `${restarted} turn restarts for 40 units`);
    const { Table } = (await clients[0]?.send(new DescribeTableCommand({ TableName: 'Alone' }))) ?? {};
    const streams = streamsClient(nodes[0] as TestServer);
    try {
      const records = await readStream(streams, Table?.LatestStreamArn as string);
      assert.deepEqual(
        records.map((r) => r.dynamodb?.Keys?.id?.S as string).sort(),
        Array.from({ length: 40 }, (_, i) => `a-${i}`).sort(),
      );
    } finally {
      streams.destroy();
    }
  });

  it('keeps every record in the order written, each with its own sequence number, whichever node wrote it', async () => {
    await concurrent();
    const WRITES = 20;
    for (let i = 0; i < WRITES; i++) {
      await clients[i % 2]?.send(new PutItemCommand({ TableName: 'Shared', Item: { id: { S: `item-${i}` } } }));
    }
    const { Table } = (await clients[1]?.send(new DescribeTableCommand({ TableName: 'Shared' }))) ?? {};
    const streams = streamsClient(nodes[0] as TestServer);
    try {
      const records = await readStream(streams, Table?.LatestStreamArn as string);
      const ids = records.map((r) => r.dynamodb?.Keys?.id?.S);
      assert.deepEqual(
        ids,
        Array.from({ length: WRITES }, (_, i) => `item-${i}`),
        'every acknowledged write has its record, in the order written',
      );
      const sequences = records.map((r) => r.dynamodb?.SequenceNumber as string);
      assert.equal(new Set(sequences).size, WRITES, 'no two records share a sequence number');
      assert.deepEqual([...sequences].sort(), sequences, 'sequence numbers increase');
    } finally {
      streams.destroy();
    }
  });
});
