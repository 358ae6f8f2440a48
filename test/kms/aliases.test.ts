import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateAliasCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  KMSClient,
  ListAliasesCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { createKey } from '../helpers/kms.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

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

const newKey = () => createKey(kms);

const aliasArn = (name: string) => `arn:aws:kms:${server.region}:${ACCOUNT}:${name}`;

describe('aliases', () => {
  test('CreateAlias, ListAliases (with KeyId filter), UpdateAlias, DeleteAlias', async () => {
    const a = await newKey();
    const b = await newKey();
    const t0 = server.clock.now();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/app/orders', TargetKeyId: a.arn }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/app-orders-2', TargetKeyId: a.id }));
    let listed = await kms.send(new ListAliasesCommand({ KeyId: a.id }));
    assert.deepEqual(
      listed.Aliases?.map((x) => [x.AliasName, x.AliasArn, x.TargetKeyId]),
      [
        ['alias/app-orders-2', aliasArn('alias/app-orders-2'), a.id],
        ['alias/app/orders', aliasArn('alias/app/orders'), a.id],
      ],
    );
    const entry = listed.Aliases?.[1];
    assert.ok((entry?.CreationDate?.getTime() ?? 0) >= t0 - 1000);
    assert.ok(entry?.LastUpdatedDate);

    server.clock.advance(60_000);
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/orders', TargetKeyId: b.id }));
    const described = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/orders' }));
    assert.equal(described.KeyMetadata?.Arn, b.arn);
    listed = await kms.send(new ListAliasesCommand({ KeyId: b.arn }));
    assert.equal(listed.Aliases?.length, 1);
    const updated = listed.Aliases?.[0];
    assert.ok((updated?.LastUpdatedDate?.getTime() ?? 0) > (updated?.CreationDate?.getTime() ?? 0));

    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/orders' }));
    await rejectsWith(
      kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/orders' })),
      'NotFoundException',
      `Alias ${aliasArn('alias/app/orders')} is not found.`,
    );
    await rejectsWith(
      kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/orders' })),
      'NotFoundException',
      `Alias ${aliasArn('alias/app/orders')} is not found.`,
    );
    await rejectsWith(
      kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/orders', TargetKeyId: b.id })),
      'NotFoundException',
      `Alias ${aliasArn('alias/app/orders')} is not found.`,
    );
  });

  test('name rules: prefix, duplicates, targets must be keys, model pattern', async () => {
    const key = await newKey();
    await rejectsWith(
      kms.send(new CreateAliasCommand({ AliasName: 'no-prefix', TargetKeyId: key.id })),
      'ValidationException',
      'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html',
    );
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: key.id }));
    await rejectsWith(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/dup', TargetKeyId: key.id })),
      'AlreadyExistsException',
      `An alias with the name ${aliasArn('alias/dup')} already exists`,
    );
    await rejectsWith(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/to-alias', TargetKeyId: 'alias/dup' })),
      'ValidationException',
      'Aliases must refer to keys. Not aliases',
    );
    await rejectsWith(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/bad name!', TargetKeyId: key.id })),
      'ValidationException',
      "1 validation error detected: Value 'alias/bad name!' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$",
    );
    const missing = '12345678-90ab-cdef-1234-567890abcdef';
    await rejectsWith(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/orphan', TargetKeyId: missing })),
      'NotFoundException',
      `Key 'arn:aws:kms:${server.region}:${ACCOUNT}:key/${missing}' does not exist`,
    );
  });

  test('alias/aws/ is reserved: no create, update or delete', async () => {
    const key = await newKey();
    await rejectsWith(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: key.id })),
      'NotAuthorizedException',
    );
    await rejectsWith(
      kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/dynamodb', TargetKeyId: key.id })),
      'NotAuthorizedException',
    );
    await rejectsWith(
      kms.send(new UpdateAliasCommand({ AliasName: 'alias/aws/dynamodb', TargetKeyId: key.id })),
      'NotAuthorizedException',
    );
    await rejectsWith(kms.send(new DeleteAliasCommand({ AliasName: 'alias/aws/dynamodb' })), 'NotAuthorizedException');
  });

  test('ListAliases shows alias/aws/dynamodb before and after its key exists', async () => {
    const all = async () => {
      const out = [];
      let Marker: string | undefined;
      do {
        const page = await kms.send(new ListAliasesCommand({ Limit: 3, ...(Marker ? { Marker } : {}) }));
        out.push(...(page.Aliases ?? []));
        Marker = page.NextMarker;
      } while (Marker);
      return out;
    };
    const before = (await all()).find((a) => a.AliasName === 'alias/aws/dynamodb');
    assert.deepEqual(before, { AliasName: 'alias/aws/dynamodb', AliasArn: aliasArn('alias/aws/dynamodb') });
    // DescribeKey of the predefined alias creates the AWS managed key, as KMS does.
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/dynamodb' }));
    assert.equal(KeyMetadata?.KeyManager, 'AWS');
    assert.equal(KeyMetadata?.Description, 'Default key that protects my DynamoDB data when no other key is defined');
    const afterList = (await all()).filter((a) => a.AliasName === 'alias/aws/dynamodb');
    assert.equal(afterList.length, 1);
    assert.equal(afterList[0]?.TargetKeyId, KeyMetadata?.KeyId);
    const names = (await all()).map((a) => a.AliasName as string);
    assert.deepEqual(names, [...names].sort());
  });

  test('alias state rules: disabled targets are fine, pending deletion targets are not; the old key may be pending', async () => {
    const a = await newKey();
    const b = await newKey();
    await kms.send(new DisableKeyCommand({ KeyId: a.id }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/state', TargetKeyId: a.id }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: a.id, PendingWindowInDays: 7 }));
    await kms.send(new UpdateAliasCommand({ AliasName: 'alias/state', TargetKeyId: b.id }));
    await kms.send(new EncryptCommand({ KeyId: 'alias/state', Plaintext: Buffer.from('x') }));
    await rejectsWith(
      kms.send(new UpdateAliasCommand({ AliasName: 'alias/state', TargetKeyId: a.id })),
      'KMSInvalidStateException',
      `${a.arn} is pending deletion.`,
    );
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/state' }));
  });
});
