/**
 * The table's state while its GSIs change (TableStatus, what UpdateTable accepts meanwhile), and
 * UpdateItem's index-key checks in DynamoDB's order relative to its condition.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { keepAliveClient } from '../../helpers/clients.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { createOrders } from './fixtures.js';

describe('index states and UpdateItem index-key order', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer({ inMemory: true, indexJobs: { mode: 'manual' } });
    ddb = keepAliveClient(server);
    await createOrders(ddb);
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const tableStatus = async (TableName: string) =>
    (await ddb.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus;
  const drain = async () => {
    while (await server.indexJobsStep()) {}
  };

  async function provisionedWithIndex(TableName: string): Promise<void> {
    await ddb.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'g', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi',
            KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
            ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
          },
        ],
        ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
      }),
    );
    await ddb.send(new PutItemCommand({ TableName, Item: { pk: { S: 'a' }, g: { S: 'x' } } }));
  }

  it('shows the table UPDATING while a GSI is deleted, and refuses IOPS changes meanwhile', async () => {
    await provisionedWithIndex('dropping');
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'dropping',
        GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'gsi' } }],
      }),
    );
    assert.equal(await tableStatus('dropping'), 'UPDATING');
    const iops = `Attempt to change a resource which is still in use: Can't change table IOPS when an index is being deleted. Table: dropping Indexes: [gsi]`;
    await rejectsWith(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'dropping',
          ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 2 },
        }),
      ),
      'ResourceInUseException',
      iops,
    );
    await rejectsWith(
      ddb.send(new UpdateTableCommand({ TableName: 'dropping', BillingMode: 'PAY_PER_REQUEST' })),
      'ResourceInUseException',
      iops,
    );
    // Deletion protection may change meanwhile (DDB-TABLE-376).
    await ddb.send(new UpdateTableCommand({ TableName: 'dropping', DeletionProtectionEnabled: true }));
    await drain();
    assert.equal(await tableStatus('dropping'), 'ACTIVE');
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'dropping',
        ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 2 },
      }),
    );
  });

  it('leaves the table ACTIVE while a new GSI backfills (DynamoDB: UPDATING only before the backfill)', async () => {
    await provisionedWithIndex('growing');
    const response = await ddb.send(
      new UpdateTableCommand({
        TableName: 'growing',
        AttributeDefinitions: [{ AttributeName: 'h', AttributeType: 'S' }],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: 'byH',
              KeySchema: [{ AttributeName: 'h', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'KEYS_ONLY' },
              ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
            },
          },
        ],
      }),
    );
    assert.equal(response.TableDescription?.TableStatus, 'UPDATING');
    const described = (await ddb.send(new DescribeTableCommand({ TableName: 'growing' }))).Table;
    assert.equal(described?.TableStatus, 'ACTIVE');
    const index = described?.GlobalSecondaryIndexes?.find((g) => g.IndexName === 'byH');
    assert.equal(index?.IndexStatus, 'CREATING');
    assert.equal(index?.Backfilling, true);
    // Once the backfill has begun, other updates may go on (the UpdateTable API reference).
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'growing',
        ProvisionedThroughput: { ReadCapacityUnits: 3, WriteCapacityUnits: 3 },
      }),
    );
    await rejectsWith(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'growing',
          GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'gsi' } }],
        }),
      ),
      'LimitExceededException',
      'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table',
    );
    await drain();
  });

  const TYPE_MISMATCH =
    'One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: N IndexName: byStatus';
  const update = (input: Omit<UpdateItemCommandInput, 'TableName'>) =>
    ddb.send(new UpdateItemCommand({ TableName: 'Orders', ...input }));

  it('refuses a statically mistyped index key before the condition, even on a missing item', async () => {
    const key = { pk: { S: 'u1' }, sk: { S: 'a' } };
    for (const input of [
      {
        UpdateExpression: 'SET #s = :n',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':n': { N: '1' } },
      },
      {
        UpdateExpression: 'SET #s = :n + :n',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':n': { N: '1' } },
      },
      {
        UpdateExpression: 'ADD #s :n',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':n': { N: '1' } },
      },
    ]) {
      await rejectsWith(
        update({ Key: key, ...input, ConditionExpression: 'attribute_exists(pk)' }),
        'ValidationException',
        TYPE_MISMATCH,
      );
    }
    await rejectsWith(
      update({
        Key: key,
        AttributeUpdates: { status: { Value: { N: '1' } } },
        Expected: { pk: { Value: { S: 'other' } } },
      }),
      'ValidationException',
      TYPE_MISMATCH,
    );
    // A map lookup into an index key is refused with the request too.
    await rejectsWith(
      update({
        Key: key,
        UpdateExpression: 'SET #s.x = :v',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':v': { S: 'v' } },
        ConditionExpression: 'attribute_exists(pk)',
      }),
      'ValidationException',
      "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: status",
    );
    // TransactWriteItems validates its Update the same way: not a cancellation reason.
    await rejectsWith(
      ddb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: 'Orders',
                Key: key,
                UpdateExpression: 'SET #s = :n',
                ExpressionAttributeNames: { '#s': 'status' },
                ExpressionAttributeValues: { ':n': { N: '1' } },
                ConditionExpression: 'attribute_exists(pk)',
              },
            },
          ],
        }),
      ),
      'ValidationException',
      TYPE_MISMATCH,
    );
  });

  it('checks an index key copied from the item after the condition, with its own message', async () => {
    const key = { pk: { S: 'u2' }, sk: { S: 'a' } };
    await ddb.send(new PutItemCommand({ TableName: 'Orders', Item: { ...key, count: { N: '3' } } }));
    const copy = {
      Key: key,
      UpdateExpression: 'SET #s = #c',
      ExpressionAttributeNames: { '#s': 'status', '#c': 'count' },
    };
    await rejectsWith(
      update({ ...copy, ConditionExpression: 'attribute_not_exists(pk)' }),
      'ConditionalCheckFailedException',
      'The conditional request failed',
    );
    await rejectsWith(
      update(copy),
      'ValidationException',
      'The update expression attempted to update the secondary index key to unsupported type',
    );
  });
});
