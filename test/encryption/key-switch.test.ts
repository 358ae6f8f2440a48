import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { keepAliveClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Spec = { Enabled: boolean; SSEType?: 'KMS'; KMSMasterKeyId?: string };

describe('switching the key of a live table', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let kms: KMSClient;
  let keyA: string;
  let keyB: string;
  let managedArn: string;
  before(async () => {
    server = await startTestServer({ encryptionChangeLimit: { perDay: 100, intervalMs: 0 } });
    ddb = keepAliveClient(server);
    kms = new KMSClient(server.clientConfig());
    keyA = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    keyB = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  });
  after(async () => {
    ddb.destroy();
    kms.destroy();
    await server.cleanup();
  });

  const owned: Spec = { Enabled: false };
  const managed: Spec = { Enabled: true };
  const customer = (arn: () => string) => (): Spec => ({ Enabled: true, SSEType: 'KMS', KMSMasterKeyId: arn() });

  it('moves in all six directions with reads and writes continuing and no data lost', async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'switching',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const steps: Array<[string, () => Spec, () => string | undefined]> = [
      ['owned → managed', () => managed, () => managedArn],
      ['managed → customer A', customer(() => keyA), () => keyA],
      ['customer A → customer B', customer(() => keyB), () => keyB],
      ['customer B → managed', () => managed, () => managedArn],
      ['managed → owned', () => owned, () => undefined],
      ['owned → customer A', customer(() => keyA), () => keyA],
      ['customer A → owned', () => owned, () => undefined],
    ];
    let written = 0;
    for (const [label, spec, expectedArn] of steps) {
      for (let i = 0; i < 5; i++) {
        await ddb.send(
          new PutItemCommand({ TableName: 'switching', Item: { id: { N: String(written) }, step: { S: label } } }),
        );
        written++;
      }
      const before = (await ddb.send(new DescribeTableCommand({ TableName: 'switching' }))).Table?.SSEDescription
        ?.KMSMasterKeyArn;
      const updated = await ddb.send(new UpdateTableCommand({ TableName: 'switching', SSESpecification: spec() }));
      const sse = updated.TableDescription?.SSEDescription;
      if (label === 'owned → managed') managedArn = sse?.KMSMasterKeyArn as string;
      assert.equal(sse?.Status, 'UPDATING', label);
      // A move to the owned key still names the key being left while it is reported.
      assert.equal(sse?.KMSMasterKeyArn, expectedArn() ?? before, label);
      const described = await ddb.send(new DescribeTableCommand({ TableName: 'switching' }));
      if (expectedArn()) {
        assert.deepEqual(
          described.Table?.SSEDescription,
          { Status: 'ENABLED', SSEType: 'KMS', KMSMasterKeyArn: expectedArn() },
          label,
        );
      } else {
        assert.equal(described.Table?.SSEDescription, undefined, label);
      }
      assert.equal(described.Table?.TableStatus, 'ACTIVE');
      for (let id = 0; id < written; id++) {
        const got = await ddb.send(new GetItemCommand({ TableName: 'switching', Key: { id: { N: String(id) } } }));
        assert.ok(got.Item, `item ${id} readable after ${label}`);
      }
    }
    // Every grant DynamoDB took on the customer keys was retired when the table left them.
    for (const key of [keyA, keyB]) {
      const grants = await kms.send(new ListGrantsCommand({ KeyId: key }));
      assert.equal(grants.Grants?.length ?? 0, 0, `no grants left on ${key}`);
    }
  });

  it('refuses a switch to a key that cannot be used and keeps the old one', async () => {
    await ddb.send(
      new CreateTableCommand({
        TableName: 'stays',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyA },
      }),
    );
    await rejectsWith(
      ddb.send(
        new UpdateTableCommand({
          TableName: 'stays',
          SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: 'alias/nope' },
        }),
      ),
      'ValidationException',
      /^KMS validation error: com\.amazonaws\.services\.kms\.model\.NotFoundException/,
    );
    const described = await ddb.send(new DescribeTableCommand({ TableName: 'stays' }));
    assert.equal(described.Table?.SSEDescription?.KMSMasterKeyArn, keyA);
  });
});

describe('the limit on encryption changes', () => {
  it('allows 4 changes in 24 hours, then one every 6 hours', async () => {
    const server = await startTestServer();
    const ddb = keepAliveClient(server);
    try {
      await ddb.send(
        new CreateTableCommand({
          TableName: 'limited',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const flip = (enabled: boolean) =>
        ddb.send(new UpdateTableCommand({ TableName: 'limited', SSESpecification: { Enabled: enabled } }));
      for (let i = 0; i < 4; i++) {
        await flip(i % 2 === 0);
        server.clock.advance(60_000);
      }
      await rejectsWith(
        flip(true),
        'LimitExceededException',
        /^Subscriber limit exceeded: Encryption mode changes are limited in the 24h window ending at \d{4}-\d\d-\d\dT[\d:.]+Z\. After the first 4 change, each subsequent change in the same window can be performed at most once every 21600 seconds\. Number of updates today: 4$/,
      );
      server.clock.advance(6 * 60 * 60 * 1000);
      await flip(true);
      await rejectsWith(flip(false), 'LimitExceededException');
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });
});
