import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  RestoreTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { pitrSnapshotsWithData } from '../../helpers/at-rest.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tableActive } from '../backups/helpers.js';
import { allItems, enablePitr } from './helpers.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const snapshotFiles = (server: TestServer) => pitrSnapshotsWithData(server);

async function pitrBytes(server: TestServer, tableArn: string, part: 'log' | 'snapshots'): Promise<number> {
  const text = await (await fetch(`${server.endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`sealdb_pitr_bytes{table="${tableArn}",part="${part}"}`));
  assert.ok(line, `sealdb_pitr_bytes of ${part} for ${tableArn}`);
  return Number(line.split(' ').at(-1));
}

async function ids(ddb: DynamoDBClient, table: string): Promise<number[]> {
  return (await allItems(ddb, table)).map((i) => Number(JSON.parse(i).id.N)).sort((a, b) => a - b);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** History trimmed past the recovery window (clock-driven), and history across a restart. */
describe('point-in-time recovery window', () => {
  it('keeps RecoveryPeriodInDays of history: older snapshots and log entries go, restores inside the window still match', async () => {
    const server = await startTestServer();
    const ddb = new DynamoDBClient(server.clientConfig());
    try {
      await ddb.send(
        new CreateTableCommand({
          TableName: 'Window',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const arn = (await ddb.send(new DescribeTableCommand({ TableName: 'Window' }))).Table?.TableArn as string;
      const put = (i: number) =>
        ddb.send(
          new PutItemCommand({ TableName: 'Window', Item: { id: { N: String(i) }, pad: { S: 'x'.repeat(200) } } }),
        );
      await enablePitr(ddb, 'Window', 1);
      const enabledAt = server.clock.now();
      for (const i of range(0, 20)) await put(i);
      // Over the engine the log's bytes are counted by the sweep (a count there is a fetch).
      if (server.storage) await server.sweep();
      const logAfterFirstDay = await pitrBytes(server, arn, 'log');
      assert.ok(logAfterFirstDay > 20 * 200, `log bytes ${logAfterFirstDay}`);
      // A day and an hour on: a new snapshot; the window (1 day) starts after the enablement now.
      server.clock.advance(DAY + HOUR);
      await server.sweep();
      for (const i of range(20, 30)) await put(i);
      const second = server.clock.now();
      server.clock.advance(MINUTE);
      let window = (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Window' })))
        .ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
      const earliest = window?.EarliestRestorableDateTime?.getTime() as number;
      assert.ok(Math.abs(earliest - (server.clock.now() - DAY)) < 5000, 'earliest = now - RecoveryPeriodInDays');
      assert.ok(earliest > enabledAt);
      await rejectsWith(
        ddb.send(
          new RestoreTableToPointInTimeCommand({
            SourceTableName: 'Window',
            TargetTableName: 'TooOld',
            RestoreDateTime: new Date(enabledAt + MINUTE),
          }),
        ),
        'InvalidRestoreTimeException',
      );
      // Both snapshots are needed still: the window begins before the second one.
      // Over the engine the first snapshot, of the empty table, has no rows to see.
      const both = server.storage ? 1 : 2;
      for (let i = 0; i < 200 && (await snapshotFiles(server)).length < both; i++) await pause(10);
      assert.equal((await snapshotFiles(server)).length, both);

      // Another day on: the first snapshot and the log it holds are past the window.
      server.clock.advance(DAY);
      for (let i = 0; i < 200; i++) {
        await server.sweep();
        if ((await snapshotFiles(server)).length === 2 && (await pitrBytes(server, arn, 'log')) < logAfterFirstDay)
          break;
        await pause(10);
      }
      const files = await snapshotFiles(server);
      assert.equal(files.length, 2, 'the first snapshot went, the second and the new one stay');
      const logNow = await pitrBytes(server, arn, 'log');
      assert.ok(logNow < logAfterFirstDay, `log trimmed: ${logNow} < ${logAfterFirstDay}`);
      assert.ok((await pitrBytes(server, arn, 'snapshots')) > 0);
      window = (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Window' })))
        .ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
      const start = window?.EarliestRestorableDateTime?.getTime() as number;
      // Restorable across the trimmed history: just inside the window (second snapshot + log), and now.
      assert.ok(start > second);
      await ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Window',
          TargetTableName: 'InWindow',
          RestoreDateTime: new Date(start + 1000),
        }),
      );
      await tableActive(ddb, 'InWindow');
      assert.deepEqual(await ids(ddb, 'InWindow'), range(0, 30));
      await rejectsWith(
        ddb.send(
          new RestoreTableToPointInTimeCommand({
            SourceTableName: 'Window',
            TargetTableName: 'TooOld',
            RestoreDateTime: new Date(start - 1000),
          }),
        ),
        'InvalidRestoreTimeException',
      );
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });

  it('history survives a restart: the log goes on where it was, restores before and after it match', async () => {
    const first = await startTestServer();
    let ddb = new DynamoDBClient(first.clientConfig());
    let second: TestServer | undefined;
    try {
      await ddb.send(
        new CreateTableCommand({
          TableName: 'Restarted',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const put = (i: number) =>
        ddb.send(new PutItemCommand({ TableName: 'Restarted', Item: { id: { N: String(i) } } }));
      await enablePitr(ddb, 'Restarted');
      for (const i of range(0, 5)) await put(i);
      const beforeRestart = first.clock.now();
      first.clock.advance(1000);
      ddb.destroy();
      await first.close();
      second = await startTestServer({
        scratch: first.scratch,
        dataDir: first.dataDir,
        rootKeyFile: first.rootKeyFile,
        clock: first.clock,
      });
      ddb = new DynamoDBClient(second.clientConfig());
      for (const i of range(5, 9)) await put(i);
      const afterRestart = second.clock.now();
      second.clock.advance(1000);
      await put(9);
      // LatestRestorableDateTime is 5 minutes behind the current time: both instants restorable.
      second.clock.advance(5 * MINUTE);
      for (const [name, at, want] of [
        ['BeforeRestart', beforeRestart, range(0, 5)],
        ['AfterRestart', afterRestart, range(0, 9)],
      ] as const) {
        await ddb.send(
          new RestoreTableToPointInTimeCommand({
            SourceTableName: 'Restarted',
            TargetTableName: name,
            RestoreDateTime: new Date(at),
          }),
        );
        await tableActive(ddb, name);
        assert.deepEqual(await ids(ddb, name), want, name);
      }
    } finally {
      ddb.destroy();
      await (second ?? first).cleanup();
    }
  });
});
