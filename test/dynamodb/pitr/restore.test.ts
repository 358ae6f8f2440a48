import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  RestoreTableToPointInTimeCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createOrders, tableActive } from '../backups/helpers.js';
import { allItems, enablePitr, type Item, modelItems } from './helpers.js';

const order = (pk: string, sk: string, status: string, total: number): Item => ({
  pk: { S: pk },
  sk: { S: sk },
  status: { S: status },
  total: { N: String(total) },
});
const id = (item: Item) => `${item.pk?.S}/${item.sk?.S}`;

/** RestoreTableToPointInTime to several seconds around a burst of writes (the clock moved, not slept). */
/** An instant as DynamoDB's messages quote it, to the second. */
const seconds = (ms: number): string => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;

describe('restore to a point in time', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  /** The model of the table after each second of writes, and the instant it held. */
  const states: { at: number; items: string[]; open: number }[] = [];
  let beforeHistory: number;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    await createOrders(ddb, 'Orders');
    const model = new Map<string, Item>();
    const put = async (item: Item) => {
      await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: item }));
      model.set(id(item), item);
    };
    for (let i = 0; i < 20; i++) await put(order(`c${i % 4}`, `o${i}`, i % 2 ? 'open' : 'shipped', i));
    beforeHistory = server.clock.now() - 1000;
    server.clock.advance(1000);
    await enablePitr(ddb, 'Orders');
    const record = () =>
      states.push({
        at: server.clock.now(),
        items: modelItems(model),
        open: [...model.values()].filter((i) => i.status?.S === 'open').length,
      });
    record();
    // Five seconds of writes of every kind: puts, updates, deletes, a batch, a transaction.
    for (let second = 0; second < 5; second++) {
      server.clock.advance(1000);
      for (let n = 0; n < 6; n++) await put(order(`c${n % 4}`, `s${second}-${n}`, 'open', second * 10 + n));
      const target = order(`c${second % 4}`, `o${second}`, 'open', 0);
      await ddb.send(
        new UpdateItemCommand({
          TableName: 'Orders',
          Key: { pk: target.pk as Item[string], sk: target.sk as Item[string] },
          UpdateExpression: 'SET #s = :s, #t = :t',
          ExpressionAttributeNames: { '#s': 'status', '#t': 'total' },
          ExpressionAttributeValues: { ':s': { S: 'returned' }, ':t': { N: String(100 + second) } },
        }),
      );
      model.set(id(target), { ...target, status: { S: 'returned' }, total: { N: String(100 + second) } });
      const gone = order(`c${(second + 1) % 4}`, `o${second + 10}`, '', 0);
      await ddb.send(
        new DeleteItemCommand({
          TableName: 'Orders',
          Key: { pk: gone.pk as Item[string], sk: gone.sk as Item[string] },
        }),
      );
      model.delete(id(gone));
      const batch = [order('b', `b${second}-1`, 'open', 1), order('b', `b${second}-2`, 'shipped', 2)];
      await ddb.send(
        new BatchWriteItemCommand({ RequestItems: { Orders: batch.map((Item) => ({ PutRequest: { Item } })) } }),
      );
      for (const item of batch) model.set(id(item), item);
      const tx = order('t', `t${second}`, 'open', 7);
      await ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            { Put: { TableName: 'Orders', Item: tx } },
            { Delete: { TableName: 'Orders', Key: { pk: { S: 'c0' }, sk: { S: `s${second}-0` } } } },
          ],
        }),
      );
      model.set(id(tx), tx);
      model.delete(`c0/s${second}-0`);
      record();
    }
    // LatestRestorableDateTime is 5 minutes behind the current time: every second above restorable.
    server.clock.advance(1000 + 5 * 60_000);
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('each second restores to exactly the items, and the index entries, of that second', async () => {
    for (const [n, state] of states.entries()) {
      const name = `Orders-at-${n}`;
      const { TableDescription } = await ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Orders',
          TargetTableName: name,
          RestoreDateTime: new Date(state.at),
        }),
      );
      assert.equal(TableDescription?.TableStatus, 'CREATING');
      assert.equal(TableDescription?.RestoreSummary?.RestoreInProgress, true);
      assert.equal(TableDescription?.RestoreSummary?.SourceBackupArn, undefined);
      assert.match(TableDescription?.RestoreSummary?.SourceTableArn ?? '', /:table\/Orders$/);
      assert.equal(TableDescription?.RestoreSummary?.RestoreDateTime?.getTime(), state.at);
      const restored = await tableActive(ddb, name);
      assert.equal(restored.ItemCount, state.items.length, `item count at second ${n}`);
      assert.equal(restored.RestoreSummary?.RestoreInProgress, false);
      assert.deepEqual(await allItems(ddb, name), state.items, `items at second ${n}`);
      // The GSI was rebuilt from the image: it counts the open orders of that second.
      const open = await ddb.send(
        new QueryCommand({
          TableName: name,
          IndexName: 'byStatus',
          KeyConditionExpression: '#s = :o',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':o': { S: 'open' } },
          Select: 'COUNT',
        }),
      );
      assert.equal(open.Count, state.open, `open orders at second ${n}`);
      const byTotal = await ddb.send(
        new QueryCommand({
          TableName: name,
          IndexName: 'byTotal',
          KeyConditionExpression: 'pk = :p',
          ExpressionAttributeValues: { ':p': { S: 'b' } },
          Select: 'COUNT',
        }),
      );
      assert.equal(byTotal.Count, n * 2, `LSI entries of partition b at second ${n}`);
    }
  });

  it('a time between two seconds of writes restores the earlier second; UseLatestRestorableTime the current table', async () => {
    const between = (states[2]?.at as number) + 500;
    await ddb.send(
      new RestoreTableToPointInTimeCommand({
        SourceTableArn: (await ddb.send(new DescribeTableCommand({ TableName: 'Orders' }))).Table?.TableArn,
        TargetTableName: 'Between',
        RestoreDateTime: new Date(between),
      }),
    );
    await tableActive(ddb, 'Between');
    assert.deepEqual(await allItems(ddb, 'Between'), states[2]?.items);
    await ddb.send(
      new RestoreTableToPointInTimeCommand({
        SourceTableName: 'Orders',
        TargetTableName: 'Latest',
        UseLatestRestorableTime: true,
      }),
    );
    await tableActive(ddb, 'Latest');
    assert.deepEqual(await allItems(ddb, 'Latest'), await allItems(ddb, 'Orders'));
  });

  it('refuses times outside the window, unknown tables, existing targets and bad argument sets', async () => {
    const pitr = (await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Orders' })))
      .ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
    const earliest = pitr?.EarliestRestorableDateTime?.getTime() as number;
    assert.ok(earliest > beforeHistory);
    // Before the history, in the future, and within the last 5 minutes (after LatestRestorableDateTime).
    for (const at of [beforeHistory, earliest - 1, server.clock.now() + 60_000, server.clock.now() - 60_000]) {
      await rejectsWith(
        ddb.send(
          new RestoreTableToPointInTimeCommand({
            SourceTableName: 'Orders',
            TargetTableName: 'Never',
            RestoreDateTime: new Date(at),
          }),
        ),
        'InvalidRestoreTimeException',
        /^RestoreDateTime '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ' must be within EarliestRestorableDateTime '[^']+Z' and LatestRestorableDateTime '[^']+Z'$/,
      );
    }
    await rejectsWith(
      ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Missing',
          TargetTableName: 'Never',
          UseLatestRestorableTime: true,
        }),
      ),
      'TableNotFoundException',
      'Table not found: Missing',
    );
    await rejectsWith(
      ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Orders',
          TargetTableName: 'Orders-at-0',
          UseLatestRestorableTime: true,
        }),
      ),
      'TableAlreadyExistsException',
      'Table already exists: Orders-at-0',
    );
    // A restored table does not inherit PITR ("Point in time recovery settings" are set again).
    await rejectsWith(
      ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Orders-at-0',
          TargetTableName: 'Never',
          UseLatestRestorableTime: true,
        }),
      ),
      'PointInTimeRecoveryUnavailableException',
      "Point in time recovery is not enabled for table 'Orders-at-0'",
    );
    await rejectsWith(
      ddb.send(new RestoreTableToPointInTimeCommand({ TargetTableName: 'Never', UseLatestRestorableTime: true })),
      'ValidationException',
      'Invalid Request: Must provide exactly one of: sourceTableArn, sourceTableName',
    );
    await rejectsWith(
      ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Orders',
          TargetTableName: 'Never',
          UseLatestRestorableTime: true,
          RestoreDateTime: new Date(),
        }),
      ),
      'ValidationException',
      'Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set for point-in-time restore ' +
        'request. Please specify either RestoreDateTime time or UseLatestRestorableTime',
    );
    await rejectsWith(
      ddb.send(new RestoreTableToPointInTimeCommand({ SourceTableName: 'Orders', TargetTableName: 'Never' })),
      'ValidationException',
      'Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, but not both',
    );
    // The time is checked before the target (as the live service does).
    await rejectsWith(
      ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Orders',
          TargetTableName: 'Orders-at-0',
          RestoreDateTime: new Date(beforeHistory),
        }),
      ),
      'InvalidRestoreTimeException',
      new RegExp(
        `^RestoreDateTime '${seconds(beforeHistory)}' must be within EarliestRestorableDateTime '${seconds(earliest)}' ` +
          `and LatestRestorableDateTime '[^']+Z'$`,
      ),
    );
  });
});
