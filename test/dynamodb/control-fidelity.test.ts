/**
 * Issue 11, items 9–12 (first half): table control-plane fidelity (key schemas, DeleteTable's
 * description, one clock reading per new table), tags and tag ARNs, validation before the table
 * lookup on the data plane, and StreamSpecification in CreateTable.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type Tag,
  TagResourceCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UntagResourceCommand,
  UpdateItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { ManualClock } from '../../src/core/clock.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ACCOUNT = '000000000000';
const arnOf = (name: string, region = 'us-east-1', account = ACCOUNT) =>
  `arn:aws:dynamodb:${region}:${account}:table/${name}`;

const hashTable = (TableName: string, extra: Partial<CreateTableCommandInput> = {}) =>
  new CreateTableCommand({
    TableName,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...extra,
  });

const numberedTags = (from: number, to: number): Tag[] =>
  Array.from({ length: to - from }, (_, i) => ({ Key: `k${from + i}`, Value: `v${from + i}` }));

describe('control-plane fidelity (issue 11)', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  // Every reading of this clock is one millisecond later, so two readings never agree.
  let ticks = 1_700_000_000_000;
  before(async () => {
    server = await startTestServer({ clock: new ManualClock({ now: () => ticks++ }) });
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const tableNames = async () => (await ddb.send(new ListTablesCommand({}))).TableNames ?? [];

  describe('CreateTable key schemas (item 9)', () => {
    it('refuses more than one HASH and one RANGE element with the model constraint', async () => {
      await rejectsWith(
        ddb.send(
          new CreateTableCommand({
            TableName: 'ThreeKeys',
            AttributeDefinitions: [
              { AttributeName: 'a', AttributeType: 'S' },
              { AttributeName: 'b', AttributeType: 'S' },
              { AttributeName: 'c', AttributeType: 'S' },
            ],
            KeySchema: [
              { AttributeName: 'a', KeyType: 'HASH' },
              { AttributeName: 'b', KeyType: 'RANGE' },
              { AttributeName: 'c', KeyType: 'RANGE' },
            ],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        ),
        'ValidationException',
        /^1 validation error detected: Value '\[com\.amazonaws\.dynamodb\.v20120810\.KeySchemaElement@[0-9a-f]+, com\.amazonaws\.dynamodb\.v20120810\.KeySchemaElement@[0-9a-f]+, com\.amazonaws\.dynamodb\.v20120810\.KeySchemaElement@[0-9a-f]+\]' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2$/,
      );
      assert.ok(!(await tableNames()).includes('ThreeKeys'));
    });

    it('refuses malformed two-element schemas with DynamoDB messages', async () => {
      const twoKeys = (first: 'HASH' | 'RANGE', second: 'HASH' | 'RANGE') =>
        new CreateTableCommand({
          TableName: 'BadKeys',
          AttributeDefinitions: [
            { AttributeName: 'a', AttributeType: 'S' },
            { AttributeName: 'b', AttributeType: 'S' },
          ],
          KeySchema: [
            { AttributeName: 'a', KeyType: first },
            { AttributeName: 'b', KeyType: second },
          ],
          BillingMode: 'PAY_PER_REQUEST',
        });
      await rejectsWith(
        ddb.send(twoKeys('HASH', 'HASH')),
        'ValidationException',
        'Invalid KeySchema: The second KeySchemaElement is not a RANGE key type',
      );
      await rejectsWith(
        ddb.send(twoKeys('RANGE', 'RANGE')),
        'ValidationException',
        'Invalid KeySchema: The first KeySchemaElement is not a HASH key type',
      );
      await rejectsWith(
        ddb.send(
          new CreateTableCommand({
            TableName: 'BadKeys',
            AttributeDefinitions: [{ AttributeName: 'a', AttributeType: 'S' }],
            KeySchema: [{ AttributeName: 'a', KeyType: 'RANGE' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        ),
        'ValidationException',
        'Invalid KeySchema: The first KeySchemaElement is not a HASH key type',
      );
      await rejectsWith(
        ddb.send(
          new CreateTableCommand({
            TableName: 'BadKeys',
            AttributeDefinitions: [
              { AttributeName: 'pk', AttributeType: 'S' },
              { AttributeName: 'pk', AttributeType: 'S' },
            ],
            KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
            BillingMode: 'PAY_PER_REQUEST',
          }),
        ),
        'ValidationException',
        'Attribute Name is duplicated: pk',
      );
      assert.ok(!(await tableNames()).includes('BadKeys'));
    });

    it('takes all timestamps of a new table from one clock reading', async () => {
      const created = await ddb.send(hashTable('OneReading'));
      const description = created.TableDescription;
      assert.ok(description?.CreationDateTime instanceof Date);
      assert.equal(
        description?.BillingModeSummary?.LastUpdateToPayPerRequestDateTime?.getTime(),
        description?.CreationDateTime?.getTime(),
      );
      const described = (await ddb.send(new DescribeTableCommand({ TableName: 'OneReading' }))).Table;
      assert.equal(
        described?.BillingModeSummary?.LastUpdateToPayPerRequestDateTime?.getTime(),
        described?.CreationDateTime?.getTime(),
      );
    });

    it("answers DeleteTable with DynamoDB's members only", async () => {
      await ddb.send(
        new CreateTableCommand({
          TableName: 'Deleted',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
        }),
      );
      const deleted = (await ddb.send(new DeleteTableCommand({ TableName: 'Deleted' }))).TableDescription;
      assert.equal(deleted?.TableName, 'Deleted');
      assert.equal(deleted?.TableStatus, 'DELETING');
      assert.equal(deleted?.TableArn, arnOf('Deleted'));
      assert.match(deleted?.TableId ?? '', /^[0-9a-f-]{36}$/);
      assert.deepEqual(deleted?.ProvisionedThroughput, {
        NumberOfDecreasesToday: 0,
        ReadCapacityUnits: 5,
        WriteCapacityUnits: 5,
      });
      assert.equal(deleted?.ItemCount, 0);
      assert.equal(deleted?.TableSizeBytes, 0);
      assert.equal(deleted?.DeletionProtectionEnabled, false);
      assert.equal(deleted?.CreationDateTime, undefined);
      assert.equal(deleted?.KeySchema, undefined);
      assert.equal(deleted?.AttributeDefinitions, undefined);
    });
  });

  describe('tags (item 10)', () => {
    let arn: string;
    before(async () => {
      arn = (await ddb.send(hashTable('Tags'))).TableDescription?.TableArn as string;
    });
    const tagsOf = async (resource = arn) =>
      (await ddb.send(new ListTagsOfResourceCommand({ ResourceArn: resource }))).Tags ?? [];
    const untagAll = async () => {
      const keys = (await tagsOf()).map((t) => t.Key as string);
      if (keys.length > 0) await ddb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: keys }));
    };
    const tag = (Tags: Tag[], ResourceArn = arn) => ddb.send(new TagResourceCommand({ ResourceArn, Tags }));
    const LIMIT = 'Number of Tags exceed the current limit for the provided ResourceArn';

    it('allows 50 tags per table, counted after the merge', async () => {
      await untagAll();
      await rejectsWith(tag(numberedTags(0, 51)), 'ValidationException', LIMIT);
      assert.deepEqual(await tagsOf(), []);
      await tag(numberedTags(0, 50));
      assert.equal((await tagsOf()).length, 50);
      // Overwriting existing keys keeps the count at 50.
      await tag([{ Key: 'k0', Value: 'changed' }]);
      await rejectsWith(tag([{ Key: 'k50', Value: 'v' }]), 'ValidationException', LIMIT);
      await rejectsWith(
        tag([
          { Key: 'k1', Value: 'new' },
          { Key: 'k51', Value: 'v' },
        ]),
        'ValidationException',
        LIMIT,
      );
      const tags = await tagsOf();
      assert.equal(tags.length, 50);
      assert.ok(tags.some((t) => t.Key === 'k0' && t.Value === 'changed'));
      assert.ok(
        tags.some((t) => t.Key === 'k1' && t.Value === 'v1'),
        'a refused request changes nothing',
      );
      await rejectsWith(
        ddb.send(
          new UntagResourceCommand({ ResourceArn: arn, TagKeys: numberedTags(0, 51).map((t) => t.Key as string) }),
        ),
        'ValidationException',
        LIMIT,
      );
      assert.equal((await tagsOf()).length, 50);
      await untagAll();
    });

    it('refuses more than 50 tags in CreateTable and creates nothing', async () => {
      await rejectsWith(
        ddb.send(hashTable('TooManyTags', { Tags: numberedTags(0, 51) })),
        'ValidationException',
        LIMIT,
      );
      assert.ok(!(await tableNames()).includes('TooManyTags'));
      const created = await ddb.send(hashTable('FiftyTags', { Tags: numberedTags(0, 50) }));
      assert.equal((await tagsOf(created.TableDescription?.TableArn)).length, 50);
    });

    it('checks key and value lengths and characters in Unicode characters', async () => {
      await untagAll();
      const longKey = 'k'.repeat(129);
      await rejectsWith(
        tag([{ Key: longKey, Value: 'dog' }]),
        'ValidationException',
        `The Tag Key provided is invalid, Key: ${longKey}`,
      );
      await rejectsWith(
        tag([{ Key: '', Value: 'dog' }]),
        'ValidationException',
        'The Tag Key provided is invalid, Key: ',
      );
      const longValue = 'v'.repeat(257);
      await rejectsWith(
        tag([{ Key: 'dog', Value: longValue }]),
        'ValidationException',
        `The Tag Value provided is invalid, Value: ${longValue}`,
      );
      await rejectsWith(
        tag([{ Key: 'dog' } as Tag]),
        'ValidationException',
        'The Tag Value provided is invalid, Value: null',
      );
      await rejectsWith(
        tag([{ Key: 'bad#char', Value: 'x' }]),
        'ValidationException',
        'The Tag Key provided is invalid, Key: bad#char',
      );
      for (const value of ['a,b', '100%', '🔑', '<a>', 'a|b']) {
        await rejectsWith(
          tag([{ Key: 'ok', Value: value }]),
          'ValidationException',
          `The Tag Value provided is invalid, Value: ${value}`,
        );
      }
      await rejectsWith(
        ddb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: [longKey] })),
        'ValidationException',
        `The Tag Key provided is invalid, Key: ${longKey}`,
      );
      assert.deepEqual(await tagsOf(), []);

      const accepted: Tag[] = [
        { Key: 'א'.repeat(128), Value: 'ѮѮ'.repeat(128) },
        { Key: 'ключ', Value: 'café' },
        { Key: ' sp ace', Value: 'a b+c-d=e.f_g:h/i@j' },
        { Key: '表', Value: '' },
        { Key: 'myaws:foo', Value: '1\u00a02' },
      ];
      await tag(accepted);
      const stored = await tagsOf();
      for (const t of accepted)
        assert.ok(
          stored.some((s) => s.Key === t.Key && s.Value === t.Value),
          t.Key,
        );
      await untagAll();
    });

    it('refuses aws: keys, duplicates and empty lists, all or nothing', async () => {
      await untagAll();
      for (const key of ['aws:foo', 'AWS:foo']) {
        await rejectsWith(
          tag([
            { Key: 'good', Value: 'x' },
            { Key: key, Value: 'x' },
          ]),
          'ValidationException',
          `Tag Key cannot be prefixed with aws:, Key: ${key}`,
        );
      }
      await rejectsWith(
        ddb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['aws:foo'] })),
        'ValidationException',
        'Tag Key cannot be prefixed with aws:, Key: aws:foo',
      );
      await rejectsWith(
        tag([
          { Key: 'dup', Value: '1' },
          { Key: 'dup', Value: '2' },
        ]),
        'ValidationException',
        'Duplicate Tag Keys provided as input: Duplicate Tag Key found dup',
      );
      await rejectsWith(tag([]), 'ValidationException', 'Atleast one Tag needs to be provided as Input.');
      await rejectsWith(
        ddb.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: [] })),
        'ValidationException',
        'Atleast one Tag Key needs to be provided as Input.',
      );
      await rejectsWith(
        ddb.send(hashTable('AwsTag', { Tags: [{ Key: 'aws:x', Value: 'y' }] })),
        'ValidationException',
        'Tag Key cannot be prefixed with aws:, Key: aws:x',
      );
      assert.ok(!(await tableNames()).includes('AwsTag'));
      assert.deepEqual(await tagsOf(), []);
    });

    it('words ARN errors as DynamoDB does', async () => {
      for (const operation of [
        (resource: string) => ddb.send(new ListTagsOfResourceCommand({ ResourceArn: resource })),
        (resource: string) => tag([{ Key: 'x', Value: 'y' }], resource),
        (resource: string) => ddb.send(new UntagResourceCommand({ ResourceArn: resource, TagKeys: ['x'] })),
      ]) {
        for (const bad of ['not-an-arn', 'Tags']) {
          await rejectsWith(
            operation(bad),
            'ValidationException',
            `One or more parameter values were invalid: ARNs must start with 'arn:': ${bad}`,
          );
        }
        await rejectsWith(
          operation(arnOf('Missing')),
          'ResourceNotFoundException',
          `Requested resource not found: ResourceArn: ${arnOf('Missing')} not found`,
        );
        await rejectsWith(
          operation(arnOf('Tags', 'eu-west-1')),
          'ValidationException',
          `Invalid TableArn: Invalid ResourceArn provided as input ${arnOf('Tags', 'eu-west-1')}`,
        );
        await rejectsWith(
          operation(arnOf('Tags', 'us-east-1', '111111111111')),
          'AccessDeniedException',
          'Access is denied',
        );
        const index = `${arn}/index/byName`;
        await rejectsWith(
          operation(index),
          'ValidationException',
          `One or more parameter values were invalid: Invalid resource arn provided, only table or stream is accepted. Provided resource arn: ${index}`,
        );
        const backup = `${arn}/backup/01700000000000-abcdefgh`;
        await rejectsWith(
          operation(backup),
          'ValidationException',
          `One or more parameter values were invalid: Provided Arn is not a DynamoDB resource arn: ${backup}`,
        );
      }
    });
  });

  describe('validation before the table lookup (item 11)', () => {
    const missing = 'NoSuchTable';
    const badNumber = { id: { N: 'abc' } };
    const NUMBER = /^The parameter cannot be converted to a numeric value: abc$/;

    it('reports malformed values of PutItem, GetItem and DeleteItem before a missing table', async () => {
      await rejectsWith(
        ddb.send(new PutItemCommand({ TableName: missing, Item: badNumber })),
        'ValidationException',
        NUMBER,
      );
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: missing, Key: badNumber })),
        'ValidationException',
        NUMBER,
      );
      await rejectsWith(
        ddb.send(new DeleteItemCommand({ TableName: missing, Key: badNumber })),
        'ValidationException',
        NUMBER,
      );
      await rejectsWith(
        ddb.send(new PutItemCommand({ TableName: missing, Item: { id: { S: 'a' }, s: { SS: [] } } })),
        'ValidationException',
        'One or more parameter values were invalid: An string set  may not be empty',
      );
      await rejectsWith(
        ddb.send(
          new PutItemCommand({ TableName: missing, Item: { id: { S: 'a' }, big: { S: 'x'.repeat(400 * 1024) } } }),
        ),
        'ValidationException',
        'Item size has exceeded the maximum allowed size',
      );
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: missing, Key: { id: {} as never } })),
        'ValidationException',
        'Supplied AttributeValue is empty, must contain exactly one of the supported datatypes',
      );
      // A well-formed request still learns that the table does not exist.
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: missing, Key: { id: { S: 'a' } } })),
        'ResourceNotFoundException',
      );
    });

    it('does so for every other data-plane operation too', async () => {
      await rejectsWith(
        ddb.send(
          new UpdateItemCommand({
            TableName: missing,
            Key: badNumber,
            UpdateExpression: 'SET a = :a',
            ExpressionAttributeValues: { ':a': { S: 'x' } },
          }),
        ),
        'ValidationException',
        NUMBER,
      );
      await rejectsWith(
        ddb.send(
          new QueryCommand({
            TableName: missing,
            KeyConditionExpression: 'id = :v',
            ExpressionAttributeValues: { ':v': { N: 'abc' } },
          }),
        ),
        'ValidationException',
        /The parameter cannot be converted to a numeric value: abc/,
      );
      await rejectsWith(
        ddb.send(new ScanCommand({ TableName: missing, ExclusiveStartKey: badNumber })),
        'ValidationException',
        /The parameter cannot be converted to a numeric value: abc/,
      );
      await rejectsWith(
        ddb.send(new BatchGetItemCommand({ RequestItems: { [missing]: { Keys: [badNumber] } } })),
        'ValidationException',
        NUMBER,
      );
      await rejectsWith(
        ddb.send(new BatchWriteItemCommand({ RequestItems: { [missing]: [{ PutRequest: { Item: badNumber } }] } })),
        'ValidationException',
        NUMBER,
      );
      await rejectsWith(
        ddb.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: missing, Key: badNumber } }] })),
        'ValidationException',
        NUMBER,
      );
      await rejectsWith(
        ddb.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: missing, Item: badNumber } }] })),
        'ValidationException',
        NUMBER,
      );
    });
  });

  describe('StreamSpecification (item 12)', () => {
    // Streams are implemented now (src/streams/; their own tests are under test/streams/).
    it('accepts streams in CreateTable and UpdateTable, refusing what DynamoDB refuses', async () => {
      const created = await ddb.send(
        hashTable('Streamed', { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }),
      );
      assert.deepEqual(created.TableDescription?.StreamSpecification, {
        StreamEnabled: true,
        StreamViewType: 'NEW_IMAGE',
      });
      await rejectsWith(
        ddb.send(
          hashTable('Streamed2', { StreamSpecification: { StreamEnabled: false, StreamViewType: 'NEW_IMAGE' } }),
        ),
        'ValidationException',
        'One or more parameter values were invalid: Table is being created with a stream disabled, UpdateViewType should not be specified',
      );
      assert.ok(!(await tableNames()).includes('Streamed2'));
      const plain = await ddb.send(hashTable('Unstreamed', { StreamSpecification: { StreamEnabled: false } }));
      assert.equal(plain.TableDescription?.StreamSpecification, undefined);
      const updated = await ddb.send(
        new UpdateTableCommand({
          TableName: 'Unstreamed',
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
        }),
      );
      assert.deepEqual(updated.TableDescription?.StreamSpecification, {
        StreamEnabled: true,
        StreamViewType: 'KEYS_ONLY',
      });
    });
  });
});
