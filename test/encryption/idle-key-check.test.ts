/**
 * The background key check (issue 12, item 8): a table with no traffic notices within the 5-minute
 * refresh interval that its KMS key became unusable, with DynamoDB's own audited Decrypt, and at
 * most one such call per table per 5 minutes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  KMSClient,
  ListGrantsCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import type { KmsCallEvent } from '../../src/kms/index.js';
import { keepAliveClient } from '../helpers/clients.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MINUTE = 60_000;
const ACCOUNT = '000000000000';

function tableInput(name: string, sse: CreateTableCommandInput['SSESpecification']): CreateTableCommandInput {
  return {
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...(sse ? { SSESpecification: sse } : {}),
  };
}

/** Creates a table and closes the client, so the table is idle: no connection holds its key. */
async function idleTable(server: TestServer, name: string, sse: CreateTableCommandInput['SSESpecification']) {
  const ddb = keepAliveClient(server);
  await ddb.send(new CreateTableCommand(tableInput(name, sse)));
  ddb.destroy();
}

async function status(server: TestServer, name: string): Promise<string | undefined> {
  const ddb = keepAliveClient(server);
  try {
    return (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table?.TableStatus;
  } finally {
    ddb.destroy();
  }
}

/** DynamoDB's own Decrypt calls for one table, as the KMS audits them. */
function serviceDecrypts(events: readonly KmsCallEvent[], table: string): KmsCallEvent[] {
  return events.filter((e) => {
    const context = (e.requestParameters?.encryptionContext ?? {}) as Record<string, string>;
    return (
      e.eventName === 'Decrypt' && e.principal.type === 'AWSService' && context['aws:dynamodb:tableName'] === table
    );
  });
}

describe('the background key check of idle tables', () => {
  it('takes an idle table offline within 5 minutes of its key being disabled, audited as DynamoDB, and back when enabled', async () => {
    const server = await startTestServer();
    const kms = new KMSClient(server.clientConfig());
    const trail = new CloudTrailClient(server.clientConfig());
    try {
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      await idleTable(server, 'idle', { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId });
      await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      server.clock.advance(5 * MINUTE);
      await server.sweep();

      const reader = keepAliveClient(server);
      const described = await reader.send(new DescribeTableCommand({ TableName: 'idle' }));
      reader.destroy();
      assert.equal(described.Table?.TableStatus, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
      assert.ok(described.Table?.SSEDescription?.InaccessibleEncryptionDateTime instanceof Date);

      // The check is in the account's trail, as DynamoDB's own call with the table's encryption context.
      const events = await trail.send(
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }] }),
      );
      const checks = (events.Events ?? [])
        .map((e) => JSON.parse(e.CloudTrailEvent as string) as Record<string, unknown>)
        .filter((r) => (r.userIdentity as { type?: string }).type === 'AWSService');
      assert.equal(checks.length, 1, 'one check call');
      const check = checks[0] as Record<string, unknown>;
      assert.deepEqual(check.userIdentity, { type: 'AWSService', invokedBy: 'dynamodb.amazonaws.com' });
      assert.equal(check.sourceIPAddress, 'dynamodb.amazonaws.com');
      assert.equal(check.errorCode, 'DisabledException');
      assert.deepEqual((check.requestParameters as { encryptionContext: unknown }).encryptionContext, {
        'aws:dynamodb:tableName': 'idle',
        'aws:dynamodb:subscriberId': ACCOUNT,
      });

      await kms.send(new EnableKeyCommand({ KeyId: keyId }));
      await server.sweep();
      assert.equal(await status(server, 'idle'), 'ACTIVE');
      const ddb = keepAliveClient(server);
      assert.equal((await ddb.send(new ScanCommand({ TableName: 'idle' }))).Count, 0);
      ddb.destroy();
    } finally {
      kms.destroy();
      trail.destroy();
      await server.cleanup();
    }
  });

  it('notices a key scheduled for deletion and a revoked DynamoDB grant', async () => {
    const server = await startTestServer();
    const kms = new KMSClient(server.clientConfig());
    try {
      const pending = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      const revoked = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      await idleTable(server, 'pending', { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: pending });
      await idleTable(server, 'revoked', { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: revoked });
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: pending, PendingWindowInDays: 7 }));
      const grants = await kms.send(new ListGrantsCommand({ KeyId: revoked }));
      await kms.send(new RevokeGrantCommand({ KeyId: revoked, GrantId: grants.Grants?.[0]?.GrantId as string }));

      await server.sweep();
      assert.equal(await status(server, 'pending'), 'ACTIVE', 'not yet checked: the key was proved at creation');
      server.clock.advance(5 * MINUTE);
      await server.sweep();
      assert.equal(await status(server, 'pending'), 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
      assert.equal(await status(server, 'revoked'), 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
    } finally {
      kms.destroy();
      await server.cleanup();
    }
  });

  it('makes at most one KMS call per healthy table per 5 minutes, and none for the owned key', async () => {
    const events: KmsCallEvent[] = [];
    const server = await startTestServer({ onKmsCall: (event) => events.push(event) });
    const kms = new KMSClient(server.clientConfig());
    try {
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      await idleTable(server, 'customer', { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId });
      await idleTable(server, 'managed', { Enabled: true });
      await idleTable(server, 'owned', undefined);
      const counts = () => ['customer', 'managed', 'owned'].map((t) => serviceDecrypts(events, t).length);

      for (let i = 0; i < 3; i++) await server.sweep();
      assert.deepEqual(counts(), [0, 0, 0]);
      server.clock.advance(4 * MINUTE);
      await server.sweep();
      assert.deepEqual(counts(), [0, 0, 0], 'the key was proved at creation, less than 5 minutes ago');
      server.clock.advance(MINUTE);
      for (let i = 0; i < 3; i++) await server.sweep();
      assert.deepEqual(counts(), [1, 1, 0], 'one check per table, however often the sweep runs');
      server.clock.advance(4 * MINUTE);
      await server.sweep();
      assert.deepEqual(counts(), [1, 1, 0]);
      server.clock.advance(MINUTE);
      await server.sweep();
      assert.deepEqual(counts(), [2, 2, 0]);
      for (const check of serviceDecrypts(events, 'customer')) assert.equal(check.errorCode, undefined);
      assert.equal(await status(server, 'customer'), 'ACTIVE');
      assert.equal(await status(server, 'managed'), 'ACTIVE');
    } finally {
      kms.destroy();
      await server.cleanup();
    }
  });
});
