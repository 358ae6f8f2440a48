import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { rejectsWith } from '../helpers/assert-aws.js';
import { placesHolding, tablesWithData } from '../helpers/at-rest.js';
import { keepAliveClient } from '../helpers/clients.js';
import { createKey } from '../helpers/kms.js';
import { kmsCallCount } from '../helpers/metrics.js';
import { startTestServer } from '../helpers/server.js';
import { readShard, readStream, streamsClient } from './stream-helpers.js';

const MINUTE = 60_000;

/** Stream records at rest: encrypted with the table, and readable only with the table's key. */
describe('stream records at rest', () => {
  it('leave no record content on disk in plaintext', async () => {
    const server = await startTestServer();
    try {
      const ddb = new DynamoDBClient(server.clientConfig());
      const streams = streamsClient(server);
      const created = await ddb.send(
        new CreateTableCommand({
          TableName: 'canary',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
      const arn = created.TableDescription?.LatestStreamArn as string;
      // After the delete the old values exist only in stream records.
      const secrets = ['CANARY-key-7f3a9c', 'CANARY-first-value-b51e', 'CANARY-second-value-92d4'];
      await ddb.send(
        new PutItemCommand({
          TableName: 'canary',
          Item: { pk: { S: secrets[0] as string }, v: { S: secrets[1] as string } },
        }),
      );
      await ddb.send(
        new UpdateItemCommand({
          TableName: 'canary',
          Key: { pk: { S: secrets[0] as string } },
          UpdateExpression: 'SET v = :v',
          ExpressionAttributeValues: { ':v': { S: secrets[2] as string } },
        }),
      );
      await ddb.send(new DeleteItemCommand({ TableName: 'canary', Key: { pk: { S: secrets[0] as string } } }));
      const records = await readStream(streams, arn);
      assert.equal(records.length, 3);
      assert.equal(records[1]?.dynamodb?.OldImage?.v?.S, secrets[1]);
      // Data-directory files (WAL included), or over the engine its pg_dump.
      const check = async () => {
        assert.ok((await tablesWithData(server)).length > 0, 'the table is at rest');
        for (const secret of [
          ...secrets,
          records[0]?.eventID as string,
          records[2]?.dynamodb?.SequenceNumber as string,
        ]) {
          assert.deepEqual(await placesHolding(server, [secret]), [], secret);
        }
      };
      await check(); // with the write-ahead log still holding the records
      ddb.destroy();
      streams.destroy();
      await server.close();
      await check(); // and once checkpointed into the table file
    } finally {
      await server.cleanup();
    }
  });

  it('are read with the table key through the connection cache, and unreadable once the key is unusable', async () => {
    const server = await startTestServer({ inMemory: true });
    try {
      const kms = new KMSClient(server.clientConfig());
      const key = await createKey(kms);
      const ddb = keepAliveClient(server);
      const created = await ddb.send(
        new CreateTableCommand({
          TableName: 'keyed',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key.id },
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
        }),
      );
      const arn = created.TableDescription?.LatestStreamArn as string;
      await ddb.send(new PutItemCommand({ TableName: 'keyed', Item: { pk: { S: 'a' } } }));
      const streams = new DynamoDBStreamsClient({
        ...server.clientConfig(),
        requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 1 }) }),
      });
      const shardId = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards?.[0]
        ?.ShardId as string;
      const decrypts = await kmsCallCount(server.endpoint, 'Decrypt');
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }),
      );
      const page = await streams.send(new GetRecordsCommand({ ShardIterator }));
      assert.deepEqual(
        page.Records?.map((r) => r.dynamodb?.Keys?.pk?.S),
        ['a'],
      );
      assert.equal((await readShard(streams, arn, shardId)).records.length, 1);
      // One Decrypt of the table key for this connection, whatever the number of reads on it.
      assert.equal((await kmsCallCount(server.endpoint, 'Decrypt')) - decrypts, 1);

      await kms.send(new DisableKeyCommand({ KeyId: key.id }));
      server.clock.advance(5 * MINUTE);
      const denied =
        /^KMS key access denied error: com\.amazonaws\.services\.kms\.model\.DisabledException: arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]+ is disabled\./;
      await rejectsWith(
        streams.send(new GetRecordsCommand({ ShardIterator: page.NextShardIterator })),
        'AccessDeniedException',
        denied,
      );
      await rejectsWith(
        streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shardId, ShardIteratorType: 'LATEST' })),
        'AccessDeniedException',
        denied,
      );
      kms.destroy();
      ddb.destroy();
      streams.destroy();
    } finally {
      await server.cleanup();
    }
  });
});
