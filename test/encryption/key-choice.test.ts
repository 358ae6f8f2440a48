import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { kmsCallCount } from '../helpers/metrics.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const table = (TableName: string, SSESpecification?: Record<string, unknown>) =>
  new CreateTableCommand({
    TableName,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...(SSESpecification ? { SSESpecification } : {}),
  });

describe('choosing the key of a table', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let kms: KMSClient;
  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    kms = new KMSClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    kms.destroy();
    await server.cleanup();
  });

  it('uses the AWS owned key by default: no SSEDescription and no KMS call', async () => {
    const before = await kmsCallCount(server.endpoint, 'GenerateDataKey');
    for (const [name, spec] of [
      ['owned-default', undefined],
      ['owned-disabled', { Enabled: false }],
    ] as const) {
      const created = await ddb.send(table(name, spec));
      assert.equal(created.TableDescription?.SSEDescription, undefined);
      await ddb.send(new PutItemCommand({ TableName: name, Item: { id: { S: 'a' } } }));
      const described = await ddb.send(new DescribeTableCommand({ TableName: name }));
      assert.equal(described.Table?.SSEDescription, undefined);
    }
    assert.equal(await kmsCallCount(server.endpoint, 'GenerateDataKey'), before);
    assert.equal(await kmsCallCount(server.endpoint, 'Decrypt'), 0);
  });

  it('uses the AWS managed key alias/aws/dynamodb, created on first use', async () => {
    const created = await ddb.send(table('managed', { Enabled: true }));
    const sse = created.TableDescription?.SSEDescription;
    assert.equal(sse?.Status, 'ENABLED');
    assert.equal(sse?.SSEType, 'KMS');
    assert.match(sse?.KMSMasterKeyArn ?? '', /^arn:aws:kms:us-east-1:000000000000:key\/[0-9a-f-]{36}$/);
    const key = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/dynamodb' }));
    assert.equal(key.KeyMetadata?.Arn, sse?.KMSMasterKeyArn);
    assert.equal(key.KeyMetadata?.KeyManager, 'AWS');
    assert.equal(
      key.KeyMetadata?.Description,
      'Default key that protects my DynamoDB data when no other key is defined',
    );
    const aliases = await kms.send(new ListAliasesCommand({}));
    assert.ok(
      aliases.Aliases?.some((a) => a.AliasName === 'alias/aws/dynamodb' && a.TargetKeyId === key.KeyMetadata?.KeyId),
    );
    // A second managed table reuses the same key.
    const second = await ddb.send(table('managed-2', { Enabled: true, SSEType: 'KMS' }));
    assert.equal(second.TableDescription?.SSEDescription?.KMSMasterKeyArn, sse?.KMSMasterKeyArn);
    await ddb.send(new PutItemCommand({ TableName: 'managed', Item: { id: { S: 'x' }, v: { S: 'managed' } } }));
    assert.equal(
      (await ddb.send(new GetItemCommand({ TableName: 'managed', Key: { id: { S: 'x' } } }))).Item?.v?.S,
      'managed',
    );
  });

  it('uses a customer managed key given in any form and grants DynamoDB its use', async () => {
    const key = await kms.send(new CreateKeyCommand({ Description: 'books key' }));
    const keyId = key.KeyMetadata?.KeyId as string;
    const arn = key.KeyMetadata?.Arn as string;
    await kms.send(
      new (await import('@aws-sdk/client-kms')).CreateAliasCommand({ AliasName: 'alias/books', TargetKeyId: keyId }),
    );
    const forms = [keyId, arn, 'alias/books', 'arn:aws:kms:us-east-1:000000000000:alias/books'];
    for (const [i, form] of forms.entries()) {
      const created = await ddb.send(table(`customer-${i}`, { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: form }));
      assert.deepEqual(created.TableDescription?.SSEDescription, {
        Status: 'ENABLED',
        SSEType: 'KMS',
        KMSMasterKeyArn: arn,
      });
    }
    const grants = await kms.send(new ListGrantsCommand({ KeyId: arn }));
    assert.equal(grants.Grants?.length, forms.length, 'one grant per table');
    const grant = grants.Grants?.[0];
    assert.equal(grant?.GranteePrincipal, 'dynamodb.us-east-1.amazonaws.com');
    assert.equal(grant?.RetiringPrincipal, 'dynamodb.us-east-1.amazonaws.com');
    assert.deepEqual(grant?.Operations?.slice().sort(), [
      'Decrypt',
      'DescribeKey',
      'Encrypt',
      'GenerateDataKey',
      'ReEncryptFrom',
      'ReEncryptTo',
      'RetireGrant',
    ]);
    assert.deepEqual(grant?.Constraints?.EncryptionContextSubset, {
      'aws:dynamodb:tableName': 'customer-0',
      'aws:dynamodb:subscriberId': '000000000000',
    });
    await ddb.send(new PutItemCommand({ TableName: 'customer-0', Item: { id: { S: 'k' }, v: { S: 'customer' } } }));
    assert.equal(
      (await ddb.send(new GetItemCommand({ TableName: 'customer-0', Key: { id: { S: 'k' } } }))).Item?.v?.S,
      'customer',
    );
  });

  it('validates SSESpecification as DynamoDB does', async () => {
    await rejectsWith(
      ddb.send(table('aes', { Enabled: true, SSEType: 'AES256' })),
      'ValidationException',
      'One or more parameter values were invalid: SSEType AES256 is not supported',
    );
    await rejectsWith(
      ddb.send(table('no-type', { Enabled: true, KMSMasterKeyId: 'alias/books' })),
      'ValidationException',
      'One or more parameter values were invalid: SSEType KMS is required if KMSMasterKeyId is specified',
    );
    await rejectsWith(
      ddb.send(
        table('missing-key', {
          Enabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555',
        }),
      ),
      'ValidationException',
      /^KMS validation error: com\.amazonaws\.services\.kms\.model\.NotFoundException: Key 'arn:aws:kms:us-east-1:000000000000:key\/11111111-2222-3333-4444-555555555555' does not exist \(Service: AWSKMS; Status Code: 400; Error Code: NotFoundException; Request ID: [0-9a-f-]+; Proxy: null\)$/,
    );
    const disabled = await kms.send(new CreateKeyCommand({}));
    await kms.send(new DisableKeyCommand({ KeyId: disabled.KeyMetadata?.KeyId }));
    await rejectsWith(
      ddb.send(
        table('disabled-key', { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: disabled.KeyMetadata?.KeyId as string }),
      ),
      'ValidationException',
      new RegExp(
        `KMS validation error: com.amazonaws.services.kms.model.DisabledException: ${disabled.KeyMetadata?.Arn} is disabled.`,
      ),
    );
    for (const name of ['aes', 'no-type', 'missing-key', 'disabled-key']) {
      await rejectsWith(ddb.send(new DescribeTableCommand({ TableName: name })), 'ResourceNotFoundException');
    }
  });
});

