import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  KMSClient,
  ListGrantsCommand,
  ListKeysCommand,
  ListRetirableGrantsCommand,
  PutKeyPolicyCommand,
  ReEncryptCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const A = '111111111111';
const B = '222222222222';
const CREDS = {
  rootA: { accessKeyId: 'AKIAROOTA0000000000A', secretAccessKey: 'secret-root-a' },
  alice: { accessKeyId: 'AKIAALICE0000000000A', secretAccessKey: 'secret-alice' },
  bob: { accessKeyId: 'AKIABOB00000000000AA', secretAccessKey: 'secret-bob' },
  rootB: { accessKeyId: 'AKIAROOTB0000000000B', secretAccessKey: 'secret-root-b' },
  carol: { accessKeyId: 'AKIACAROL0000000000B', secretAccessKey: 'secret-carol' },
};
const ARN = {
  rootA: `arn:aws:iam::${A}:root`,
  alice: `arn:aws:iam::${A}:user/alice`,
  bob: `arn:aws:iam::${A}:user/bob`,
  rootB: `arn:aws:iam::${B}:root`,
  carol: `arn:aws:iam::${B}:user/carol`,
};

let server: TestServer;
const clients: Record<keyof typeof CREDS, KMSClient> = {} as Record<keyof typeof CREDS, KMSClient>;

before(async () => {
  server = await startTestServer({
    auth: {
      accounts: [
        {
          accountId: A,
          accessKeys: [CREDS.rootA, { ...CREDS.alice, userName: 'alice' }, { ...CREDS.bob, userName: 'bob' }],
        },
        { accountId: B, accessKeys: [CREDS.rootB, { ...CREDS.carol, userName: 'carol' }] },
      ],
    },
  });
  for (const name of Object.keys(CREDS) as Array<keyof typeof CREDS>)
    clients[name] = new KMSClient(server.clientConfig(CREDS[name]));
});
after(async () => {
  for (const c of Object.values(clients)) c.destroy();
  await server.cleanup();
});

const denied = (who: string, action: string, arn: string) =>
  `User: ${who} is not authorized to perform: kms:${action} on resource: ${arn} because no resource-based policy allows the kms:${action} action`;
const explicitlyDenied = (who: string, action: string, arn: string) =>
  `User: ${who} is not authorized to perform: kms:${action} on resource: ${arn} with an explicit deny in a resource-based policy`;

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal: unknown;
  Action: string | string[];
  Resource?: string;
  Condition?: Record<string, Record<string, unknown>>;
}

const ownerStatement: Statement = { Effect: 'Allow', Principal: { AWS: ARN.alice }, Action: 'kms:*', Resource: '*' };

async function keyWithPolicy(...statements: Statement[]) {
  const Policy = JSON.stringify({ Version: '2012-10-17', Statement: [ownerStatement, ...statements] });
  const { KeyMetadata } = await clients.alice.send(new CreateKeyCommand({ Policy }));
  return { id: KeyMetadata?.KeyId as string, arn: KeyMetadata?.Arn as string };
}

const encrypt = (c: KMSClient, KeyId: string, EncryptionContext?: Record<string, string>) =>
  c.send(
    new EncryptCommand({ KeyId, Plaintext: Buffer.from('p'), ...(EncryptionContext ? { EncryptionContext } : {}) }),
  );

