import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisableKeyRotationCommand,
  EnableKeyCommand,
  EnableKeyRotationCommand,
  EncryptCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListKeyRotationsCommand,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { createKey } from '../helpers/kms.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DAY = 24 * 60 * 60 * 1000;

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

async function encrypt(keyId: string, text: string) {
  const res = await kms.send(
    new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text), EncryptionContext: { v: text } }),
  );
  return res.CiphertextBlob as Uint8Array;
}

async function decrypt(blob: Uint8Array, text: string) {
  const res = await kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { v: text } }));
  return { text: Buffer.from(res.Plaintext as Uint8Array).toString(), materialId: res.KeyMaterialId };
}

describe('key rotation', () => {
  test('EnableKeyRotation, GetKeyRotationStatus, DisableKeyRotation', async () => {
    const { id, arn } = await newKey();
    let status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: id }));
    assert.equal(status.KeyRotationEnabled, false);
    assert.equal(status.KeyId, arn);
    assert.equal(status.RotationPeriodInDays, undefined);
    const now = server.clock.now();
    await kms.send(new EnableKeyRotationCommand({ KeyId: id }));
    status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: arn }));
    assert.equal(status.KeyRotationEnabled, true);
    assert.equal(status.RotationPeriodInDays, 365);
    const next = status.NextRotationDate?.getTime() ?? 0;
    assert.ok(next >= now + 365 * DAY && next < now + 365 * DAY + 10_000);
    await kms.send(new EnableKeyRotationCommand({ KeyId: id, RotationPeriodInDays: 90 }));
    status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: id }));
    assert.equal(status.RotationPeriodInDays, 90);
    for (const days of [89, 2561]) {
      await rejectsWith(
        kms.send(new EnableKeyRotationCommand({ KeyId: id, RotationPeriodInDays: days })),
        'ValidationException',
        days < 90 ? /greater than or equal to 90/ : /less than or equal to 2560/,
      );
    }
    await kms.send(new DisableKeyRotationCommand({ KeyId: id }));
    status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: id }));
    assert.equal(status.KeyRotationEnabled, false);
    assert.equal(status.NextRotationDate, undefined);
  });

  test('automatic rotation adds material when the period passes; old ciphertexts still decrypt', async () => {
    const { id } = await newKey();
    const old = await encrypt(id, 'before rotation');
    const first = (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.CurrentKeyMaterialId;
    await kms.send(new EnableKeyRotationCommand({ KeyId: id, RotationPeriodInDays: 90 }));
    server.clock.advance(89 * DAY);
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.CurrentKeyMaterialId, first);
    server.clock.advance(1 * DAY + 1000);
    const second = (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.CurrentKeyMaterialId;
    assert.notEqual(second, first);
    const fresh = await encrypt(id, 'after rotation');
    const oldResult = await decrypt(old, 'before rotation');
    assert.equal(oldResult.text, 'before rotation');
    assert.equal(oldResult.materialId, first);
    const freshResult = await decrypt(fresh, 'after rotation');
    assert.equal(freshResult.materialId, second);
    const rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: id }));
    assert.equal(rotations.Rotations?.length, 1);
    assert.equal(rotations.Rotations?.[0]?.RotationType, 'AUTOMATIC');
    assert.equal(rotations.Rotations?.[0]?.KeyMaterialState, 'CURRENT');
    assert.equal(rotations.Rotations?.[0]?.KeyMaterialId, second);
    const status = await kms.send(new GetKeyRotationStatusCommand({ KeyId: id }));
    assert.ok((status.NextRotationDate?.getTime() ?? 0) > server.clock.now());
  });

  test('a disabled key is not rotated until it is enabled again', async () => {
    const { id } = await newKey();
    await kms.send(new EnableKeyRotationCommand({ KeyId: id, RotationPeriodInDays: 90 }));
    await kms.send(new DisableKeyCommand({ KeyId: id }));
    server.clock.advance(91 * DAY);
    let rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: id }));
    assert.equal(rotations.Rotations?.length, 0);
    await kms.send(new EnableKeyCommand({ KeyId: id }));
    await kms.send(new DescribeKeyCommand({ KeyId: id }));
    rotations = await kms.send(new ListKeyRotationsCommand({ KeyId: id }));
    assert.equal(rotations.Rotations?.length, 1);
  });

  test('RotateKeyOnDemand: immediate, listed, limited to 10; every version still decrypts', async () => {
    const { id, arn } = await newKey();
    const blobs: Array<[Uint8Array, string]> = [[await encrypt(id, 'v1'), 'v1']];
    for (let i = 2; i <= 11; i++) {
      const res = await kms.send(new RotateKeyOnDemandCommand({ KeyId: id }));
      assert.equal(res.KeyId, arn);
      blobs.push([await encrypt(id, `v${i}`), `v${i}`]);
    }
    await rejectsWith(kms.send(new RotateKeyOnDemandCommand({ KeyId: id })), 'LimitExceededException');
    const materialIds = new Set<string>();
    for (const [blob, text] of blobs) {
      const res = await decrypt(blob, text);
      assert.equal(res.text, text);
      materialIds.add(res.materialId as string);
    }
    assert.equal(materialIds.size, 11);
    const rotationsOnly = await kms.send(new ListKeyRotationsCommand({ KeyId: id }));
    assert.equal(rotationsOnly.Rotations?.length, 10);
    assert.ok(
      rotationsOnly.Rotations?.every((r) => r.RotationType === 'ON_DEMAND' && r.RotationDate && r.KeyId === id),
    );
    assert.deepEqual(
      rotationsOnly.Rotations?.map((r) => r.KeyMaterialState),
      [...Array(9).fill('NON_CURRENT'), 'CURRENT'],
    );
    const all = await kms.send(
      new ListKeyRotationsCommand({ KeyId: id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 6 }),
    );
    assert.equal(all.Rotations?.length, 6);
    assert.equal(all.Truncated, true);
    assert.equal(all.Rotations?.[0]?.RotationType, undefined);
    const rest = await kms.send(
      new ListKeyRotationsCommand({ KeyId: id, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Marker: all.NextMarker }),
    );
    assert.equal(rest.Rotations?.length, 5);
    assert.equal(rest.Truncated, false);
  });

  test('ReEncrypt moves old ciphertexts to the newest material', async () => {
    const { id } = await newKey();
    const old = await encrypt(id, 'r');
    await kms.send(new RotateKeyOnDemandCommand({ KeyId: id }));
    const current = (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.CurrentKeyMaterialId;
    const re = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: old,
        SourceEncryptionContext: { v: 'r' },
        DestinationKeyId: id,
        DestinationEncryptionContext: { v: 'r' },
      }),
    );
    assert.equal(re.DestinationKeyMaterialId, current);
    assert.notEqual(re.SourceKeyMaterialId, current);
    assert.equal((await decrypt(re.CiphertextBlob as Uint8Array, 'r')).materialId, current);
  });
});
