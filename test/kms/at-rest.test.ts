/** Nothing secret reaches the disk in the clear, and keys survive restarts until they are destroyed. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  KMSClient,
  ReEncryptCommand,
  RotateKeyOnDemandCommand,
} from '@aws-sdk/client-kms';
import { ManualClock } from '../../src/core/clock.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { rootPrincipal } from '../../src/http/auth.js';
import { createKmsService } from '../../src/kms/index.js';
import { KeyMaterialVault } from '../../src/kms/key-material.js';
import { openKeyStore } from '../../src/kms/key-store.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { filesContaining, filesUnder } from '../helpers/files.js';
import { startTestServer } from '../helpers/server.js';

const DAY = 24 * 60 * 60 * 1000;
const scratch = mkdtempSync(join(tmpdir(), 'sealdb-kms-at-rest-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The encodings a secret could leak in: raw bytes, base64 and hex. */
function leaks(dir: string, secret: Buffer): string[] {
  const needles = [secret, Buffer.from(secret.toString('base64')), Buffer.from(secret.toString('hex'))];
  return needles.flatMap((n) => filesContaining(dir, n));
}

describe('at rest', () => {
  test('the data directory holds no data key, plaintext or random bytes the service handed out', async () => {
    const server = await startTestServer();
    const kms = new KMSClient(server.clientConfig());
    try {
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'scan' }));
      const keyId = KeyMetadata?.KeyId as string;
      const secrets: Buffer[] = [];
      const context = { 'aws:dynamodb:tableName': 'Scan', 'aws:dynamodb:subscriberId': '000000000000' };
      for (let i = 0; i < 4; i++) {
        const dk = await kms.send(
          new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: context }),
        );
        secrets.push(Buffer.from(dk.Plaintext as Uint8Array));
        if (i === 1) await kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
      }
      const marker = Buffer.from(`PLAINTEXT-MARKER-${randomBytes(16).toString('hex')}`);
      secrets.push(marker);
      const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: marker, EncryptionContext: context }));
      await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: context }));
      await kms.send(
        new ReEncryptCommand({
          CiphertextBlob: enc.CiphertextBlob,
          SourceEncryptionContext: context,
          DestinationKeyId: keyId,
        }),
      );
      const random = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
      secrets.push(Buffer.from(random.Plaintext as Uint8Array));
      assert.ok(filesUnder(server.dataDir).length > 0);
      for (const secret of secrets) assert.deepEqual(leaks(server.dataDir, secret), []);
      // Nor does the context (table names) appear in the clear: the key store is encrypted.
      assert.deepEqual(filesContaining(server.dataDir, 'aws:dynamodb:tableName'), []);
    } finally {
      kms.destroy();
      await server.cleanup();
    }
  });

  test('key material is stored wrapped, inside an encrypted key store', async () => {
    const dataDir = join(scratch, 'material');
    const keyFile = join(scratch, 'material-keys', 'root.key');
    const clock = new ManualClock();
    const root = RootOfTrust.open({ kind: 'key-file', path: keyFile }, dataDir);
    const service = createKmsService({ root, dataDir, clock, region: 'us-east-1' });
    const caller = { principal: rootPrincipal('123456789012') };
    const created = await service.call('CreateKey', {}, caller);
    const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
    await service.call('RotateKeyOnDemand', { KeyId: keyId }, caller);
    service.close();

    const file = join(dataDir, 'kms', 'keystore.db');
    assert.ok(existsSync(file));
    assert.notEqual(readFileSync(file).subarray(0, 15).toString('latin1'), 'SQLite format 3');
    const store = openKeyStore(root, dataDir);
    const vault = new KeyMaterialVault(root, store);
    try {
      const materials = store.listMaterials(keyId);
      assert.equal(materials.length, 2);
      for (const m of materials) {
        const plain = vault.material(keyId, m.version) as Buffer;
        assert.equal(plain.length, 32);
        assert.ok(!m.wrapped.includes(plain), 'the stored record is wrapped');
        assert.deepEqual(leaks(dataDir, plain), []);
        assert.deepEqual(filesContaining(dataDir, m.wrapped.subarray(13, 45)), []);
      }
    } finally {
      vault.close();
      store.close();
      root.destroy();
    }
  });

  test('keys survive a restart; a deletion that falls due while stopped happens at startup', async () => {
    const dataDir = join(scratch, 'restart');
    const keyFile = join(scratch, 'restart-keys', 'root.key');
    const clock = new ManualClock();
    const caller = { principal: rootPrincipal('123456789012') };
    const context = { purpose: 'restart' };

    let root = RootOfTrust.open({ kind: 'key-file', path: keyFile }, dataDir);
    let service = createKmsService({ root, dataDir, clock, region: 'us-east-1' });
    const keep = ((await service.call('CreateKey', {}, caller)).KeyMetadata as { Arn: string }).Arn;
    const doomed = ((await service.call('CreateKey', {}, caller)).KeyMetadata as { Arn: string }).Arn;
    await service.call('CreateAlias', { AliasName: 'alias/kept', TargetKeyId: keep }, caller);
    await service.call('EnableKeyRotation', { KeyId: keep, RotationPeriodInDays: 90 }, caller);
    const grant = await service.call(
      'CreateGrant',
      { KeyId: keep, GranteePrincipal: caller.principal.arn, Operations: ['Decrypt'] },
      caller,
    );
    const kept = await service.call(
      'Encrypt',
      { KeyId: keep, Plaintext: Buffer.from('kept'), EncryptionContext: context },
      caller,
    );
    const lost = await service.call(
      'Encrypt',
      { KeyId: doomed, Plaintext: Buffer.from('lost'), EncryptionContext: context },
      caller,
    );
    await service.call('ScheduleKeyDeletion', { KeyId: doomed, PendingWindowInDays: 7 }, caller);
    service.close();
    root.destroy();

    clock.advance(8 * DAY);
    root = RootOfTrust.open({ kind: 'key-file', path: keyFile }, dataDir);
    service = createKmsService({ root, dataDir, clock, region: 'us-east-1' });
    try {
      const dec = await service.call(
        'Decrypt',
        { CiphertextBlob: kept.CiphertextBlob, EncryptionContext: context },
        caller,
      );
      assert.equal((dec.Plaintext as Buffer).toString(), 'kept');
      await service.call('Encrypt', { KeyId: 'alias/kept', Plaintext: Buffer.from('x') }, caller);
      const status = await service.call('GetKeyRotationStatus', { KeyId: keep }, caller);
      assert.equal(status.RotationPeriodInDays, 90);
      const grants = await service.call('ListGrants', { KeyId: keep }, caller);
      assert.equal((grants.Grants as Array<{ GrantId: string }>)[0]?.GrantId, grant.GrantId);
      await service.call('RetireGrant', { GrantToken: grant.GrantToken }, caller);
      await rejectsWith(
        service.call('Decrypt', { CiphertextBlob: lost.CiphertextBlob, EncryptionContext: context }, caller),
        'NotFoundException',
        `Key '${doomed}' does not exist`,
      );
      await rejectsWith(service.call('DescribeKey', { KeyId: doomed }, caller), 'NotFoundException');
    } finally {
      service.close();
    }
    // The destroyed key left no material behind.
    const store = openKeyStore(root, dataDir);
    try {
      const keyId = doomed.split('/')[1] as string;
      assert.deepEqual(store.listMaterials(keyId), []);
      assert.equal(store.getKey(keyId), undefined);
      assert.equal(store.getTombstone(keyId)?.accountId, '123456789012');
    } finally {
      store.close();
      root.destroy();
    }
  });

  test('a closed service refuses calls', async () => {
    const root = RootOfTrust.open({ kind: 'ephemeral' }, undefined);
    const service = createKmsService({ root, clock: new ManualClock(), region: 'us-east-1' });
    service.close();
    service.close();
    await rejectsWith(
      service.call('ListKeys', {}, { principal: rootPrincipal('123456789012') }),
      'KMSInternalException',
    );
    root.destroy();
  });
});