describe('key policy evaluation', () => {
  test('the default policy admits every principal of the owning account', async () => {
    const { KeyMetadata } = await clients.alice.send(new CreateKeyCommand({}));
    const arn = KeyMetadata?.Arn as string;
    assert.equal(KeyMetadata?.AWSAccountId, A);
    const { CiphertextBlob } = await encrypt(clients.bob, arn);
    await clients.rootA.send(new DecryptCommand({ CiphertextBlob }));
    await rejectsWith(encrypt(clients.carol, arn), 'AccessDeniedException', denied(ARN.carol, 'Encrypt', arn));
  });

  test('a policy naming one user admits only that user', async () => {
    const key = await keyWithPolicy();
    await encrypt(clients.alice, key.id);
    await rejectsWith(encrypt(clients.bob, key.id), 'AccessDeniedException', denied(ARN.bob, 'Encrypt', key.arn));
    await rejectsWith(
      clients.rootA.send(new DescribeKeyCommand({ KeyId: key.id })),
      'AccessDeniedException',
      denied(ARN.rootA, 'DescribeKey', key.arn),
    );
  });

  test('action wildcards, and an explicit Deny overrides any Allow', async () => {
    const key = await keyWithPolicy(
      {
        Effect: 'Allow',
        Principal: { AWS: A },
        Action: ['kms:Describe*', 'kms:Encrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
      },
      { Effect: 'Deny', Principal: { AWS: ARN.bob }, Action: 'kms:GenerateDataKey*', Resource: '*' },
    );
    await clients.bob.send(new DescribeKeyCommand({ KeyId: key.id }));
    const { CiphertextBlob } = await encrypt(clients.bob, key.id);
    await rejectsWith(
      clients.bob.send(new DecryptCommand({ CiphertextBlob })),
      'AccessDeniedException',
      denied(ARN.bob, 'Decrypt', key.arn),
    );
    await clients.rootA.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256' }));
    await rejectsWith(
      clients.bob.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256' })),
      'AccessDeniedException',
      explicitlyDenied(ARN.bob, 'GenerateDataKey', key.arn),
    );
  });

  test('conditions on encryption context, caller account and grant operations', async () => {
    const key = await keyWithPolicy(
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'kms:Encrypt',
        Resource: '*',
        Condition: {
          StringEquals: { 'kms:CallerAccount': A, 'kms:EncryptionContext:tenant': 'acme' },
          'ForAllValues:StringLike': { 'kms:EncryptionContextKeys': ['tenant', 'aws:*'] },
        },
      },
      {
        Effect: 'Allow',
        Principal: { AWS: ARN.bob },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringLike: { 'kms:EncryptionContext:Tenant': 'ac*' } },
      },
      {
        Effect: 'Allow',
        Principal: { AWS: ARN.bob },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: {
          'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt', 'Encrypt'] },
          Bool: { 'kms:GrantIsForAWSResource': 'false' },
        },
      },
    );
    const { CiphertextBlob } = await encrypt(clients.bob, key.id, { tenant: 'acme', 'aws:table': 't' });
    await rejectsWith(encrypt(clients.bob, key.id, { tenant: 'other' }), 'AccessDeniedException');
    await rejectsWith(encrypt(clients.bob, key.id), 'AccessDeniedException');
    await rejectsWith(encrypt(clients.bob, key.id, { tenant: 'acme', extra: 'x' }), 'AccessDeniedException');
    await rejectsWith(encrypt(clients.carol, key.arn, { tenant: 'acme' }), 'AccessDeniedException');
    const dec = await clients.bob.send(
      new DecryptCommand({ CiphertextBlob, EncryptionContext: { tenant: 'acme', 'aws:table': 't' } }),
    );
    assert.equal(Buffer.from(dec.Plaintext as Uint8Array).toString(), 'p');
    await clients.bob.send(
      new CreateGrantCommand({ KeyId: key.id, GranteePrincipal: ARN.rootA, Operations: ['Decrypt'] }),
    );
    await rejectsWith(
      clients.bob.send(
        new CreateGrantCommand({
          KeyId: key.id,
          GranteePrincipal: ARN.rootA,
          Operations: ['Decrypt', 'ReEncryptFrom'],
        }),
      ),
      'AccessDeniedException',
      denied(ARN.bob, 'CreateGrant', key.arn),
    );
  });
});

