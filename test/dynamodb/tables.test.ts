import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeEndpointsCommand,
  DescribeLimitsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith as rejects } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const hashTable = (TableName: string) =>
  new CreateTableCommand({
    TableName,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });

describe('table operations', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('creates, describes and deletes a table', async () => {
    const created = await ddb.send(
      new CreateTableCommand({
        TableName: 'Books',
        AttributeDefinitions: [
          { AttributeName: 'author', AttributeType: 'S' },
          { AttributeName: 'year', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'author', KeyType: 'HASH' },
          { AttributeName: 'year', KeyType: 'RANGE' },
        ],
        ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 7 },
      }),
    );
    const description = created.TableDescription;
    assert.equal(description?.TableStatus, 'CREATING');
    assert.equal(description?.TableName, 'Books');
    assert.equal(description?.TableArn, 'arn:aws:dynamodb:us-east-1:000000000000:table/Books');
    assert.match(description?.TableId ?? '', /^[0-9a-f-]{36}$/);
    assert.deepEqual(description?.ProvisionedThroughput, {
      NumberOfDecreasesToday: 0,
      ReadCapacityUnits: 5,
      WriteCapacityUnits: 7,
    });
    assert.ok(description?.CreationDateTime instanceof Date);

    const described = await ddb.send(new DescribeTableCommand({ TableName: 'Books' }));
    assert.equal(described.Table?.TableStatus, 'ACTIVE');
    assert.equal(described.Table?.ItemCount, 0);
    assert.deepEqual(described.Table?.KeySchema, description?.KeySchema);

    await ddb.send(new PutItemCommand({ TableName: 'Books', Item: { author: { S: 'Le Guin' }, year: { N: '1969' } } }));
    const byArn = await ddb.send(new DescribeTableCommand({ TableName: description?.TableArn }));
    assert.equal(byArn.Table?.ItemCount, 1);
    assert.ok((byArn.Table?.TableSizeBytes ?? 0) > 0);

    const deleted = await ddb.send(new DeleteTableCommand({ TableName: 'Books' }));
    assert.equal(deleted.TableDescription?.TableStatus, 'DELETING');
    await rejects(
      ddb.send(new DescribeTableCommand({ TableName: 'Books' })),
      'ResourceNotFoundException',
      'Requested resource not found: Table: Books not found',
    );
  });

  it('refuses a table that already exists and one that does not exist', async () => {
    await ddb.send(hashTable('Twice'));
    await rejects(ddb.send(hashTable('Twice')), 'ResourceInUseException', 'Table already exists: Twice');
    await rejects(ddb.send(new DeleteTableCommand({ TableName: 'Nope' })), 'ResourceNotFoundException');
    await rejects(
      ddb.send(new PutItemCommand({ TableName: 'Nope', Item: { id: { S: 'x' } } })),
      'ResourceNotFoundException',
    );
  });

  it('validates CreateTable input as DynamoDB does', async () => {
    await rejects(
      ddb.send(hashTable('ab')),
      'ValidationException',
      /Value 'ab' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3/,
    );
    await rejects(
      ddb.send(hashTable('bad name!')),
      'ValidationException',
      /Member must satisfy regular expression pattern: \[a-zA-Z0-9_.-\]\+/,
    );
    await rejects(
      ddb.send(
        new CreateTableCommand({
          TableName: 'NoThroughput',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
    );
    await rejects(
      ddb.send(
        new CreateTableCommand({
          TableName: 'Undefined',
          AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [id], AttributeDefinitions: [a]',
    );
    await rejects(
      ddb.send(
        new CreateTableCommand({
          TableName: 'RangeFirst',
          AttributeDefinitions: [
            { AttributeName: 'a', AttributeType: 'S' },
            { AttributeName: 'b', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'a', KeyType: 'RANGE' },
            { AttributeName: 'b', KeyType: 'HASH' },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      ),
      'ValidationException',
      'Invalid KeySchema: The first KeySchemaElement is not a HASH key type',
    );
    await rejects(
      ddb.send(
        new CreateTableCommand({
          TableName: 'ExtraDefinition',
          AttributeDefinitions: [
            { AttributeName: 'id', AttributeType: 'S' },
            { AttributeName: 'other', AttributeType: 'S' },
          ],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      ),
      'ValidationException',
      'One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
    );
    await rejects(
      ddb.send(
        new CreateTableCommand({
          TableName: 'BothModes',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 },
        }),
      ),
      'ValidationException',
      /Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST/,
    );
    const list = await ddb.send(new ListTablesCommand({}));
    for (const name of ['NoThroughput', 'Undefined', 'RangeFirst', 'ExtraDefinition', 'BothModes']) {
      assert.ok(!list.TableNames?.includes(name), `${name} must not have been created`);
    }
  });

  it('lists tables in pages', async () => {
    const names = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const name of names) await ddb.send(hashTable(name));
    const seen: string[] = [];
    let start: string | undefined;
    let pages = 0;
    do {
      const page = await ddb.send(new ListTablesCommand({ Limit: 2, ExclusiveStartTableName: start }));
      assert.ok((page.TableNames?.length ?? 0) <= 2);
      seen.push(...(page.TableNames ?? []));
      start = page.LastEvaluatedTableName;
      pages++;
    } while (start);
    assert.deepEqual(seen, [...seen].sort());
    for (const name of names) assert.ok(seen.includes(name));
    assert.ok(pages >= 3);
    await rejects(
      ddb.send(new ListTablesCommand({ Limit: 0 })),
      'ValidationException',
      /Member must have value greater than or equal to 1/,
    );
    await rejects(
      ddb.send(new ListTablesCommand({ Limit: 101 })),
      'ValidationException',
      /Member must have value less than or equal to 100/,
    );
  });

  it('updates billing mode and provisioned throughput', async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Throughput',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
      }),
    );
    await rejects(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'Throughput',
          ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
        }),
      ),
      'ValidationException',
      /The provisioned throughput for the table will not change/,
    );
    server.clock.advance(1000);
    const raised = await ddb.send(
      new UpdateTableCommand({
        TableName: 'Throughput',
        ProvisionedThroughput: { ReadCapacityUnits: 10, WriteCapacityUnits: 2 },
      }),
    );
    assert.equal(raised.TableDescription?.TableStatus, 'UPDATING');
    const pt = raised.TableDescription?.ProvisionedThroughput;
    assert.equal(pt?.ReadCapacityUnits, 10);
    assert.equal(pt?.WriteCapacityUnits, 2);
    assert.equal(pt?.NumberOfDecreasesToday, 1);
    assert.ok(pt?.LastIncreaseDateTime instanceof Date);

    const onDemand = await ddb.send(
      new UpdateTableCommand({ TableName: 'Throughput', BillingMode: 'PAY_PER_REQUEST' }),
    );
    assert.equal(onDemand.TableDescription?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.equal(onDemand.TableDescription?.ProvisionedThroughput?.ReadCapacityUnits, 0);
    await rejects(
      ddb.send(new UpdateTableCommand({ TableName: 'Throughput', BillingMode: 'PROVISIONED' })),
      'ValidationException',
      'One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED',
    );
    await rejects(
      ddb.send(new UpdateTableCommand({ TableName: 'Throughput' })),
      'ValidationException',
      /At least one of/,
    );
    const described = await ddb.send(new DescribeTableCommand({ TableName: 'Throughput' }));
    assert.equal(described.Table?.TableStatus, 'ACTIVE');
    assert.equal(described.Table?.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
  });

  it('honours deletion protection', async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Protected',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
      }),
    );
    await rejects(
      ddb.send(new DeleteTableCommand({ TableName: 'Protected' })),
      'ValidationException',
      /protected against deletion/,
    );
    await ddb.send(new UpdateTableCommand({ TableName: 'Protected', DeletionProtectionEnabled: false }));
    await ddb.send(new DeleteTableCommand({ TableName: 'Protected' }));
  });

  it('tags tables', async () => {
    const created = await ddb.send(hashTable('Tagged'));
    const arn = created.TableDescription?.TableArn as string;
    await ddb.send(
      new TagResourceCommand({
        ResourceArn: arn,
        Tags: [
          { Key: 'team', Value: 'a' },
          { Key: 'env', Value: 'dev' },
        ],
      }),
    );
    await ddb.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'team', Value: 'b' }] }));
    await ddb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['env'] }));
    const tags = await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: arn }));
    assert.deepEqual(tags.Tags, [{ Key: 'team', Value: 'b' }]);
    await rejects(
      ddb.send(new ListTagsOfResourceCommand({ ResourceArn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Missing' })),
      'ResourceNotFoundException',
      'Requested resource not found: ResourceArn: arn:aws:dynamodb:us-east-1:000000000000:table/Missing not found',
    );
    await rejects(
      ddb.send(new ListTagsOfResourceCommand({ ResourceArn: 'not-an-arn' })),
      'ValidationException',
      "One or more parameter values were invalid: ARNs must start with 'arn:': not-an-arn",
    );
  });

  it('describes endpoints and limits', async () => {
    const endpoints = await ddb.send(new DescribeEndpointsCommand({}));
    assert.deepEqual(endpoints.Endpoints, [
      { Address: 'dynamodb.us-east-1.amazonaws.com', CachePeriodInMinutes: 1440 },
    ]);
    const limits = await ddb.send(new DescribeLimitsCommand({}));
    assert.equal(limits.TableMaxReadCapacityUnits, 40000);
    assert.equal(limits.AccountMaxWriteCapacityUnits, 80000);
  });
});
