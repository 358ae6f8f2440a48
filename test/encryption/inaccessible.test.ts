import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CancelKeyDeletionCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
  ListGrantsCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { keepAliveClient, newConnectionClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

async function setup(
  server: TestServer,
  table: string,
  items = 20,
): Promise<{ kms: KMSClient; ddb: DynamoDBClient; keyId: string }> {
  const kms = new KMSClient(server.clientConfig());
  const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
  const ddb = keepAliveClient(server);
  await ddb.send(
    new CreateTableCommand({
      TableName: table,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId },
    }),
  );
  for (let i = 0; i < items; i++)
    await ddb.send(new PutItemCommand({ TableName: table, Item: { id: { N: String(i) }, v: { S: `v${i}` } } }));
  return { kms, ddb, keyId };
}

describe('tables whose key becomes unusable', () => {
  it('go inaccessible when the key is disabled and come back intact when it is enabled', async () => {
    const server = await startTestServer();
    try {
      const { kms, ddb, keyId } = await setup(server, 'disabled');
      const other = await setup(server, 'unaffected', 3);
      await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      // The next KMS check is the next Decrypt: a new connection, or 5 minutes on this one.
      server.clock.advance(5 * MINUTE);
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: 'disabled', Key: { id: { N: '1' } } })),
        'AccessDeniedException',
        /^KMS key access denied error: com\.amazonaws\.services\.kms\.model\.DisabledException: arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]+ is disabled\./,
      );
      const described = await ddb.send(new DescribeTableCommand({ TableName: 'disabled' }));
      assert.equal(described.Table?.TableStatus, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
      assert.ok(described.Table?.SSEDescription?.InaccessibleEncryptionDateTime instanceof Date);
      assert.equal(described.Table?.ItemCount, 20, 'the counts of the closed table file are kept');
      // Every data-plane call is refused, on any connection.
      const fresh = newConnectionClient(server);
      await rejectsWith(fresh.send(new ScanCommand({ TableName: 'disabled' })), 'AccessDeniedException');
      await rejectsWith(
        fresh.send(new PutItemCommand({ TableName: 'disabled', Item: { id: { N: '99' } } })),
        'AccessDeniedException',
      );
      // Other tables are unaffected.
      assert.ok((await other.ddb.send(new GetItemCommand({ TableName: 'unaffected', Key: { id: { N: '1' } } }))).Item);

      await server.sweep();
      assert.equal(
        (await ddb.send(new DescribeTableCommand({ TableName: 'disabled' }))).Table?.TableStatus,
        'INACCESSIBLE_ENCRYPTION_CREDENTIALS',
      );
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
      await server.sweep();
      const restored = await ddb.send(new DescribeTableCommand({ TableName: 'disabled' }));
      assert.equal(restored.Table?.TableStatus, 'ACTIVE');
      assert.equal(restored.Table?.SSEDescription?.InaccessibleEncryptionDateTime, undefined);
      const scan = await fresh.send(new ScanCommand({ TableName: 'disabled' }));
      assert.equal(scan.Count, 20, 'no data lost');
      fresh.destroy();
      ddb.destroy();
      kms.destroy();
      other.ddb.destroy();
      other.kms.destroy();
    } finally {
      await server.cleanup();
    }
  });

  it("keep serving callers the key policy allows after DynamoDB's grant is revoked", async () => {
    const server = await startTestServer();
    try {
      const { kms, ddb, keyId } = await setup(server, 'revoked', 2);
      // With the default policy the caller still may use the key; only the grant is gone.
      const grants = await kms.send(new ListGrantsCommand({ KeyId: keyId }));
      await kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grants.Grants?.[0]?.GrantId as string }));
      server.clock.advance(5 * MINUTE);
      const got = await ddb.send(new GetItemCommand({ TableName: 'revoked', Key: { id: { N: '1' } } }));
      assert.ok(got.Item, 'the caller may still use the key under the key policy');
      ddb.destroy();
      kms.destroy();
    } finally {
      await server.cleanup();
    }
  });

  it('are archived after 7 days inaccessible', async () => {
    const server = await startTestServer();
    try {
      const { kms, ddb, keyId } = await setup(server, 'archived', 3);
      await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      server.clock.advance(5 * MINUTE);
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: 'archived', Key: { id: { N: '1' } } })),
        'AccessDeniedException',
      );
      server.clock.advance(6 * DAY);
      await server.sweep();
      assert.equal(
        (await ddb.send(new DescribeTableCommand({ TableName: 'archived' }))).Table?.TableStatus,
        'INACCESSIBLE_ENCRYPTION_CREDENTIALS',
      );
      server.clock.advance(DAY + MINUTE);
      await server.sweep();
      assert.equal(
        (await ddb.send(new DescribeTableCommand({ TableName: 'archived' }))).Table?.TableStatus,
        'ARCHIVING',
      );
      await server.sweep();
      const archived = await ddb.send(new DescribeTableCommand({ TableName: 'archived' }));
      assert.equal(archived.Table?.TableStatus, 'ARCHIVED');
      assert.equal(archived.Table?.ArchivalSummary?.ArchivalReason, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
      assert.ok(archived.Table?.ArchivalSummary?.ArchivalDateTime instanceof Date);
      ddb.destroy();
      kms.destroy();
    } finally {
      await server.cleanup();
    }
  });

  it('are unrecoverable once the key deletion completes, and say so', async () => {
    const server = await startTestServer();
    try {
      const { kms, ddb, keyId } = await setup(server, 'shredded', 3);
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
      server.clock.advance(5 * MINUTE);
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: 'shredded', Key: { id: { N: '1' } } })),
        'AccessDeniedException',
        /KMSInvalidStateException: .* is pending deletion\./,
      );
      // Cancelling in time brings the table back.
      await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
      await server.sweep();
      assert.ok((await ddb.send(new GetItemCommand({ TableName: 'shredded', Key: { id: { N: '1' } } }))).Item);

      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
      server.clock.advance(7 * DAY + MINUTE);
      await server.sweep();
      const fresh = newConnectionClient(server);
      await rejectsWith(
        fresh.send(new GetItemCommand({ TableName: 'shredded', Key: { id: { N: '1' } } })),
        'AccessDeniedException',
        /NotFoundException: .*does not exist.*its data can never be decrypted again\.$/,
      );
      fresh.destroy();
      ddb.destroy();
      kms.destroy();
    } finally {
      await server.cleanup();
    }
  });
});
