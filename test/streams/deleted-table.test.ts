import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { tablesWithData } from '../helpers/at-rest.js';
import { createKey } from '../helpers/kms.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { allShards, HOUR, readStream, streamsClient } from './stream-helpers.js';

const table = (name: string, stream: boolean, kmsKey?: string) =>
  new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...(stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } } : {}),
    ...(kmsKey ? { SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: kmsKey } } : {}),
  });

const keysOf = async (streams: DynamoDBStreamsClient, arn: string) =>
  (await readStream(streams, arn)).map((r) => `${r.eventName}:${r.dynamodb?.Keys?.pk?.S}`);

/** DeleteTable keeps the table's stream readable, DISABLED, for 24 hours (streams/retired.ts). */
describe('the stream of a deleted table', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    streams = streamsClient(server);
  });
  after(() => server.cleanup());

  it('stays readable for 24 hours beside a new table of the same name, then goes with its file', async () => {
    const created = await ddb.send(table('gone', true));
    const oldArn = created.TableDescription?.LatestStreamArn as string;
    const oldId = created.TableDescription?.TableId as string;
    for (const pk of ['a', 'b', 'c'])
      await ddb.send(new PutItemCommand({ TableName: 'gone', Item: { pk: { S: pk } } }));
    server.clock.advance(HOUR);
    await ddb.send(new DeleteTableCommand({ TableName: 'gone' }));

    // The table is gone for every table API...
    await rejectsWith(ddb.send(new DescribeTableCommand({ TableName: 'gone' })), 'ResourceNotFoundException');
    assert.ok(!(await ddb.send(new ListTablesCommand({}))).TableNames?.includes('gone'));
    await rejectsWith(
      ddb.send(new PutItemCommand({ TableName: 'gone', Item: { pk: { S: 'x' } } })),
      'ResourceNotFoundException',
    );
    // ...its stream is not: listed under its table name, DISABLED, every record there.
    const listed = await streams.send(new ListStreamsCommand({ TableName: 'gone' }));
    assert.deepEqual(
      listed.Streams?.map((s) => s.StreamArn),
      [oldArn],
    );
    assert.equal(listed.Streams?.[0]?.TableName, 'gone');
    assert.ok((await streams.send(new ListStreamsCommand({}))).Streams?.some((s) => s.StreamArn === oldArn));
    const described = (await streams.send(new DescribeStreamCommand({ StreamArn: oldArn }))).StreamDescription;
    assert.equal(described?.StreamStatus, 'DISABLED');
    assert.equal(described?.TableName, 'gone');
    // Closed shards: the stream takes nothing more.
    assert.ok(described?.Shards?.every((s) => s.SequenceNumberRange?.EndingSequenceNumber));
    assert.deepEqual(await keysOf(streams, oldArn), ['INSERT:a', 'INSERT:b', 'INSERT:c']);

    // A new table of the same name: a new id and a new stream; both streams read their own records.
    server.clock.advance(1000);
    const again = await ddb.send(table('gone', true));
    const newArn = again.TableDescription?.LatestStreamArn as string;
    assert.notEqual(again.TableDescription?.TableId, oldId);
    assert.notEqual(newArn, oldArn);
    await ddb.send(new PutItemCommand({ TableName: 'gone', Item: { pk: { S: 'new' } } }));
    server.clock.advance(1000);
    const both = (await streams.send(new ListStreamsCommand({ TableName: 'gone' }))).Streams?.map((s) => s.StreamArn);
    assert.deepEqual(both?.sort(), [oldArn, newArn].sort());
    assert.deepEqual(await keysOf(streams, oldArn), ['INSERT:a', 'INSERT:b', 'INSERT:c']);
    assert.deepEqual(await keysOf(streams, newArn), ['INSERT:new']);
    assert.equal(
      (await streams.send(new DescribeStreamCommand({ StreamArn: newArn }))).StreamDescription?.StreamStatus,
      'ENABLED',
    );
    assert.deepEqual((await ddb.send(new ListTablesCommand({}))).TableNames, ['gone']);
    assert.equal((await tablesWithData(server)).length, 2);

    // 24 hours after the delete the old stream and its file are gone; the new table stays.
    server.clock.advance(24 * HOUR);
    await server.sweep();
    await rejectsWith(streams.send(new DescribeStreamCommand({ StreamArn: oldArn })), 'ResourceNotFoundException');
    const shardId = (await allShards(streams, newArn))[0]?.ShardId as string;
    await rejectsWith(
      streams.send(new GetShardIteratorCommand({ StreamArn: oldArn, ShardId: shardId, ShardIteratorType: 'LATEST' })),
      'ResourceNotFoundException',
    );
    assert.deepEqual(
      (await streams.send(new ListStreamsCommand({ TableName: 'gone' }))).Streams?.map((s) => s.StreamArn),
      [newArn],
    );
    assert.deepEqual(await tablesWithData(server), [again.TableDescription?.TableId]);
    assert.equal((await ddb.send(new DescribeTableCommand({ TableName: 'gone' }))).Table?.TableStatus, 'ACTIVE');
  });

  it('is removed after a restart too, when its file was never reopened', async () => {
    await ddb.send(table('restarted', true));
    await ddb.send(new PutItemCommand({ TableName: 'restarted', Item: { pk: { S: 'r' } } }));
    const arn = (await streams.send(new ListStreamsCommand({ TableName: 'restarted' }))).Streams?.[0]
      ?.StreamArn as string;
    await ddb.send(new DeleteTableCommand({ TableName: 'restarted' }));
    const files = (await tablesWithData(server)).length;
    await server.close();
    server = await startTestServer({
      scratch: server.scratch,
      dataDir: server.dataDir,
      rootKeyFile: server.rootKeyFile,
      clock: server.clock,
    });
    ddb = new DynamoDBClient(server.clientConfig());
    streams = streamsClient(server);
    assert.equal(
      (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.StreamStatus,
      'DISABLED',
    );
    server.clock.advance(24 * HOUR);
    await server.sweep();
    await rejectsWith(streams.send(new ListStreamsCommand({ TableName: 'restarted' })), 'ResourceNotFoundException');
    assert.equal((await tablesWithData(server)).length, files - 1);
  });

  it('of a table with no stream: the table goes at once, file and all', async () => {
    const before = (await tablesWithData(server)).length;
    await ddb.send(table('plain', false));
    // An item, so that the table has rows over the engine too.
    await ddb.send(new PutItemCommand({ TableName: 'plain', Item: { pk: { S: 'p' } } }));
    assert.equal((await tablesWithData(server)).length, before + 1);
    await ddb.send(new DeleteTableCommand({ TableName: 'plain' }));
    assert.equal((await tablesWithData(server)).length, before);
    await rejectsWith(streams.send(new ListStreamsCommand({ TableName: 'plain' })), 'ResourceNotFoundException');
  });

  it('is unreadable, as the table was, once its KMS key is disabled', async () => {
    const kms = new KMSClient(server.clientConfig());
    const key = await createKey(kms);
    const created = await ddb.send(table('keyed', true, key.id));
    const arn = created.TableDescription?.LatestStreamArn as string;
    await ddb.send(new PutItemCommand({ TableName: 'keyed', Item: { pk: { S: 'k' } } }));
    await ddb.send(new DeleteTableCommand({ TableName: 'keyed' }));
    assert.deepEqual(await keysOf(streams, arn), ['INSERT:k']);
    await kms.send(new DisableKeyCommand({ KeyId: key.id }));
    // Past the table-key cache's refresh: the next read asks KMS as the caller.
    server.clock.advance(6 * 60 * 1000);
    const shardId = (await allShards(streams, arn))[0]?.ShardId as string;
    await rejectsWith(
      streams.send(
        new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
      ),
      'AccessDeniedException',
      /DisabledException/,
    );
  });
});
