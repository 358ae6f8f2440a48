/**
 * The in-process client DynamoDB uses: same validation, policy, grants and audit as remote calls;
 * the AWS managed key `alias/aws/dynamodb`; and the audit events themselves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/core/clock.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { rootPrincipal, userPrincipal } from '../../src/http/auth.js';
import type { Principal } from '../../src/http/service.js';
import { createKmsService, type KmsCallEvent, type KmsService } from '../../src/kms/index.js';
import { rejectsWith } from '../helpers/assert-aws.js';

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const VIA = `dynamodb.${REGION}.amazonaws.com`;
const CONTEXT = { 'aws:dynamodb:tableName': 'Books', 'aws:dynamodb:subscriberId': ACCOUNT };

const alice = userPrincipal(ACCOUNT, 'alice', 'AKIAALICE');
const root = rootPrincipal(ACCOUNT);
const stranger = rootPrincipal(OTHER);
const dynamodbService: Principal = {
  type: 'AWSService',
  accountId: ACCOUNT,
  arn: VIA,
  principalId: 'dynamodb.amazonaws.com',
};

let trust: RootOfTrust;
let kms: KmsService;
const events: KmsCallEvent[] = [];
const clock = new ManualClock();

before(() => {
  trust = RootOfTrust.open({ kind: 'ephemeral' }, undefined);
  kms = createKmsService({ root: trust, clock, region: REGION });
  kms.onCall((event) => {
    events.push(event);
  });
});
after(() => {
  kms.close();
  trust.destroy();
});

const as = (principal: Principal, extra: { viaService?: string; invokedBy?: string } = {}) => ({ principal, ...extra });
const viaDynamoDb = (principal: Principal) => as(principal, { viaService: VIA, invokedBy: 'dynamodb.amazonaws.com' });

async function newKey(principal: Principal = alice): Promise<string> {
  const out = await kms.call('CreateKey', {}, as(principal));
  return (out.KeyMetadata as { Arn: string }).Arn;
}

describe('in-process calls', () => {
  test('blobs go in as Buffers or base64 and come out as Buffers; timestamps are epoch seconds', async () => {
    const arn = await newKey();
    const created = await kms.call('DescribeKey', { KeyId: arn }, as(alice));
    assert.equal(typeof (created.KeyMetadata as { CreationDate: unknown }).CreationDate, 'number');
    const plaintext = Buffer.from('in-process secret');
    const enc = await kms.call('Encrypt', { KeyId: arn, Plaintext: plaintext, EncryptionContext: CONTEXT }, as(alice));
    assert.ok(Buffer.isBuffer(enc.CiphertextBlob));
    assert.equal(enc.KeyId, arn);
    assert.deepEqual(plaintext, Buffer.from('in-process secret'), 'the caller keeps its buffer');
    const fromBase64 = await kms.call(
      'Decrypt',
      { CiphertextBlob: (enc.CiphertextBlob as Buffer).toString('base64'), EncryptionContext: CONTEXT },
      as(alice),
    );
    assert.deepEqual(fromBase64.Plaintext, plaintext);
    const fromUint8 = await kms.call(
      'Decrypt',
      { CiphertextBlob: new Uint8Array(enc.CiphertextBlob as Buffer), EncryptionContext: CONTEXT },
      as(alice),
    );
    assert.deepEqual(fromUint8.Plaintext, plaintext);
    const dk = await kms.call(
      'GenerateDataKey',
      { KeyId: arn, KeySpec: 'AES_256', EncryptionContext: CONTEXT },
      as(alice),
    );
    assert.ok(Buffer.isBuffer(dk.Plaintext) && (dk.Plaintext as Buffer).length === 32);
  });

  test('the same model validation as on the wire', async () => {
    const arn = await newKey();
    await rejectsWith(
      kms.call('Encrypt', { KeyId: arn, Plaintext: Buffer.alloc(4097) }, as(alice)),
      'ValidationException',
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    await rejectsWith(
      kms.call('Encrypt', { KeyId: arn, Plaintext: Buffer.alloc(0) }, as(alice)),
      'ValidationException',
      /Member must have length greater than or equal to 1/,
    );
    await rejectsWith(
      kms.call('Encrypt', { KeyId: arn }, as(alice)),
      'ValidationException',
      "1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null",
    );
    await rejectsWith(
      kms.call('Encrypt', { KeyId: 5, Plaintext: Buffer.from('x') }, as(alice)),
      'SerializationException',
    );
    await rejectsWith(kms.call('Sign', { KeyId: arn }, as(alice)), 'UnsupportedOperationException');
    await rejectsWith(kms.call('Fly', {}, as(alice)), 'UnknownOperationException');
  });
});

describe('the AWS managed key alias/aws/dynamodb', () => {
  test('is created once per account with KeyManager AWS, its description and fixed policy', async () => {
    const arn = await kms.ensureAwsManagedKey({ accountId: ACCOUNT, region: REGION }, 'dynamodb');
    assert.equal(await kms.ensureAwsManagedKey({ accountId: ACCOUNT, region: REGION }, 'dynamodb'), arn);
    assert.notEqual(await kms.ensureAwsManagedKey({ accountId: OTHER, region: REGION }, 'dynamodb'), arn);
    const { KeyMetadata } = (await kms.call('DescribeKey', { KeyId: 'alias/aws/dynamodb' }, as(root))) as {
      KeyMetadata: Record<string, unknown>;
    };
    assert.equal(KeyMetadata.Arn, arn);
    assert.equal(KeyMetadata.KeyManager, 'AWS');
    assert.equal(KeyMetadata.Description, 'Default key that protects my DynamoDB data when no other key is defined');
    assert.equal(KeyMetadata.KeySpec, 'SYMMETRIC_DEFAULT');
    assert.equal(KeyMetadata.KeyUsage, 'ENCRYPT_DECRYPT');
    assert.equal(KeyMetadata.Origin, 'AWS_KMS');
    assert.equal(KeyMetadata.MultiRegion, false);
    assert.equal(KeyMetadata.KeyState, 'Enabled');
    const policy = JSON.parse((await kms.call('GetKeyPolicy', { KeyId: arn }, as(alice))).Policy as string);
    assert.equal(policy.Id, 'auto-dynamodb-1');
    assert.deepEqual(policy.Statement[0].Condition, {
      StringEquals: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': VIA },
    });
    assert.deepEqual(policy.Statement[1].Principal, { AWS: `arn:aws:iam::${ACCOUNT}:root` });
    const rotation = await kms.call('GetKeyRotationStatus', { KeyId: arn }, as(alice));
    assert.equal(rotation.KeyRotationEnabled, true);
    assert.equal(rotation.RotationPeriodInDays, 365);
    const aliases = (await kms.call('ListAliases', {}, as(alice))).Aliases as Array<Record<string, unknown>>;
    const entry = aliases.find((a) => a.AliasName === 'alias/aws/dynamodb');
    assert.equal(entry?.TargetKeyId, arn.split('/')[1]);
  });

  test('is usable only through DynamoDB from its own account', async () => {
    const arn = await kms.ensureAwsManagedKey({ accountId: ACCOUNT, region: REGION }, 'dynamodb');
    const denied = (who: string, action: string) =>
      `User: ${who} is not authorized to perform: kms:${action} on resource: ${arn} because no resource-based policy allows the kms:${action} action`;
    await rejectsWith(
      kms.call('Encrypt', { KeyId: 'alias/aws/dynamodb', Plaintext: Buffer.from('x') }, as(alice)),
      'AccessDeniedException',
      denied(alice.arn, 'Encrypt'),
    );
    const dk = await kms.call(
      'GenerateDataKey',
      { KeyId: 'alias/aws/dynamodb', KeySpec: 'AES_256', EncryptionContext: CONTEXT },
      viaDynamoDb(alice),
    );
    assert.equal(dk.KeyId, arn);
    const dec = await kms.call(
      'Decrypt',
      { CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT },
      viaDynamoDb(alice),
    );
    assert.deepEqual(dec.Plaintext, dk.Plaintext);
    await rejectsWith(
      kms.call('Decrypt', { CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT }, as(alice)),
      'AccessDeniedException',
      denied(alice.arn, 'Decrypt'),
    );
    // Another account cannot use it, even through DynamoDB (kms:CallerAccount).
    await rejectsWith(
      kms.call('Decrypt', { CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT }, viaDynamoDb(stranger)),
      'AccessDeniedException',
    );
    await rejectsWith(
      kms.call(
        'Decrypt',
        { CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT },
        as(alice, { viaService: 'rds.us-east-1.amazonaws.com' }),
      ),
      'AccessDeniedException',
    );
  });

  test('nobody may change its policy, disable, delete, rotate or repoint it', async () => {
    const arn = await kms.ensureAwsManagedKey({ accountId: ACCOUNT, region: REGION }, 'dynamodb');
    const open = JSON.stringify({
      Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' }],
    });
    for (const [operation, input] of [
      ['PutKeyPolicy', { KeyId: arn, Policy: open, BypassPolicyLockoutSafetyCheck: true }],
      ['DisableKey', { KeyId: arn }],
      ['ScheduleKeyDeletion', { KeyId: arn }],
      ['EnableKeyRotation', { KeyId: arn }],
      ['DisableKeyRotation', { KeyId: arn }],
      ['RotateKeyOnDemand', { KeyId: arn }],
      ['UpdateKeyDescription', { KeyId: arn, Description: 'mine now' }],
      ['TagResource', { KeyId: arn, Tags: [{ TagKey: 'a', TagValue: 'b' }] }],
      ['CreateAlias', { AliasName: 'alias/my-dynamodb', TargetKeyId: arn }],
    ] as const) {
      for (const caller of [as(root), viaDynamoDb(alice)]) {
        await rejectsWith(kms.call(operation, input, caller), 'AccessDeniedException');
      }
    }
    await rejectsWith(kms.call('DeleteAlias', { AliasName: 'alias/aws/dynamodb' }, as(root)), 'NotAuthorizedException');
    const { KeyMetadata } = (await kms.call('DescribeKey', { KeyId: arn }, as(root))) as {
      KeyMetadata: { KeyState: string };
    };
    assert.equal(KeyMetadata.KeyState, 'Enabled');
  });

  test("DynamoDB's grant: created via DynamoDB, used and retired by the service principal", async () => {
    const arn = await kms.ensureAwsManagedKey({ accountId: ACCOUNT, region: REGION }, 'dynamodb');
    const grant = await kms.call(
      'CreateGrant',
      {
        KeyId: arn,
        GranteePrincipal: VIA,
        RetiringPrincipal: VIA,
        Constraints: { EncryptionContextSubset: CONTEXT },
        Operations: [
          'DescribeKey',
          'GenerateDataKey',
          'Decrypt',
          'Encrypt',
          'ReEncryptFrom',
          'ReEncryptTo',
          'RetireGrant',
        ],
      },
      viaDynamoDb(alice),
    );
    // The key policy lets the service describe the key directly.
    await kms.call('DescribeKey', { KeyId: arn }, as(dynamodbService, { invokedBy: 'dynamodb.amazonaws.com' }));
    const dk = await kms.call(
      'GenerateDataKey',
      { KeyId: arn, KeySpec: 'AES_256', EncryptionContext: CONTEXT },
      as(dynamodbService, { invokedBy: 'dynamodb.amazonaws.com' }),
    );
    await kms.call('Decrypt', { CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT }, as(dynamodbService));
    await rejectsWith(
      kms.call(
        'Decrypt',
        { CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT },
        as({ ...dynamodbService, arn: 'dynamodb.eu-west-1.amazonaws.com' }),
      ),
      'AccessDeniedException',
    );
    const other = { ...CONTEXT, 'aws:dynamodb:tableName': 'Other' };
    await rejectsWith(
      kms.call('GenerateDataKey', { KeyId: arn, KeySpec: 'AES_256', EncryptionContext: other }, as(dynamodbService)),
      'AccessDeniedException',
    );
    const retirable = await kms.call('ListRetirableGrants', { RetiringPrincipal: VIA }, as(alice));
    assert.ok((retirable.Grants as Array<{ GrantId: string }>).some((g) => g.GrantId === grant.GrantId));
    await kms.call('RetireGrant', { KeyId: arn, GrantId: grant.GrantId }, as(dynamodbService));
    await rejectsWith(
      kms.call('Decrypt', { CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT }, as(dynamodbService)),
      'AccessDeniedException',
    );
    // kms:ViaService with StringLike, as customer managed key policies for DynamoDB use it.
    const cmk = await newKey();
    await kms.call(
      'PutKeyPolicy',
      {
        KeyId: cmk,
        Policy: JSON.stringify({
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
            {
              Effect: 'Deny',
              Principal: { AWS: alice.arn },
              Action: 'kms:Decrypt',
              Resource: '*',
              Condition: { StringNotLike: { 'kms:ViaService': 'dynamodb.*.amazonaws.com' } },
            },
          ],
        }),
      },
      as(root),
    );
    const enc = await kms.call('Encrypt', { KeyId: cmk, Plaintext: Buffer.from('x') }, as(alice));
    await kms.call('Decrypt', { CiphertextBlob: enc.CiphertextBlob }, viaDynamoDb(alice));
    await rejectsWith(
      kms.call('Decrypt', { CiphertextBlob: enc.CiphertextBlob }, as(alice)),
      'AccessDeniedException',
      /explicit deny/,
    );
  });
});

describe('audit events', () => {
  test('one sanitized event per call, success or failure, carrying identity and keys', async () => {
    const arn = await newKey();
    const secret = Buffer.from('audit-must-never-see-this-secret');
    events.length = 0;
    const enc = await kms.call(
      'Encrypt',
      { KeyId: arn, Plaintext: secret, EncryptionContext: CONTEXT },
      { ...viaDynamoDb(alice), requestId: 'req-1', sourceIp: '10.0.0.1', userAgent: 'test-agent' },
    );
    const dk = await kms.call(
      'GenerateDataKey',
      { KeyId: arn, NumberOfBytes: 48, EncryptionContext: CONTEXT },
      as(alice),
    );
    await kms.call('Decrypt', { CiphertextBlob: enc.CiphertextBlob, EncryptionContext: CONTEXT }, as(alice));
    await rejectsWith(
      kms.call('Decrypt', { CiphertextBlob: enc.CiphertextBlob }, as(alice)),
      'InvalidCiphertextException',
    );
    await rejectsWith(kms.call('DisableKey', { KeyId: arn }, as(stranger)), 'NotFoundException');
    assert.equal(events.length, 5);
    const [encrypt, generate, decrypt, failedDecrypt, failedDisable] = events as [
      KmsCallEvent,
      KmsCallEvent,
      KmsCallEvent,
      KmsCallEvent,
      KmsCallEvent,
    ];
    assert.equal(encrypt.eventName, 'Encrypt');
    assert.equal(encrypt.requestId, 'req-1');
    assert.equal(encrypt.sourceIp, '10.0.0.1');
    assert.equal(encrypt.userAgent, 'test-agent');
    assert.deepEqual(encrypt.principal, alice);
    assert.equal(encrypt.invokedBy, 'dynamodb.amazonaws.com');
    assert.equal(encrypt.viaService, VIA);
    assert.equal(encrypt.readOnly, true);
    assert.equal(encrypt.region, REGION);
    assert.ok(Math.abs(encrypt.eventTime - clock.now()) < 10_000);
    assert.deepEqual(encrypt.resources, [{ ARN: arn, accountId: ACCOUNT, type: 'AWS::KMS::Key' }]);
    assert.equal(encrypt.keyOwnerAccountId, ACCOUNT);
    assert.deepEqual(encrypt.requestParameters, { keyId: arn, encryptionContext: CONTEXT });
    assert.equal(encrypt.responseElements, null);
    assert.equal(encrypt.errorCode, undefined);
    assert.deepEqual(generate.requestParameters, { keyId: arn, encryptionContext: CONTEXT, numberOfBytes: 48 });
    assert.equal(generate.sourceIp, 'internal');
    assert.deepEqual(decrypt.resources, encrypt.resources);
    assert.equal(failedDecrypt.errorCode, 'InvalidCiphertextException');
    assert.equal(failedDecrypt.errorMessage, undefined);
    assert.deepEqual(failedDecrypt.resources, encrypt.resources);
    assert.equal(failedDisable.errorCode, 'NotFoundException');
    assert.match(failedDisable.errorMessage ?? '', /does not exist/);
    assert.equal(failedDisable.readOnly, false);
    assert.equal(failedDisable.keyOwnerAccountId, OTHER);

    const serialized = JSON.stringify(events);
    const forbidden = [secret, enc.CiphertextBlob as Buffer, dk.Plaintext as Buffer, dk.CiphertextBlob as Buffer];
    for (const bytes of forbidden) {
      for (const encoding of ['base64', 'hex', 'utf8'] as const) {
        const text = bytes.toString(encoding);
        assert.ok(!serialized.includes(text.slice(0, 24)), `the audit trail holds ${encoding} secret bytes`);
      }
    }
  });

  test('write calls log their responses; RetireGrant logs the grant id only; a failing audit listener fails the call (no answer without a record)', async () => {
    events.length = 0;
    const created = await kms.call(
      'CreateKey',
      { Description: 'audited', Tags: [{ TagKey: 't', TagValue: 'v' }] },
      as(alice),
    );
    const arn = (created.KeyMetadata as { Arn: string }).Arn;
    const createEvent = events[0] as KmsCallEvent;
    assert.equal(createEvent.readOnly, false);
    assert.deepEqual(createEvent.requestParameters, { description: 'audited', tags: [{ tagKey: 't', tagValue: 'v' }] });
    const keyMetadata = (createEvent.responseElements as { keyMetadata: Record<string, unknown> }).keyMetadata;
    assert.equal(keyMetadata.arn, arn);
    assert.equal(keyMetadata.aWSAccountId, ACCOUNT);
    assert.match(keyMetadata.creationDate as string, /^[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d{2}:\d{2} (AM|PM)$/);
    assert.deepEqual(createEvent.resources, [{ ARN: arn, accountId: ACCOUNT, type: 'AWS::KMS::Key' }]);

    const grant = await kms.call(
      'CreateGrant',
      { KeyId: arn, GranteePrincipal: alice.arn, Operations: ['Decrypt'] },
      as(alice),
    );
    const grantEvent = events[1] as KmsCallEvent;
    assert.deepEqual(grantEvent.responseElements, { grantId: grant.GrantId });
    await kms.call('RetireGrant', { GrantToken: grant.GrantToken }, as(alice));
    const retireEvent = events[2] as KmsCallEvent;
    assert.equal(retireEvent.requestParameters, null);
    assert.deepEqual(retireEvent.additionalEventData, { grantId: grant.GrantId });
    assert.deepEqual(retireEvent.resources, [{ ARN: arn, accountId: ACCOUNT, type: 'AWS::KMS::Key' }]);

    kms.onCall(() => {
      throw new Error('audit sink down');
    });
    const originalError = console.error;
    console.error = () => {};
    try {
      await assert.rejects(kms.call('DescribeKey', { KeyId: arn }, as(alice)), { name: 'KMSInternalException' });
    } finally {
      console.error = originalError;
    }
  });
});
