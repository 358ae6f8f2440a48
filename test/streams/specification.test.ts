import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ListStreamsCommand,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb-streams';
import { STREAM_TRANSITION_MS } from '../../src/streams/definition.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { HOUR, readStream, streamsClient } from './stream-helpers.js';

const KEY = {
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
};

/** StreamSpecification on CreateTable/UpdateTable, DescribeTable's stream members, ListStreams and DescribeStream. */
describe('stream specification and stream listing', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let streams: DynamoDBStreamsClient;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    streams = streamsClient(server);
  });
  after(async () => {
    ddb.destroy();
    streams.destroy();
    await server.cleanup();
  });

  it('CreateTable refuses a stream specification DynamoDB refuses, with its messages', async () => {
    await rejectsWith(
      ddb.send(new CreateTableCommand({ TableName: 'bad1', ...KEY, StreamSpecification: { StreamEnabled: true } })),
      'ValidationException',
      'One or more parameter values were invalid: Table is being created with a stream enabled, UpdateViewType is required',
    );
    await rejectsWith(
      ddb.send(
        new CreateTableCommand({
          TableName: 'bad2',
          ...KEY,
          StreamSpecification: { StreamEnabled: false, StreamViewType: 'KEYS_ONLY' },
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: Table is being created with a stream disabled, UpdateViewType should not be specified',
    );
    await rejectsWith(
      ddb.send(
        new CreateTableCommand({
          TableName: 'bad3',
          ...KEY,
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'Fisk' as StreamViewType },
        }),
      ),
      'ValidationException',
      /^1 validation error detected: Value 'Fisk' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: \[/,
    );
    assert.deepEqual((await streams.send(new ListStreamsCommand({}))).Streams, []);
  });

  it('a table created with each view type describes its stream; one created disabled has none', async () => {
    for (const view of ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES'] as const) {
      const name = `view-${view.toLowerCase()}`;
      const created = await ddb.send(
        new CreateTableCommand({
          TableName: name,
          ...KEY,
          StreamSpecification: { StreamEnabled: true, StreamViewType: view },
        }),
      );
      const table = (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
      assert.deepEqual(table?.StreamSpecification, { StreamEnabled: true, StreamViewType: view });
      assert.match(table?.LatestStreamLabel ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
      assert.equal(table?.LatestStreamArn, `${table?.TableArn}/stream/${table?.LatestStreamLabel}`);
      assert.equal(created.TableDescription?.LatestStreamArn, table?.LatestStreamArn);
      const listed = await streams.send(new ListStreamsCommand({ TableName: name }));
      assert.deepEqual(listed.Streams, [
        { StreamArn: table?.LatestStreamArn, TableName: name, StreamLabel: table?.LatestStreamLabel },
      ]);
      const describe = async () =>
        (await streams.send(new DescribeStreamCommand({ StreamArn: table?.LatestStreamArn }))).StreamDescription;
      // ENABLING for a moment of the clock, then ENABLED (StreamDescription.StreamStatus).
      assert.equal((await describe())?.StreamStatus, 'ENABLING');
      server.clock.advance(STREAM_TRANSITION_MS);
      const described = await describe();
      assert.equal(described?.StreamStatus, 'ENABLED');
      assert.equal(described?.StreamViewType, view);
      assert.equal(described?.TableName, name);
      assert.deepEqual(described?.KeySchema, KEY.KeySchema);
      assert.equal(described?.Shards?.length, 1);
      assert.match(described?.Shards?.[0]?.SequenceNumberRange?.StartingSequenceNumber ?? '', /^\d{21}$/);
      assert.equal(described?.Shards?.[0]?.SequenceNumberRange?.EndingSequenceNumber, undefined);
      assert.ok((described?.CreationRequestDateTime?.getTime() ?? 0) > 0);
    }
    await ddb.send(
      new CreateTableCommand({ TableName: 'plain', ...KEY, StreamSpecification: { StreamEnabled: false } }),
    );
    const plain = (await ddb.send(new DescribeTableCommand({ TableName: 'plain' }))).Table;
    assert.equal(plain?.StreamSpecification, undefined);
    assert.equal(plain?.LatestStreamArn, undefined);
    assert.deepEqual((await streams.send(new ListStreamsCommand({ TableName: 'plain' }))).Streams, []);
  });

  it('UpdateTable enables, refuses a second stream or a type change in place, disables, and re-enables a new stream', async () => {
    await ddb.send(new CreateTableCommand({ TableName: 'cycle', ...KEY }));
    await rejectsWith(
      ddb.send(new UpdateTableCommand({ TableName: 'cycle', StreamSpecification: { StreamEnabled: false } })),
      'ValidationException',
      'Table has no stream to disable: TableName: cycle',
    );
    await rejectsWith(
      ddb.send(new UpdateTableCommand({ TableName: 'cycle', StreamSpecification: { StreamEnabled: true } })),
      'ValidationException',
      'One or more parameter values were invalid: If stream is being enabled then UpdateViewType is required',
    );
    const enabled = await ddb.send(
      new UpdateTableCommand({
        TableName: 'cycle',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
      }),
    );
    const first = enabled.TableDescription?.LatestStreamArn as string;
    assert.ok(first);
    await ddb.send(new PutItemCommand({ TableName: 'cycle', Item: { pk: { S: 'before-disable' } } }));
    for (const view of ['NEW_IMAGE', 'KEYS_ONLY'] as const) {
      await rejectsWith(
        ddb.send(
          new UpdateTableCommand({
            TableName: 'cycle',
            StreamSpecification: { StreamEnabled: true, StreamViewType: view },
          }),
        ),
        'ValidationException',
        'Table already has an enabled stream: TableName: cycle',
      );
    }
    await rejectsWith(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'cycle',
          StreamSpecification: { StreamEnabled: false, StreamViewType: 'KEYS_ONLY' },
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: If stream is being disabled, then UpdateViewType must not be specified',
    );
    await rejectsWith(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'cycle',
          StreamSpecification: { StreamEnabled: false },
          GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'byX' } }],
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: You cannot create or delete index while changing stream status',
    );

    const disabling = await ddb.send(
      new UpdateTableCommand({ TableName: 'cycle', StreamSpecification: { StreamEnabled: false } }),
    );
    // The disabled stream is still the latest one: named by LatestStreamArn, without a StreamSpecification
    // (ScyllaDB's test_streams.py, run against DynamoDB).
    assert.equal(disabling.TableDescription?.LatestStreamArn, first);
    assert.equal(disabling.TableDescription?.StreamSpecification, undefined);
    const disabled = (await ddb.send(new DescribeTableCommand({ TableName: 'cycle' }))).Table;
    assert.equal(disabled?.LatestStreamArn, first);
    assert.equal(disabled?.LatestStreamLabel, first.split('/stream/')[1]);
    assert.equal(disabled?.StreamSpecification, undefined);
    assert.equal(
      (await streams.send(new DescribeStreamCommand({ StreamArn: first }))).StreamDescription?.StreamStatus,
      'DISABLING',
    );
    server.clock.advance(STREAM_TRANSITION_MS);
    // Written while no stream is enabled: in no stream.
    await ddb.send(new PutItemCommand({ TableName: 'cycle', Item: { pk: { S: 'while-disabled' } } }));
    const old = (await streams.send(new DescribeStreamCommand({ StreamArn: first }))).StreamDescription;
    assert.equal(old?.StreamStatus, 'DISABLED');
    assert.match(old?.Shards?.[0]?.SequenceNumberRange?.EndingSequenceNumber ?? '', /^\d{21}$/);

    // A new view type needs a new stream; the old one stays readable.
    const again = await ddb.send(
      new UpdateTableCommand({
        TableName: 'cycle',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
      }),
    );
    const second = again.TableDescription?.LatestStreamArn as string;
    assert.notEqual(second, first);
    await ddb.send(new PutItemCommand({ TableName: 'cycle', Item: { pk: { S: 'after-reenable' }, x: { S: 'y' } } }));
    const listed = (await streams.send(new ListStreamsCommand({ TableName: 'cycle' }))).Streams ?? [];
    assert.deepEqual(listed.map((s) => s.StreamArn).sort(), [first, second].sort());
    const oldRecords = await readStream(streams, first);
    assert.deepEqual(
      oldRecords.map((r) => [r.eventName, r.dynamodb?.Keys?.pk?.S, r.dynamodb?.StreamViewType]),
      [['INSERT', 'before-disable', 'NEW_IMAGE']],
    );
    const newRecords = await readStream(streams, second);
    assert.deepEqual(
      newRecords.map((r) => [r.eventName, r.dynamodb?.Keys?.pk?.S, r.dynamodb?.NewImage]),
      [['INSERT', 'after-reenable', undefined]],
    );

    // 24 hours after it was disabled the old stream has expired: gone from ListStreams and DescribeStream.
    server.clock.advance(24 * HOUR + 1);
    await server.sweep();
    const later = (await streams.send(new ListStreamsCommand({ TableName: 'cycle' }))).Streams ?? [];
    assert.deepEqual(
      later.map((s) => s.StreamArn),
      [second],
    );
    await rejectsWith(
      streams.send(new DescribeStreamCommand({ StreamArn: first })),
      'ResourceNotFoundException',
      `Requested resource not found: Stream: ${first} not found`,
    );
  });

  it('ListStreams pages by stream ARN over all tables, within its limits', async () => {
    const all = (await streams.send(new ListStreamsCommand({}))).Streams ?? [];
    assert.ok(all.length >= 5);
    const paged: string[] = [];
    let start: string | undefined;
    do {
      const page = await streams.send(new ListStreamsCommand({ Limit: 2, ExclusiveStartStreamArn: start }));
      assert.ok((page.Streams ?? []).length <= 2);
      paged.push(...(page.Streams ?? []).map((s) => s.StreamArn as string));
      start = page.LastEvaluatedStreamArn;
    } while (start);
    assert.deepEqual(
      paged,
      all.map((s) => s.StreamArn),
    );
    assert.deepEqual(paged, [...paged].sort());
    await rejectsWith(
      streams.send(new ListStreamsCommand({ Limit: 101 })),
      'ValidationException',
      "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    await rejectsWith(
      streams.send(new ListStreamsCommand({ Limit: 0 })),
      'ValidationException',
      "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1",
    );
    await rejectsWith(
      streams.send(new ListStreamsCommand({ TableName: 'no-such-table' })),
      'ResourceNotFoundException',
      'Requested resource not found: Table: no-such-table not found',
    );
    await rejectsWith(
      streams.send(
        new ListStreamsCommand({ ExclusiveStartStreamArn: 'kossaapaaasdafsdaasdasdasdasasdasfadfadfasdasdas' }),
      ),
      'ValidationException',
      'Invalid StreamArn',
    );
  });

  it('DescribeStream answers a malformed, unknown or foreign stream ARN as DynamoDB does', async () => {
    await rejectsWith(
      streams.send(new DescribeStreamCommand({ StreamArn: 'sdfadfsdfnlfkajakfgjalksfgklasjklasdjfklasdfasdfgasf' })),
      'ValidationException',
      'Invalid StreamArn',
    );
    await rejectsWith(
      streams.send(new DescribeStreamCommand({ StreamArn: 'fake-stream' })),
      'ValidationException',
      "1 validation error detected: Value 'fake-stream' at 'streamArn' failed to satisfy constraint: Member must have length greater than or equal to 37",
    );
    const unknown = 'arn:aws:dynamodb:us-east-1:000000000000:table/cycle/stream/2001-01-01T00:00:00.000';
    await rejectsWith(
      streams.send(new DescribeStreamCommand({ StreamArn: unknown })),
      'ResourceNotFoundException',
      `Requested resource not found: Stream: ${unknown} not found`,
    );
    const table = (await ddb.send(new DescribeTableCommand({ TableName: 'view-keys_only' }))).Table;
    const foreign = (table?.LatestStreamArn ?? '').replace(':000000000000:', ':111122223333:');
    await rejectsWith(
      streams.send(new DescribeStreamCommand({ StreamArn: foreign })),
      'ResourceNotFoundException',
      `Requested resource not found: Stream: ${foreign} not found`,
    );
    await rejectsWith(
      streams.send(new DescribeStreamCommand({ StreamArn: table?.LatestStreamArn, Limit: 101 })),
      'ValidationException',
      "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100",
    );
    // A shard id that names no shard of the stream starts past the end.
    const none = await streams.send(
      new DescribeStreamCommand({
        StreamArn: table?.LatestStreamArn,
        ExclusiveStartShardId: 'zzzzzzzzzzzzzzzzzzzzzzzzsfasdgagadfadfgagkjsdfsfsdjfjks',
      }),
    );
    assert.deepEqual(none.StreamDescription?.Shards, []);
  });
});
