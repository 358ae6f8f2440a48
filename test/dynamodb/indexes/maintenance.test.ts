import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createStatusTotal } from './fixtures.js';

/** Index maintenance seen through DescribeTable's per-index counts. */
describe('secondary index maintenance', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await createStatusTotal(ddb, 'Orders');
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  async function counts(): Promise<Record<string, number>> {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Orders' }));
    const result: Record<string, number> = {};
    for (const index of [...(Table?.LocalSecondaryIndexes ?? []), ...(Table?.GlobalSecondaryIndexes ?? [])]) {
      result[index.IndexName as string] = index.ItemCount as number;
    }
    return result;
  }

  it('puts, updates and deletes keep each index exact, and sparse', async () => {
    await ddb.send(
      new PutItemCommand({
        TableName: 'Orders',
        Item: { pk: { S: 'a' }, sk: { S: '1' }, status: { S: 'open' }, total: { N: '5' } },
      }),
    );
    await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { pk: { S: 'a' }, sk: { S: '2' } } }));
    assert.deepEqual(await counts(), { byTotal: 1, byStatus: 1 });
    await ddb.send(
      new UpdateItemCommand({
        TableName: 'Orders',
        Key: { pk: { S: 'a' }, sk: { S: '2' } },
        UpdateExpression: 'SET #s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': { S: 'closed' } },
      }),
    );
    assert.deepEqual(await counts(), { byTotal: 1, byStatus: 2 });
    await ddb.send(
      new UpdateItemCommand({
        TableName: 'Orders',
        Key: { pk: { S: 'a' }, sk: { S: '1' } },
        UpdateExpression: 'REMOVE #s, #t',
        ExpressionAttributeNames: { '#s': 'status', '#t': 'total' },
      }),
    );
    assert.deepEqual(await counts(), { byTotal: 0, byStatus: 1 });
    await ddb.send(new DeleteItemCommand({ TableName: 'Orders', Key: { pk: { S: 'a' }, sk: { S: '2' } } }));
    assert.deepEqual(await counts(), { byTotal: 0, byStatus: 0 });
  });

  it('batch writes and transactions maintain the indexes', async () => {
    await ddb.send(
      new BatchWriteItemCommand({
        RequestItems: {
          Orders: [1, 2, 3].map((n) => ({
            PutRequest: { Item: { pk: { S: 'b' }, sk: { S: `${n}` }, status: { S: 'new' }, total: { N: `${n}` } } },
          })),
        },
      }),
    );
    assert.deepEqual(await counts(), { byTotal: 3, byStatus: 3 });
    await ddb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Delete: { TableName: 'Orders', Key: { pk: { S: 'b' }, sk: { S: '1' } } } },
          { Put: { TableName: 'Orders', Item: { pk: { S: 'c' }, sk: { S: '1' }, status: { S: 'x' } } } },
        ],
      }),
    );
    assert.deepEqual(await counts(), { byTotal: 2, byStatus: 3 });
  });

  it('refuses an index key of the wrong type and writes nothing', async () => {
    await rejectsWith(
      ddb.send(
        new PutItemCommand({
          TableName: 'Orders',
          Item: { pk: { S: 'd' }, sk: { S: '1' }, status: { N: '1' } },
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: N IndexName: byStatus',
    );
    await rejectsWith(
      ddb.send(
        new PutItemCommand({
          TableName: 'Orders',
          Item: { pk: { S: 'd' }, sk: { S: '1' }, status: { S: '' } },
        }),
      ),
      'ValidationException',
      'One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: byStatus, IndexKey: status',
    );
    assert.deepEqual(await counts(), { byTotal: 2, byStatus: 3 });
  });

  it('a Scan of an index pages through its projected entries', async () => {
    const seen: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue>[] = [];
    let start: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
    do {
      const page = await ddb.send(
        new ScanCommand({ TableName: 'Orders', IndexName: 'byTotal', Limit: 1, ExclusiveStartKey: start }),
      );
      seen.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
      if (start) assert.deepEqual(Object.keys(start).sort(), ['pk', 'sk', 'total']);
    } while (start);
    // KEYS_ONLY: the table and index keys, nothing else (status is left out).
    assert.deepEqual(
      seen.sort((x, y) => String(x.sk?.S).localeCompare(String(y.sk?.S))),
      [
        { pk: { S: 'b' }, sk: { S: '2' }, total: { N: '2' } },
        { pk: { S: 'b' }, sk: { S: '3' }, total: { N: '3' } },
      ],
    );
    const all = await ddb.send(new ScanCommand({ TableName: 'Orders', IndexName: 'byStatus' }));
    assert.equal(all.Count, 3);
    assert.ok(all.Items?.every((item) => item.status !== undefined && item.sk !== undefined));
  });
});
