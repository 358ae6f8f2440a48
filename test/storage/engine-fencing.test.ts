/**
 * The fence of leased background work: a node whose lease was taken over (the lease row names
 * another holder and a newer token) while its own view still holds it commits none of that
 * work. Here the TTL sweeper's deletes are refused at commit, quietly (a lease moving is no fault).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { startCluster } from '../helpers/engine.js';
import { dropTestSchema, type TestServer } from '../helpers/server.js';

describe('engine storage: leased work is fenced by the lease token', () => {
  let node: TestServer;
  let ddb: DynamoDBClient;
  let engine: pg.Client;
  let schema: string;

  before(async () => {
    [node] = (await startCluster(1)) as [TestServer];
    ddb = new DynamoDBClient(node.clientConfig());
    const url = new URL(node.storage as string);
    schema = url.searchParams.get('schema') as string;
    url.searchParams.delete('schema');
    engine = new pg.Client({ connectionString: url.toString() });
    await engine.connect();
    await ddb.send(
      new CreateTableCommand({
        TableName: 'fenced',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'fenced',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'expires' },
      }),
    );
    // Past the ENABLING transition: the sweeper acts on the table.
    node.clock.advance(5_000);
  });

  after(async () => {
    await engine.end();
    ddb.destroy();
    const storage = node.storage;
    await node.cleanup();
    if (storage) await dropTestSchema(storage);
  });

  const present = async (pk: string) =>
    (await ddb.send(new GetItemCommand({ TableName: 'fenced', Key: { pk: { S: pk } }, ConsistentRead: true }))).Item !==
    undefined;
  const putExpired = (pk: string) =>
    ddb.send(
      new PutItemCommand({
        TableName: 'fenced',
        Item: { pk: { S: pk }, expires: { N: `${Math.floor(node.clock.now() / 1000) - 60}` } },
      }),
    );

  it('sweeps while the node holds the lease, and commits nothing once another holder took it', async () => {
    await putExpired('a');
    await node.sweep();
    assert.equal(await present('a'), false, 'the holder expires the item');

    // Another node takes the lease over (as after this node paused past its expiry).
    const taken = await engine.query(
      `UPDATE "${schema}".leases SET holder = 'elsewhere', token = token + 1, expires_at = $1 WHERE name = 'ttl-sweep'`,
      [node.clock.now() + 3_600_000],
    );
    assert.equal(taken.rowCount, 1, 'the node had taken the TTL lease');
    await putExpired('b');
    await node.sweep();
    assert.equal(await present('b'), true, 'the deletes of a node that lost its lease are rolled back');
    // Its view lapses; the lease stays with the other holder, and the item with it.
    node.clock.advance(60_000);
    await node.sweep();
    assert.equal(await present('b'), true);
    assert.deepEqual(node.internalErrors, []);
  });
});
