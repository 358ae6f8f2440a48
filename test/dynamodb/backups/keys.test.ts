import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateBackupCommand,
  DescribeBackupCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  RestoreTableFromBackupCommand,
  ScanCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { newConnectionClient } from '../../helpers/clients.js';
import { createKey } from '../../helpers/kms.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { backupAvailable, createOrders, tableActive } from './helpers.js';

const MINUTE = 60_000;

interface TrailEvent {
  eventName: string;
  userIdentity: { type: string; invokedBy?: string };
  requestParameters?: { keyId?: string; encryptionContext?: Record<string, string> };
  resources?: { ARN: string }[];
}

async function trail(client: CloudTrailClient): Promise<TrailEvent[]> {
  const events: Event[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ NextToken }));
    events.push(...(page.Events ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return events.map((e) => JSON.parse(e.CloudTrailEvent as string) as TrailEvent);
}

const onKey = (events: TrailEvent[], name: string, keyArn: string) =>
  events.filter(
    (e) =>
      e.eventName === name && (e.resources?.some((r) => r.ARN === keyArn) || e.requestParameters?.keyId === keyArn),
  );

/** Which key protects a backup, which protects its restores, and what KMS sees of it. */
describe('backup and restore keys', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let kms: KMSClient;
  let cloudtrail: CloudTrailClient;
  let keyA: { id: string; arn: string };
  let keyB: { id: string; arn: string };
  let arn: string;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    kms = new KMSClient(server.clientConfig());
    cloudtrail = new CloudTrailClient(server.clientConfig());
    keyA = await createKey(kms);
    keyB = await createKey(kms);
    await createOrders(ddb, 'Secure', {
      SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyA.id },
    });
    for (let i = 0; i < 12; i++) {
      await ddb.send(
        new PutItemCommand({
          TableName: 'Secure',
          Item: { pk: { S: 'p' }, sk: { S: `s${i}` }, status: { S: 'open' }, total: { N: String(i) } },
        }),
      );
    }
    const { BackupDetails } = await ddb.send(new CreateBackupCommand({ TableName: 'Secure', BackupName: 'secure-1' }));
    arn = BackupDetails?.BackupArn as string;
    await backupAvailable(ddb, arn);
  });
  after(async () => {
    ddb.destroy();
    kms.destroy();
    cloudtrail.destroy();
    await server.cleanup();
  });

  it('DescribeBackup shows the SSEDescription of the key at backup time', async () => {
    const { BackupDescription } = await ddb.send(new DescribeBackupCommand({ BackupArn: arn }));
    assert.deepEqual(BackupDescription?.SourceTableFeatureDetails?.SSEDescription, {
      Status: 'ENABLED',
      SSEType: 'KMS',
      KMSMasterKeyArn: keyA.arn,
    });
  });

  it('restores under the source key by default, and under the owned, managed or another customer key as override', async () => {
    const managedArn = async () =>
      (await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/dynamodb' }))).KeyMetadata?.Arn;
    const cases = [
      { name: 'SameKey', spec: undefined, expect: () => keyA.arn },
      { name: 'Owned', spec: { Enabled: false }, expect: () => undefined },
      { name: 'Managed', spec: { Enabled: true }, expect: managedArn },
      {
        name: 'Customer',
        spec: { Enabled: true, SSEType: 'KMS' as const, KMSMasterKeyId: keyB.id },
        expect: () => keyB.arn,
      },
    ];
    for (const c of cases) {
      await ddb.send(
        new RestoreTableFromBackupCommand({
          TargetTableName: c.name,
          BackupArn: arn,
          ...(c.spec ? { SSESpecificationOverride: c.spec } : {}),
        }),
      );
      const table = await tableActive(ddb, c.name);
      assert.equal(table.SSEDescription?.KMSMasterKeyArn, await c.expect(), c.name);
      assert.equal(table.ItemCount, 12, c.name);
      const item = await ddb.send(new GetItemCommand({ TableName: c.name, Key: { pk: { S: 'p' }, sk: { S: 's3' } } }));
      assert.equal(item.Item?.total?.N, '3', c.name);
      assert.equal((await ddb.send(new ScanCommand({ TableName: c.name, IndexName: 'byStatus' }))).Count, 12);
    }
    const events = await trail(cloudtrail);
    // The restored table's own key: DynamoDB's grant and a new table key under key B, for table Customer.
    const grants = onKey(events, 'CreateGrant', keyB.arn);
    assert.equal(grants.length, 1);
    const generated = onKey(events, 'GenerateDataKey', keyB.arn);
    assert.equal(generated.length, 1);
    assert.equal(generated[0]?.userIdentity.invokedBy, 'dynamodb.amazonaws.com');
    assert.deepEqual(generated[0]?.requestParameters?.encryptionContext, {
      'aws:dynamodb:tableName': 'Customer',
      'aws:dynamodb:subscriberId': '000000000000',
    });
    // The backup's key: Decrypt of the source table's key under key A, in the source table's context.
    const decrypts = onKey(events, 'Decrypt', keyA.arn).filter(
      (e) => e.requestParameters?.encryptionContext?.['aws:dynamodb:tableName'] === 'Secure',
    );
    assert.ok(decrypts.length >= 1);
  });

  it('a backup outlives a key switch of its table: still described and restored under the old key', async () => {
    await ddb.send(
      new UpdateTableCommand({
        TableName: 'Secure',
        SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyB.id },
      }),
    );
    // Written after the backup: not in it.
    await ddb.send(
      new PutItemCommand({
        TableName: 'Secure',
        Item: { pk: { S: 'p' }, sk: { S: 'late' }, status: { S: 'open' }, total: { N: '99' } },
      }),
    );
    const { BackupDescription } = await ddb.send(new DescribeBackupCommand({ BackupArn: arn }));
    assert.equal(BackupDescription?.SourceTableFeatureDetails?.SSEDescription?.KMSMasterKeyArn, keyA.arn);
    const fresh = newConnectionClient(server);
    await fresh.send(new RestoreTableFromBackupCommand({ TargetTableName: 'AfterSwitch', BackupArn: arn }));
    const table = await tableActive(fresh, 'AfterSwitch');
    assert.equal(table.SSEDescription?.KMSMasterKeyArn, keyA.arn);
    assert.equal(table.ItemCount, 12);
    fresh.destroy();
  });

  it('a restore whose backup key is disabled fails, and works again once the key is enabled', async () => {
    await kms.send(new DisableKeyCommand({ KeyId: keyA.id }));
    // Past the 5-minute table-key cache, as DynamoDB's.
    server.clock.advance(5 * MINUTE + 1000);
    await rejectsWith(
      ddb.send(new RestoreTableFromBackupCommand({ TargetTableName: 'WhileDisabled', BackupArn: arn })),
      'ValidationException',
      new RegExp(
        `^KMS validation error: com\\.amazonaws\\.services\\.kms\\.model\\.DisabledException: ${keyA.arn.replace(/[/.]/g, '\\$&')} is disabled\\.`,
      ),
    );
    // Nothing was created.
    await rejectsWith(ddb.send(new ScanCommand({ TableName: 'WhileDisabled' })), 'ResourceNotFoundException');
    // Even into another key: the backup itself cannot be read.
    await rejectsWith(
      ddb.send(
        new RestoreTableFromBackupCommand({
          TargetTableName: 'WhileDisabled',
          BackupArn: arn,
          SSESpecificationOverride: { Enabled: false },
        }),
      ),
      'ValidationException',
      /DisabledException/,
    );
    await kms.send(new EnableKeyCommand({ KeyId: keyA.id }));
    await ddb.send(
      new RestoreTableFromBackupCommand({
        TargetTableName: 'Reenabled',
        BackupArn: arn,
        SSESpecificationOverride: { Enabled: false },
      }),
    );
    assert.equal((await tableActive(ddb, 'Reenabled')).ItemCount, 12);
  });
});