describe('cross-account access', () => {
  test("another account's keys are invisible until the key policy allows that account, and then only by ARN", async () => {
    const { KeyMetadata } = await clients.alice.send(new CreateKeyCommand({}));
    const id = KeyMetadata?.KeyId as string;
    const arn = KeyMetadata?.Arn as string;
    const { CiphertextBlob } = await encrypt(clients.alice, id);
    const listed = await clients.carol.send(new ListKeysCommand({}));
    assert.ok(!listed.Keys?.some((k) => k.KeyId === id));
    await rejectsWith(
      clients.carol.send(new DescribeKeyCommand({ KeyId: id })),
      'NotFoundException',
      `Key 'arn:aws:kms:${server.region}:${B}:key/${id}' does not exist`,
    );
    await rejectsWith(
      clients.carol.send(new DescribeKeyCommand({ KeyId: arn })),
      'AccessDeniedException',
      denied(ARN.carol, 'DescribeKey', arn),
    );
    await rejectsWith(clients.carol.send(new DecryptCommand({ CiphertextBlob })), 'AccessDeniedException');

    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: ARN.rootA }, Action: 'kms:*', Resource: '*' },
        {
          Effect: 'Allow',
          Principal: { AWS: ARN.rootB },
          Action: [
            'kms:Encrypt',
            'kms:Decrypt',
            'kms:DescribeKey',
            'kms:ReEncrypt*',
            'kms:CreateGrant',
            'kms:ListGrants',
          ],
          Resource: '*',
        },
      ],
    };
    await clients.alice.send(new PutKeyPolicyCommand({ KeyId: id, Policy: JSON.stringify(policy) }));
    const described = await clients.carol.send(new DescribeKeyCommand({ KeyId: arn }));
    assert.equal(described.KeyMetadata?.AWSAccountId, A);
    const dec = await clients.carol.send(new DecryptCommand({ CiphertextBlob }));
    assert.equal(dec.KeyId, arn);
    const mine = await encrypt(clients.carol, arn);
    await clients.alice.send(new DecryptCommand({ CiphertextBlob: mine.CiphertextBlob }));
    // Still invisible to lists and to id-only lookups in the other account.
    assert.ok(!(await clients.carol.send(new ListKeysCommand({}))).Keys?.some((k) => k.KeyId === id));
    await rejectsWith(encrypt(clients.carol, id), 'NotFoundException');
    // Operations AWS does not allow across accounts stay closed.
    await rejectsWith(
      clients.carol.send(new PutKeyPolicyCommand({ KeyId: arn, Policy: JSON.stringify(policy) })),
      'NotFoundException',
    );
    // ReEncrypt from the other account's key into carol's own.
    const { KeyMetadata: own } = await clients.carol.send(new CreateKeyCommand({}));
    const re = await clients.carol.send(new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: own?.KeyId }));
    assert.equal(re.SourceKeyId, arn);
    assert.equal(re.KeyId, own?.Arn);
  });
});

