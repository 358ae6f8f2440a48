import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  RestoreTableToPointInTimeCommand,
  UpdateContinuousBackupsCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { ManualClock } from '../../../src/core/clock.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { readStream, streamsClient } from '../../streams/stream-helpers.js';
import { tableActive } from '../backups/helpers.js';
import { allItems, canonical, enablePitr, type Item, modelItems } from './helpers.js';

/** How far LatestRestorableDateTime stays behind the current time (5 minutes, as DynamoDB's). */
const LATEST_LAG = 5 * 60_000;

async function restoreAt(ddb: DynamoDBClient, source: string, target: string, at: number): Promise<string[]> {
  await ddb.send(
    new RestoreTableToPointInTimeCommand({
      SourceTableName: source,
      TargetTableName: target,
      RestoreDateTime: new Date(at),
    }),
  );
  await tableActive(ddb, target);
  return allItems(ddb, target);
}

/**
 * The change log is a record log of the table file, beside the stream's: each keeps to its own
 * log number, and the log's order holds within one millisecond and across a restart.
 */
describe('point-in-time recovery change log (record log)', () => {
  it('a table with a stream and PITR, re-enabled both: the stream holds only its records, restores only the changes', async () => {
    const server = await startTestServer();
    const ddb = new DynamoDBClient(server.clientConfig());
    const streams = streamsClient(server);
    try {
      await ddb.send(
        new CreateTableCommand({
          TableName: 'Both',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
      const model = new Map<string, Item>();
      let writes = 0;
      const put = async (id: string, v: number) => {
        const item = { id: { S: id }, v: { N: String(v) } };
        await ddb.send(new PutItemCommand({ TableName: 'Both', Item: item }));
        model.set(id, item);
        writes++;
      };
      // PITR on, off and on again; the stream off and on between: four logs numbered from one counter.
      await enablePitr(ddb, 'Both');
      await put('a', 1);
      await ddb.send(
        new UpdateContinuousBackupsCommand({
          TableName: 'Both',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
        }),
      );
      await ddb.send(new UpdateTableCommand({ TableName: 'Both', StreamSpecification: { StreamEnabled: false } }));
      await ddb.send(
        new UpdateTableCommand({
          TableName: 'Both',
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
      server.clock.advance(1000);
      await enablePitr(ddb, 'Both');
      await server.sweep(); // drops the first enablement's log
      writes = 0;
      server.clock.advance(1000);
      for (let i = 0; i < 30; i++) await put(`k${i % 7}`, i);
      await ddb.send(new DeleteItemCommand({ TableName: 'Both', Key: { id: { S: 'k3' } } }));
      model.delete('k3');
      writes++;
      const at = server.clock.now();
      server.clock.advance(1000);
      await put('late', 1);

      const arn = (await ddb.send(new DescribeTableCommand({ TableName: 'Both' }))).Table?.LatestStreamArn as string;
      const records = await readStream(streams, arn);
      assert.equal(records.length, writes, 'one stream record per write since the stream was re-enabled');
      assert.ok(records.every((r) => r.dynamodb?.Keys?.id?.S !== undefined));
      const lateModel = new Map(model);
      model.delete('late');
      // LatestRestorableDateTime is 5 minutes behind the current time: both instants restorable.
      server.clock.advance(1000 + LATEST_LAG);
      assert.deepEqual(await restoreAt(ddb, 'Both', 'BothAt', at), modelItems(model));
      assert.deepEqual(await restoreAt(ddb, 'Both', 'BothNow', server.clock.now() - LATEST_LAG), modelItems(lateModel));
    } finally {
      streams.destroy();
      ddb.destroy();
      await server.cleanup();
    }
  });

  it('many writes of one millisecond, across a restart, replay in the order they were made', async () => {
    // A clock that stands still unless moved: every write below is stamped with the same millisecond.
    const still = Math.floor(Date.now() / 1000) * 1000;
    const clock = new ManualClock({ now: () => still });
    const first = await startTestServer({ clock });
    let ddb = new DynamoDBClient(first.clientConfig());
    let second: TestServer | undefined;
    try {
      await ddb.send(
        new CreateTableCommand({
          TableName: 'SameMs',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await enablePitr(ddb, 'SameMs');
      first.clock.advance(1000);
      const put = (v: number) =>
        ddb.send(new PutItemCommand({ TableName: 'SameMs', Item: { id: { S: 'one' }, v: { N: String(v) } } }));
      for (let v = 0; v < 50; v++) await put(v);
      const at = first.clock.now();
      ddb.destroy();
      await first.close();
      second = await startTestServer({
        scratch: first.scratch,
        dataDir: first.dataDir,
        rootKeyFile: first.rootKeyFile,
        clock,
      });
      ddb = new DynamoDBClient(second.clientConfig());
      // Still the same millisecond: the reopened log goes on after its last record.
      await put(50);
      await put(51);
      assert.equal(second.clock.now(), at);
      second.clock.advance(1000 + LATEST_LAG);
      assert.deepEqual(await restoreAt(ddb, 'SameMs', 'SameMsAt', at), [
        canonical({ id: { S: 'one' }, v: { N: '51' } }),
      ]);
    } finally {
      ddb.destroy();
      await (second ?? first).cleanup();
    }
  });
});