describe('keys of another account', () => {
  it('refuses a key the caller may not use, and accepts one whose policy allows it', async () => {
    const alice = { accessKeyId: 'AKIAALICEXXXXXXXXXX1', secretAccessKey: 'alice' };
    const bob = { accessKeyId: 'AKIABOBXXXXXXXXXXXX2', secretAccessKey: 'bob' };
    const server = await startTestServer({
      auth: {
        accounts: [
          { accountId: '111111111111', accessKeys: [alice] },
          { accountId: '222222222222', accessKeys: [bob] },
        ],
      },
    });
    const aliceKms = new KMSClient(server.clientConfig(alice));
    const bobDdb = new DynamoDBClient(server.clientConfig(bob));
    try {
      const privateKey = await aliceKms.send(new CreateKeyCommand({}));
      await rejectsWith(
        bobDdb.send(
          table('foreign', { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: privateKey.KeyMetadata?.Arn as string }),
        ),
        'AccessDeniedException',
        /^KMS key access denied error: /,
      );
      const sharedPolicy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: 'kms:*', Resource: '*' },
          {
            Effect: 'Allow',
            Principal: { AWS: 'arn:aws:iam::222222222222:root' },
            Action: [
              'kms:Encrypt',
              'kms:Decrypt',
              'kms:ReEncrypt*',
              'kms:GenerateDataKey*',
              'kms:DescribeKey',
              'kms:CreateGrant',
            ],
            Resource: '*',
            Condition: { StringLike: { 'kms:ViaService': 'dynamodb.*.amazonaws.com' } },
          },
        ],
      });
      const shared = await aliceKms.send(new CreateKeyCommand({ Policy: sharedPolicy }));
      const created = await bobDdb.send(
        table('foreign-ok', { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: shared.KeyMetadata?.Arn as string }),
      );
      assert.equal(created.TableDescription?.SSEDescription?.KMSMasterKeyArn, shared.KeyMetadata?.Arn);
      assert.match(created.TableDescription?.TableArn ?? '', /:222222222222:table\/foreign-ok$/);
      await bobDdb.send(new PutItemCommand({ TableName: 'foreign-ok', Item: { id: { S: 'b' } } }));
      assert.ok((await bobDdb.send(new GetItemCommand({ TableName: 'foreign-ok', Key: { id: { S: 'b' } } }))).Item);
    } finally {
      aliceKms.destroy();
      bobDdb.destroy();
      await server.cleanup();
    }
  });
});