describe('grants', () => {
  test('a grant lets its grantee use the key within its operations and constraints', async () => {
    const key = await keyWithPolicy();
    await rejectsWith(encrypt(clients.bob, key.id, { tenant: 'acme' }), 'AccessDeniedException');
    const grant = await clients.alice.send(
      new CreateGrantCommand({
        KeyId: key.id,
        GranteePrincipal: ARN.bob,
        Operations: ['Encrypt', 'Decrypt'],
        Constraints: { EncryptionContextSubset: { tenant: 'acme' } },
        Name: 'bob-acme',
      }),
    );
    assert.match(grant.GrantId ?? '', /^[0-9a-f]{64}$/);
    assert.ok(grant.GrantToken);
    const { CiphertextBlob } = await encrypt(clients.bob, key.id, { tenant: 'acme', table: 'orders' });
    await clients.bob.send(
      new DecryptCommand({
        CiphertextBlob,
        EncryptionContext: { tenant: 'acme', table: 'orders' },
        GrantTokens: [grant.GrantToken as string],
      }),
    );
    await rejectsWith(encrypt(clients.bob, key.id, { tenant: 'other' }), 'AccessDeniedException');
    await rejectsWith(encrypt(clients.bob, key.id), 'AccessDeniedException');
    await rejectsWith(
      clients.bob.send(
        new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', EncryptionContext: { tenant: 'acme' } }),
      ),
      'AccessDeniedException',
      denied(ARN.bob, 'GenerateDataKey', key.arn),
    );
    await rejectsWith(clients.bob.send(new DescribeKeyCommand({ KeyId: key.id })), 'AccessDeniedException');
    // The same Name and parameters return the same grant, with a new token.
    const again = await clients.alice.send(
      new CreateGrantCommand({
        KeyId: key.id,
        GranteePrincipal: ARN.bob,
        Operations: ['Decrypt', 'Encrypt'],
        Constraints: { EncryptionContextSubset: { tenant: 'acme' } },
        Name: 'bob-acme',
      }),
    );
    assert.equal(again.GrantId, grant.GrantId);
    assert.notEqual(again.GrantToken, grant.GrantToken);

    const { Grants } = await clients.alice.send(new ListGrantsCommand({ KeyId: key.arn }));
    assert.equal(Grants?.length, 1);
    const entry = Grants?.[0];
    assert.equal(entry?.KeyId, key.arn);
    assert.equal(entry?.GrantId, grant.GrantId);
    assert.equal(entry?.Name, 'bob-acme');
    assert.equal(entry?.GranteePrincipal, ARN.bob);
    assert.equal(entry?.IssuingAccount, ARN.rootA);
    assert.deepEqual(entry?.Operations, ['Encrypt', 'Decrypt']);
    assert.deepEqual(entry?.Constraints, { EncryptionContextSubset: { tenant: 'acme' } });
    assert.ok(entry?.CreationDate);

    // Revoking is a key-policy permission the grantee does not have.
    await rejectsWith(
      clients.bob.send(new RevokeGrantCommand({ KeyId: key.id, GrantId: grant.GrantId })),
      'AccessDeniedException',
      denied(ARN.bob, 'RevokeGrant', key.arn),
    );
    await clients.alice.send(new RevokeGrantCommand({ KeyId: key.id, GrantId: grant.GrantId }));
    await rejectsWith(encrypt(clients.bob, key.id, { tenant: 'acme' }), 'AccessDeniedException');
  });

  test('EncryptionContextEquals requires the exact context', async () => {
    const key = await keyWithPolicy();
    await clients.alice.send(
      new CreateGrantCommand({
        KeyId: key.id,
        GranteePrincipal: ARN.bob,
        Operations: ['Encrypt'],
        Constraints: { EncryptionContextEquals: { a: '1', b: '2' } },
      }),
    );
    await encrypt(clients.bob, key.id, { b: '2', a: '1' });
    await rejectsWith(encrypt(clients.bob, key.id, { a: '1' }), 'AccessDeniedException');
    await rejectsWith(encrypt(clients.bob, key.id, { a: '1', b: '2', c: '3' }), 'AccessDeniedException');
    await rejectsWith(encrypt(clients.bob, key.id, { a: '1', b: 'x' }), 'AccessDeniedException');
  });

  test('retiring: retiring principal (even in another account, by token), grantee with RetireGrant, issuing account, nobody else', async () => {
    const key = await keyWithPolicy();
    const forCarol = await clients.alice.send(
      new CreateGrantCommand({
        KeyId: key.id,
        GranteePrincipal: ARN.carol,
        RetiringPrincipal: ARN.carol,
        Operations: ['Decrypt'],
      }),
    );
    const forBob = await clients.alice.send(
      new CreateGrantCommand({ KeyId: key.id, GranteePrincipal: ARN.bob, Operations: ['Encrypt', 'RetireGrant'] }),
    );
    const plain = await clients.alice.send(
      new CreateGrantCommand({ KeyId: key.id, GranteePrincipal: ARN.carol, Operations: ['Encrypt'] }),
    );
    const { CiphertextBlob } = await encrypt(clients.alice, key.id);
    const dec = await clients.carol.send(new DecryptCommand({ CiphertextBlob }));
    assert.equal(dec.KeyId, key.arn);

    const retirable = await clients.alice.send(new ListRetirableGrantsCommand({ RetiringPrincipal: ARN.carol }));
    assert.deepEqual(
      retirable.Grants?.map((g) => g.GrantId),
      [forCarol.GrantId],
    );
    await rejectsWith(
      clients.rootB.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: forCarol.GrantId })),
      'AccessDeniedException',
      denied(ARN.rootB, 'RetireGrant', key.arn),
    );
    await rejectsWith(
      clients.carol.send(new RetireGrantCommand({ GrantToken: forCarol.GrantToken, DryRun: true })),
      'DryRunOperationException',
    );
    await clients.carol.send(new RetireGrantCommand({ GrantToken: forCarol.GrantToken }));
    await rejectsWith(clients.carol.send(new DecryptCommand({ CiphertextBlob })), 'AccessDeniedException');
    await rejectsWith(
      clients.carol.send(new RetireGrantCommand({ GrantToken: forCarol.GrantToken })),
      'InvalidGrantIdException',
    );

    await clients.bob.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: forBob.GrantId }));
    await rejectsWith(
      clients.carol.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: plain.GrantId })),
      'AccessDeniedException',
    );
    // sealdb has no IAM policies: principals of the issuing account may retire its grants.
    await clients.bob.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: plain.GrantId }));
    await rejectsWith(
      clients.alice.send(new RetireGrantCommand({ GrantToken: 'bm90LWEtcmVhbC10b2tlbg' })),
      'InvalidGrantTokenException',
    );
    await rejectsWith(
      clients.alice.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x'), GrantTokens: ['forged'] })),
      'InvalidGrantTokenException',
    );
  });

  test('a grantee holding CreateGrant may pass on only what it holds', async () => {
    const key = await keyWithPolicy();
    await clients.alice.send(
      new CreateGrantCommand({
        KeyId: key.id,
        GranteePrincipal: ARN.bob,
        Operations: ['Encrypt', 'Decrypt', 'CreateGrant'],
        Constraints: { EncryptionContextSubset: { tenant: 'acme' } },
      }),
    );
    await clients.bob.send(
      new CreateGrantCommand({
        KeyId: key.id,
        GranteePrincipal: ARN.rootA,
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: { tenant: 'acme', table: 't' } },
      }),
    );
    for (const attempt of [
      {
        Operations: ['Decrypt', 'GenerateDataKey'] as const,
        Constraints: { EncryptionContextSubset: { tenant: 'acme' } },
      },
      { Operations: ['Decrypt'] as const },
      { Operations: ['Decrypt'] as const, Constraints: { EncryptionContextSubset: { tenant: 'other' } } },
    ]) {
      await rejectsWith(
        clients.bob.send(
          new CreateGrantCommand({
            KeyId: key.id,
            GranteePrincipal: ARN.rootA,
            Operations: [...attempt.Operations],
            ...(attempt.Constraints ? { Constraints: attempt.Constraints } : {}),
          }),
        ),
        'AccessDeniedException',
      );
    }
  });

  test('CreateGrant validation', async () => {
    const key = await keyWithPolicy();
    await rejectsWith(
      clients.alice.send(new CreateGrantCommand({ KeyId: key.id, Operations: ['Decrypt'] })),
      'ValidationException',
      "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy constraint: Member must not be null",
    );
    await rejectsWith(
      clients.alice.send(
        new CreateGrantCommand({ KeyId: key.id, GranteePrincipal: ARN.bob, Operations: ['Fly' as never] }),
      ),
      'ValidationException',
      /at 'operations' failed to satisfy constraint: Member must satisfy constraint: \[Member must satisfy enum value set/,
    );
    await rejectsWith(
      clients.alice.send(
        new CreateGrantCommand({ KeyId: key.id, GranteePrincipal: ARN.bob, Operations: ['Decrypt'], DryRun: true }),
      ),
      'DryRunOperationException',
    );
    const { Grants } = await clients.alice.send(new ListGrantsCommand({ KeyId: key.id }));
    assert.deepEqual(Grants, []);
  });
});
