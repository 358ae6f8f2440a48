import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeyPoliciesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
  UpdateKeyDescriptionCommand,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DAY = 24 * 60 * 60 * 1000;
const ACCOUNT = '000000000000';

let server: TestServer;
let kms: KMSClient;

before(async () => {
  server = await startTestServer();
  kms = new KMSClient(server.clientConfig());
});
after(async () => {
  kms.destroy();
  await server.cleanup();
});

/** The manual clock runs on top of real time, so dates are only known to within the test's run time. */
function assertNear(date: Date | undefined, expectedMs: number): void {
  const actual = date?.getTime() ?? Number.NaN;
  assert.ok(
    actual >= expectedMs && actual < expectedMs + 10_000,
    `${date?.toISOString()} is not near ${new Date(expectedMs).toISOString()}`,
  );
}

async function newKey(input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand(input));
  assert.ok(KeyMetadata?.KeyId && KeyMetadata.Arn);
  return { id: KeyMetadata.KeyId, arn: KeyMetadata.Arn, metadata: KeyMetadata };
}

describe('CreateKey and DescribeKey', () => {
  test('CreateKey answers the full KeyMetadata of a symmetric customer managed key', async () => {
    const before = Math.floor(server.clock.now() / 1000);
    const { metadata, id } = await newKey({ Description: 'orders table key' });
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(metadata.Arn, `arn:aws:kms:${server.region}:${ACCOUNT}:key/${id}`);
    assert.equal(metadata.AWSAccountId, ACCOUNT);
    assert.equal(metadata.Description, 'orders table key');
    assert.equal(metadata.Enabled, true);
    assert.equal(metadata.KeyState, 'Enabled');
    assert.equal(metadata.KeyUsage, 'ENCRYPT_DECRYPT');
    assert.equal(metadata.KeySpec, 'SYMMETRIC_DEFAULT');
    assert.equal(metadata.CustomerMasterKeySpec, 'SYMMETRIC_DEFAULT');
    assert.deepEqual(metadata.EncryptionAlgorithms, ['SYMMETRIC_DEFAULT']);
    assert.equal(metadata.Origin, 'AWS_KMS');
    assert.equal(metadata.KeyManager, 'CUSTOMER');
    assert.equal(metadata.MultiRegion, false);
    assert.match(metadata.CurrentKeyMaterialId ?? '', /^[0-9a-f]{64}$/);
    assert.ok((metadata.CreationDate?.getTime() ?? 0) / 1000 >= before);
    assert.equal(metadata.DeletionDate, undefined);
  });

  test('DescribeKey accepts every form of key id', async () => {
    const { id, arn } = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/describe-me', TargetKeyId: id }));
    for (const KeyId of [id, arn, 'alias/describe-me', `arn:aws:kms:${server.region}:${ACCOUNT}:alias/describe-me`]) {
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId }));
      assert.equal(KeyMetadata?.Arn, arn);
    }
  });

  test('only symmetric encryption keys can be created', async () => {
    await rejectsWith(kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048' })), 'UnsupportedOperationException');
    await rejectsWith(kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256' })), 'UnsupportedOperationException');
    await rejectsWith(
      kms.send(new CreateKeyCommand({ KeyUsage: 'SIGN_VERIFY' })),
      'ValidationException',
      'KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT',
    );
    await rejectsWith(kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' })), 'UnsupportedOperationException');
    await rejectsWith(kms.send(new CreateKeyCommand({ MultiRegion: true })), 'UnsupportedOperationException');
    await rejectsWith(
      kms.send(new CreateKeyCommand({ KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' })),
      'ValidationException',
    );
    await rejectsWith(
      kms.send(new CreateKeyCommand({ KeySpec: 'AES_999' as never })),
      'ValidationException',
      /at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set/,
    );
    const ok = await newKey({ KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT', Origin: 'AWS_KMS' });
    assert.equal(ok.metadata.KeySpec, 'SYMMETRIC_DEFAULT');
  });

  test('not found: key id, key ARN of another account, another region, malformed ids', async () => {
    const missing = '0b0b0b0b-1111-2222-3333-444444444444';
    await rejectsWith(
      kms.send(new DescribeKeyCommand({ KeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:${server.region}:${ACCOUNT}:key/${missing}' does not exist`,
    );
    const otherAccount = `arn:aws:kms:${server.region}:999999999999:key/${missing}`;
    await rejectsWith(
      kms.send(new DescribeKeyCommand({ KeyId: otherAccount })),
      'NotFoundException',
      `Key '${otherAccount}' does not exist`,
    );
    await rejectsWith(
      kms.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:ap-south-1:${ACCOUNT}:key/${missing}` })),
      'NotFoundException',
      'Invalid arn ap-south-1',
    );
    await rejectsWith(
      kms.send(new DescribeKeyCommand({ KeyId: 'fake-key-id' })),
      'NotFoundException',
      "Invalid keyId 'fake-key-id'",
    );
    await rejectsWith(
      kms.send(new DescribeKeyCommand({ KeyId: '' })),
      'ValidationException',
      /length greater than or equal to 1/,
    );
    // Operations that take only key ids do not resolve aliases.
    await rejectsWith(
      kms.send(new EnableKeyCommand({ KeyId: 'alias/describe-me' })),
      'NotFoundException',
      "Invalid keyId 'alias/describe-me'",
    );
  });

  test('ListKeys pages through the account keys with Limit and Marker', async () => {
    const created = new Set<string>();
    for (let i = 0; i < 5; i++) created.add((await newKey()).id);
    const seen: string[] = [];
    let Marker: string | undefined;
    do {
      const page = await kms.send(new ListKeysCommand({ Limit: 2, ...(Marker ? { Marker } : {}) }));
      assert.ok((page.Keys?.length ?? 0) <= 2);
      for (const k of page.Keys ?? []) {
        assert.equal(k.KeyArn, `arn:aws:kms:${server.region}:${ACCOUNT}:key/${k.KeyId}`);
        seen.push(k.KeyId as string);
      }
      assert.equal(page.Truncated, page.NextMarker !== undefined);
      Marker = page.NextMarker;
    } while (Marker);
    for (const id of created) assert.ok(seen.includes(id));
    assert.equal(new Set(seen).size, seen.length);
    await rejectsWith(kms.send(new ListKeysCommand({ Marker: '!!' })), 'InvalidMarkerException');
  });

  test('UpdateKeyDescription', async () => {
    const { id } = await newKey({ Description: 'old' });
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: id, Description: 'new' }));
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: id }));
    assert.equal(KeyMetadata?.Description, 'new');
  });
});

describe('key state transitions', () => {
  test('Enabled → Disabled → Enabled (both idempotent)', async () => {
    const { id } = await newKey();
    await kms.send(new DisableKeyCommand({ KeyId: id }));
    await kms.send(new DisableKeyCommand({ KeyId: id }));
    let { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: id }));
    assert.equal(KeyMetadata?.KeyState, 'Disabled');
    assert.equal(KeyMetadata?.Enabled, false);
    await kms.send(new EnableKeyCommand({ KeyId: id }));
    await kms.send(new EnableKeyCommand({ KeyId: id }));
    ({ KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: id })));
    assert.equal(KeyMetadata?.KeyState, 'Enabled');
    assert.equal(KeyMetadata?.Enabled, true);
  });

  test('Enabled/Disabled → PendingDeletion → (cancel) Disabled', async () => {
    for (const startDisabled of [false, true]) {
      const { id, arn } = await newKey();
      if (startDisabled) await kms.send(new DisableKeyCommand({ KeyId: id }));
      const now = server.clock.now();
      const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: id }));
      assert.equal(scheduled.KeyId, arn);
      assert.equal(scheduled.KeyState, 'PendingDeletion');
      assert.equal(scheduled.PendingWindowInDays, 30);
      assertNear(scheduled.DeletionDate, now + 30 * DAY);
      const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: id }));
      assert.equal(KeyMetadata?.KeyState, 'PendingDeletion');
      assert.equal(KeyMetadata?.Enabled, false);
      assert.equal(KeyMetadata?.PendingDeletionWindowInDays, 30);
      assert.equal(KeyMetadata?.DeletionDate?.getTime(), scheduled.DeletionDate?.getTime());
      const cancelled = await kms.send(new CancelKeyDeletionCommand({ KeyId: id }));
      assert.equal(cancelled.KeyId, arn);
      const after = await kms.send(new DescribeKeyCommand({ KeyId: id }));
      assert.equal(after.KeyMetadata?.KeyState, 'Disabled');
      assert.equal(after.KeyMetadata?.DeletionDate, undefined);
      assert.equal(after.KeyMetadata?.PendingDeletionWindowInDays, undefined);
    }
  });

  test('PendingWindowInDays must be 7 to 30', async () => {
    const { id } = await newKey();
    for (const days of [6, 31]) {
      await rejectsWith(
        kms.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: days })),
        'ValidationException',
        `PendingWindowInDays should be between 7 and 30, but it is ${days}`,
      );
    }
    await rejectsWith(
      kms.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 366 })),
      'ValidationException',
      /Member must have value less than or equal to 365/,
    );
    const res = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 }));
    assert.equal(res.PendingWindowInDays, 7);
  });

  test('the state table for management operations', async () => {
    const { id, arn } = await newKey();
    const notPending = `${arn} is not pending deletion.`;
    await rejectsWith(kms.send(new CancelKeyDeletionCommand({ KeyId: id })), 'KMSInvalidStateException', notPending);
    await kms.send(new DisableKeyCommand({ KeyId: id }));
    await rejectsWith(kms.send(new CancelKeyDeletionCommand({ KeyId: id })), 'KMSInvalidStateException', notPending);
    // Disabled: management works, rotation and grants do not.
    await kms.send(new UpdateKeyDescriptionCommand({ KeyId: id, Description: 'while disabled' }));
    await kms.send(new TagResourceCommand({ KeyId: id, Tags: [{ TagKey: 'k', TagValue: 'v' }] }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/state-table', TargetKeyId: id }));
    const disabled = `${arn} is disabled.`;
    await rejectsWith(kms.send(new EnableKeyRotationCommand({ KeyId: id })), 'DisabledException', disabled);
    await rejectsWith(kms.send(new DisableKeyRotationCommand({ KeyId: id })), 'DisabledException', disabled);
    await rejectsWith(kms.send(new RotateKeyOnDemandCommand({ KeyId: id })), 'DisabledException', disabled);
    await rejectsWith(
      kms.send(
        new CreateGrantCommand({
          KeyId: id,
          GranteePrincipal: `arn:aws:iam::${ACCOUNT}:root`,
          Operations: ['Decrypt'],
        }),
      ),
      'DisabledException',
      disabled,
    );
    // PendingDeletion: reads work, changes fail.
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 }));
    const pending = `${arn} is pending deletion.`;
    for (const call of [
      () => kms.send(new EnableKeyCommand({ KeyId: id })),
      () => kms.send(new DisableKeyCommand({ KeyId: id })),
      () => kms.send(new ScheduleKeyDeletionCommand({ KeyId: id })),
      () => kms.send(new UpdateKeyDescriptionCommand({ KeyId: id, Description: 'x' })),
      () => kms.send(new TagResourceCommand({ KeyId: id, Tags: [{ TagKey: 'a', TagValue: 'b' }] })),
      () => kms.send(new UntagResourceCommand({ KeyId: id, TagKeys: ['k'] })),
      () => kms.send(new EnableKeyRotationCommand({ KeyId: id })),
      () => kms.send(new RotateKeyOnDemandCommand({ KeyId: id })),
      () => kms.send(new CreateAliasCommand({ AliasName: 'alias/state-table-2', TargetKeyId: id })),
      () => kms.send(new UpdateAliasCommand({ AliasName: 'alias/state-table', TargetKeyId: id })),
    ]) {
      await rejectsWith(call(), 'KMSInvalidStateException', pending);
    }
    await kms.send(new DescribeKeyCommand({ KeyId: id }));
    await kms.send(new GetKeyPolicyCommand({ KeyId: id }));
    await kms.send(new ListKeyPoliciesCommand({ KeyId: id }));
    await kms.send(new GetKeyRotationStatusCommand({ KeyId: id }));
    await kms.send(new ListResourceTagsCommand({ KeyId: id }));
    await kms.send(new ListGrantsCommand({ KeyId: id }));
    await kms.send(new ListAliasesCommand({ KeyId: id }));
    await kms.send(new CancelKeyDeletionCommand({ KeyId: id }));
  });

  test('when the waiting period passes, the key and its material are destroyed for good', async () => {
    const { id, arn } = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: id }));
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('shredded'), EncryptionContext: { t: '1' } }),
    );
    const grant = await kms.send(
      new CreateGrantCommand({
        KeyId: id,
        GranteePrincipal: `arn:aws:iam::${ACCOUNT}:user/x`,
        Operations: ['Decrypt'],
      }),
    );
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: id }));
    server.clock.advance(30 * DAY - 1000);
    // One second early: still there, and recoverable.
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: id }));
    assert.equal(KeyMetadata?.KeyState, 'PendingDeletion');
    server.clock.advance(1000);
    const gone = `Key '${arn}' does not exist`;
    await rejectsWith(kms.send(new DescribeKeyCommand({ KeyId: id })), 'NotFoundException', gone);
    await rejectsWith(kms.send(new CancelKeyDeletionCommand({ KeyId: id })), 'NotFoundException', gone);
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: { t: '1' } })),
      'NotFoundException',
      gone,
    );
    const keys = await kms.send(new ListKeysCommand({ Limit: 1000 }));
    assert.ok(!keys.Keys?.some((k) => k.KeyId === id));
    const aliases = await kms.send(new ListAliasesCommand({}));
    assert.ok(!aliases.Aliases?.some((a) => a.AliasName === 'alias/doomed'));
    await rejectsWith(kms.send(new RetireGrantCommand({ GrantToken: grant.GrantToken })), 'InvalidGrantIdException');
    // A new key under the same alias name is a different key: the old ciphertext stays unreadable.
    const fresh = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: fresh.id }));
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob, KeyId: 'alias/doomed', EncryptionContext: { t: '1' } })),
      'NotFoundException',
    );
  });
});

describe('key policies', () => {
  test('the default policy gives the account root kms:*, as AWS writes it', async () => {
    const { id } = await newKey();
    const res = await kms.send(new GetKeyPolicyCommand({ KeyId: id, PolicyName: 'default' }));
    assert.equal(res.PolicyName, 'default');
    assert.deepEqual(JSON.parse(res.Policy as string), {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [
        {
          Sid: 'Enable IAM User Permissions',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
          Action: 'kms:*',
          Resource: '*',
        },
      ],
    });
    assert.match(res.Policy as string, /^\{\n {2}"Version" : "2012-10-17",\n/);
    const list = await kms.send(new ListKeyPoliciesCommand({ KeyId: id }));
    assert.deepEqual(list.PolicyNames, ['default']);
    assert.equal(list.Truncated, false);
    await rejectsWith(kms.send(new GetKeyPolicyCommand({ KeyId: id, PolicyName: 'other' })), 'NotFoundException');
  });

  test('PutKeyPolicy stores the policy; malformed policies and lockouts are refused', async () => {
    const { id } = await newKey();
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: ACCOUNT }, Action: 'kms:*', Resource: '*' }],
    });
    await kms.send(new PutKeyPolicyCommand({ KeyId: id, Policy: policy }));
    assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: id }))).Policy, policy);

    for (const bad of [
      'not json',
      JSON.stringify({ Version: '2012-10-17' }),
      JSON.stringify({ Statement: [{ Effect: 'Maybe', Principal: '*', Action: 'kms:*' }] }),
      JSON.stringify({ Statement: [{ Effect: 'Allow', Principal: { AWS: 'bob' }, Action: 'kms:*' }] }),
      JSON.stringify({
        Statement: [
          {
            Effect: 'Allow',
            Principal: '*',
            Action: 'kms:*',
            Condition: { DateGreaterThan: { 'aws:CurrentTime': 'x' } },
          },
        ],
      }),
    ]) {
      await rejectsWith(
        kms.send(new PutKeyPolicyCommand({ KeyId: id, Policy: bad })),
        'MalformedPolicyDocumentException',
      );
    }
    const lockout = JSON.stringify({
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    });
    const lockoutMessage = 'The new key policy will not allow you to update the key policy in the future.';
    await rejectsWith(
      kms.send(new PutKeyPolicyCommand({ KeyId: id, Policy: lockout })),
      'MalformedPolicyDocumentException',
      lockoutMessage,
    );
    await rejectsWith(
      kms.send(new CreateKeyCommand({ Policy: lockout })),
      'MalformedPolicyDocumentException',
      lockoutMessage,
    );
    // With the safety check bypassed, the owner really does lock itself out.
    await kms.send(new PutKeyPolicyCommand({ KeyId: id, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
    await rejectsWith(kms.send(new PutKeyPolicyCommand({ KeyId: id, Policy: policy })), 'AccessDeniedException');
    await rejectsWith(kms.send(new DescribeKeyCommand({ KeyId: id })), 'AccessDeniedException');
    await kms.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('still allowed') }));
    const created = await newKey({ Policy: lockout, BypassPolicyLockoutSafetyCheck: true });
    await rejectsWith(kms.send(new DescribeKeyCommand({ KeyId: created.id })), 'AccessDeniedException');
  });
});

describe('tags', () => {
  test('CreateKey tags, TagResource overwrites, UntagResource removes, ListResourceTags pages', async () => {
    const { id } = await newKey({ Tags: [{ TagKey: 'team', TagValue: 'storage' }] });
    await kms.send(
      new TagResourceCommand({
        KeyId: id,
        Tags: [
          { TagKey: 'team', TagValue: 'security' },
          { TagKey: 'env', TagValue: 'test' },
          { TagKey: 'cost', TagValue: '' },
        ],
      }),
    );
    let tags = await kms.send(new ListResourceTagsCommand({ KeyId: id }));
    assert.deepEqual(tags.Tags, [
      { TagKey: 'cost', TagValue: '' },
      { TagKey: 'env', TagValue: 'test' },
      { TagKey: 'team', TagValue: 'security' },
    ]);
    assert.equal(tags.Truncated, false);
    const first = await kms.send(new ListResourceTagsCommand({ KeyId: id, Limit: 2 }));
    assert.equal(first.Tags?.length, 2);
    assert.equal(first.Truncated, true);
    const second = await kms.send(new ListResourceTagsCommand({ KeyId: id, Marker: first.NextMarker }));
    assert.deepEqual(second.Tags, [{ TagKey: 'team', TagValue: 'security' }]);
    await kms.send(new UntagResourceCommand({ KeyId: id, TagKeys: ['cost', 'absent'] }));
    tags = await kms.send(new ListResourceTagsCommand({ KeyId: id }));
    assert.deepEqual(
      tags.Tags?.map((t) => t.TagKey),
      ['env', 'team'],
    );
    await rejectsWith(
      kms.send(new TagResourceCommand({ KeyId: id, Tags: [{ TagKey: 'aws:reserved', TagValue: 'x' }] })),
      'TagException',
      'Tags beginning with aws: are reserved',
    );
    await rejectsWith(kms.send(new CreateKeyCommand({ Tags: [{ TagKey: 'AWS:x', TagValue: 'x' }] })), 'TagException');
  });
});

describe('grants on one account (local mode)', () => {
  test('RevokeGrant and RetireGrant by id', async () => {
    const { id } = await newKey();
    const grantee = `arn:aws:iam::${ACCOUNT}:user/app`;
    const a = await kms.send(new CreateGrantCommand({ KeyId: id, GranteePrincipal: grantee, Operations: ['Encrypt'] }));
    const b = await kms.send(new CreateGrantCommand({ KeyId: id, GranteePrincipal: grantee, Operations: ['Decrypt'] }));
    await kms.send(new RevokeGrantCommand({ KeyId: id, GrantId: a.GrantId }));
    await rejectsWith(kms.send(new RevokeGrantCommand({ KeyId: id, GrantId: a.GrantId })), 'InvalidGrantIdException');
    await rejectsWith(
      kms.send(new RevokeGrantCommand({ KeyId: id, GrantId: b.GrantId, DryRun: true })),
      'DryRunOperationException',
    );
    // The account that issued a grant may retire it.
    await kms.send(new RetireGrantCommand({ KeyId: id, GrantId: b.GrantId }));
    const { Grants } = await kms.send(new ListGrantsCommand({ KeyId: id }));
    assert.deepEqual(Grants, []);
    await rejectsWith(
      kms.send(new RetireGrantCommand({ GrantId: b.GrantId })),
      'ValidationException',
      'Grant token OR (grant ID, key ID) must be specified',
    );
  });
});
