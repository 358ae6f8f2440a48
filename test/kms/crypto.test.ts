import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateAliasCommand,
  DecryptCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  KMSClient,
  ReEncryptCommand,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { createKey } from '../helpers/kms.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

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

const CONTEXT = { 'aws:dynamodb:tableName': 'Books', 'aws:dynamodb:subscriberId': '000000000000' };

describe('Encrypt and Decrypt', () => {
  test('round-trips with every form of key id and answers key ARNs', async () => {
    const key = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/crypto-forms', TargetKeyId: key.id }));
    const forms = [
      key.id,
      key.arn,
      'alias/crypto-forms',
      `arn:aws:kms:${server.region}:000000000000:alias/crypto-forms`,
    ];
    for (const keyId of forms) {
      const enc = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`secret ${keyId}`) }));
      assert.equal(enc.KeyId, key.arn);
      assert.equal(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
      assert.equal(Buffer.from(dec.Plaintext as Uint8Array).toString(), `secret ${keyId}`);
      assert.equal(dec.KeyId, key.arn);
      assert.equal(dec.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
      assert.match(dec.KeyMaterialId ?? '', /^[0-9a-f]{64}$/);
    }
  });

  test('the same plaintext encrypts differently each time', async () => {
    const key = await newKey();
    const a = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('same') }));
    const b = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('same') }));
    assert.notDeepEqual(Buffer.from(a.CiphertextBlob as Uint8Array), Buffer.from(b.CiphertextBlob as Uint8Array));
  });

  test('binds the encryption context: missing, extra, changed pairs fail; order does not matter', async () => {
    const key = await newKey();
    const { CiphertextBlob } = await kms.send(
      new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('bound'), EncryptionContext: CONTEXT }),
    );
    const reordered = {
      'aws:dynamodb:subscriberId': '000000000000',
      'aws:dynamodb:tableName': 'Books',
    };
    const ok = await kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext: reordered }));
    assert.equal(Buffer.from(ok.Plaintext as Uint8Array).toString(), 'bound');
    const wrong = [
      undefined,
      { 'aws:dynamodb:tableName': 'Books' },
      { ...CONTEXT, extra: 'pair' },
      { ...CONTEXT, 'aws:dynamodb:tableName': 'Movies' },
      { ...CONTEXT, 'aws:dynamodb:tableName': 'books' },
    ];
    for (const EncryptionContext of wrong) {
      await rejectsWith(
        kms.send(new DecryptCommand({ CiphertextBlob, EncryptionContext })),
        'InvalidCiphertextException',
      );
    }
  });

  test('any flipped byte is an InvalidCiphertextException (with no message)', async () => {
    const key = await newKey();
    const blob = Buffer.from(
      (
        await kms.send(
          new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('integrity'), EncryptionContext: CONTEXT }),
        )
      ).CiphertextBlob as Uint8Array,
    );
    for (let i = 0; i < blob.length; i++) {
      const tampered = Buffer.from(blob);
      tampered[i] = (tampered[i] as number) ^ 0x01;
      await assert.rejects(
        kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: CONTEXT })),
        (error: Error & { $response?: unknown }) => {
          assert.equal(error.name, 'InvalidCiphertextException', `byte ${i}: ${error.name} ${error.message}`);
          return true;
        },
      );
    }
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a sealdb ciphertext at all') })),
      'InvalidCiphertextException',
    );
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, 40) })),
      'InvalidCiphertextException',
    );
  });

  test('Decrypt with a KeyId: the right key in any form works, another key is IncorrectKeyException', async () => {
    const key = await newKey();
    const other = await newKey();
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/crypto-right', TargetKeyId: key.id }));
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('k') }));
    for (const KeyId of [key.id, key.arn, 'alias/crypto-right']) {
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob, KeyId }));
      assert.equal(dec.KeyId, key.arn);
    }
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob, KeyId: other.arn })),
      'IncorrectKeyException',
      'The key ID in the request does not identify a CMK that can perform this operation.',
    );
  });

  test('unknown keys and bad ids', async () => {
    const missing = '11111111-2222-3333-4444-555555555555';
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: missing, Plaintext: Buffer.from('x') })),
      'NotFoundException',
      `Key 'arn:aws:kms:${server.region}:000000000000:key/${missing}' does not exist`,
    );
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: 'fake-key-id', Plaintext: Buffer.from('x') })),
      'NotFoundException',
      "Invalid keyId 'fake-key-id'",
    );
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: 'alias/nope', Plaintext: Buffer.from('x') })),
      'NotFoundException',
      `Alias arn:aws:kms:${server.region}:000000000000:alias/nope is not found.`,
    );
    await rejectsWith(
      kms.send(
        new EncryptCommand({ KeyId: `arn:aws:kms:eu-west-1:000000000000:key/${missing}`, Plaintext: Buffer.from('x') }),
      ),
      'NotFoundException',
      'Invalid arn eu-west-1',
    );
  });

  test('model validation: plaintext too long, empty, and non-symmetric algorithms', async () => {
    const key = await newKey();
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.alloc(4097) })),
      'ValidationException',
      "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096",
    );
    await rejectsWith(
      kms.send(
        new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }),
      ),
      'InvalidKeyUsageException',
      'Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.',
    );
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: 'x'.repeat(2049), Plaintext: Buffer.from('x') })),
      'ValidationException',
      /Member must have length less than or equal to 2048/,
    );
  });

  test('DryRun checks everything and then answers DryRunOperationException', async () => {
    const key = await newKey();
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x'), DryRun: true })),
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    );
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') }));
    await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob, DryRun: true })), 'DryRunOperationException');
    await rejectsWith(
      kms.send(new DecryptCommand({ KeyId: key.id, DryRun: true, DryRunModifiers: ['IGNORE_CIPHERTEXT'] })),
      'DryRunOperationException',
    );
    await rejectsWith(
      kms.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', DryRun: true })),
      'DryRunOperationException',
    );
    await rejectsWith(
      kms.send(new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: key.id, DryRun: true })),
      'DryRunOperationException',
    );
    // A dry run on a disabled key reports the real failure.
    await kms.send(new DisableKeyCommand({ KeyId: key.id }));
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x'), DryRun: true })),
      'DisabledException',
    );
  });
});

describe('key states and cryptographic operations', () => {
  test('disabled keys refuse every cryptographic operation with DisabledException; enabling restores them', async () => {
    const key = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') }));
    await kms.send(new DisableKeyCommand({ KeyId: key.id }));
    const message = `${key.arn} is disabled.`;
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') })),
      'DisabledException',
      message,
    );
    await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob })), 'DisabledException', message);
    await rejectsWith(
      kms.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256' })),
      'DisabledException',
      message,
    );
    await rejectsWith(
      kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.id, KeySpec: 'AES_256' })),
      'DisabledException',
      message,
    );
    await rejectsWith(
      kms.send(new ReEncryptCommand({ CiphertextBlob, DestinationKeyId: key.id })),
      'DisabledException',
      message,
    );
    await kms.send(new EnableKeyCommand({ KeyId: key.id }));
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob }));
    assert.equal(Buffer.from(dec.Plaintext as Uint8Array).toString(), 'x');
  });

  test('keys pending deletion refuse cryptographic operations with KMSInvalidStateException', async () => {
    const key = await newKey();
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    const message = `${key.arn} is pending deletion.`;
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') })),
      'KMSInvalidStateException',
      message,
    );
    await rejectsWith(kms.send(new DecryptCommand({ CiphertextBlob })), 'KMSInvalidStateException', message);
    await rejectsWith(
      kms.send(new GenerateDataKeyCommand({ KeyId: key.id, NumberOfBytes: 16 })),
      'KMSInvalidStateException',
      message,
    );
  });
});

describe('ReEncrypt', () => {
  test('moves a ciphertext to another key and context', async () => {
    const source = await newKey();
    const destination = await newKey();
    const enc = await kms.send(
      new EncryptCommand({ KeyId: source.id, Plaintext: Buffer.from('moving'), EncryptionContext: { a: '1' } }),
    );
    const re = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: enc.CiphertextBlob,
        SourceEncryptionContext: { a: '1' },
        DestinationKeyId: destination.id,
        DestinationEncryptionContext: { b: '2' },
      }),
    );
    assert.equal(re.SourceKeyId, source.arn);
    assert.equal(re.KeyId, destination.arn);
    assert.equal(re.SourceEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    assert.equal(re.DestinationEncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
    const dec = await kms.send(
      new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { b: '2' } }),
    );
    assert.equal(Buffer.from(dec.Plaintext as Uint8Array).toString(), 'moving');
    assert.equal(dec.KeyId, destination.arn);
  });

  test('checks the source context and source key id', async () => {
    const source = await newKey();
    const other = await newKey();
    const enc = await kms.send(
      new EncryptCommand({ KeyId: source.id, Plaintext: Buffer.from('x'), EncryptionContext: { a: '1' } }),
    );
    await rejectsWith(
      kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, DestinationKeyId: other.id })),
      'InvalidCiphertextException',
    );
    await rejectsWith(
      kms.send(
        new ReEncryptCommand({
          CiphertextBlob: enc.CiphertextBlob,
          SourceKeyId: other.id,
          SourceEncryptionContext: { a: '1' },
          DestinationKeyId: other.id,
        }),
      ),
      'IncorrectKeyException',
    );
  });
});

describe('data keys and random bytes', () => {
  test('GenerateDataKey returns a plaintext key and its ciphertext (AES_256, AES_128, NumberOfBytes)', async () => {
    const key = await newKey();
    for (const [input, length] of [
      [{ KeySpec: 'AES_256' as const }, 32],
      [{ KeySpec: 'AES_128' as const }, 16],
      [{ NumberOfBytes: 7 }, 7],
      [{ NumberOfBytes: 1024 }, 1024],
    ] as const) {
      const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: key.id, EncryptionContext: CONTEXT, ...input }));
      assert.equal(dk.Plaintext?.length, length);
      assert.equal(dk.KeyId, key.arn);
      assert.match(dk.KeyMaterialId ?? '', /^[0-9a-f]{64}$/);
      const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: CONTEXT }));
      assert.deepEqual(Buffer.from(dec.Plaintext as Uint8Array), Buffer.from(dk.Plaintext as Uint8Array));
    }
  });

  test('GenerateDataKeyWithoutPlaintext returns only the ciphertext', async () => {
    const key = await newKey();
    const dk = await kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.id, KeySpec: 'AES_128' }));
    assert.equal(dk.KeyId, key.arn);
    assert.equal('Plaintext' in dk, false);
    const dec = await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob }));
    assert.equal(dec.Plaintext?.length, 16);
  });

  test('exactly one of KeySpec and NumberOfBytes; limits from the model', async () => {
    const key = await newKey();
    const message = 'Please specify either number of bytes or key spec.';
    await rejectsWith(kms.send(new GenerateDataKeyCommand({ KeyId: key.id })), 'ValidationException', message);
    await rejectsWith(
      kms.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_256', NumberOfBytes: 32 })),
      'ValidationException',
      message,
    );
    await rejectsWith(
      kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: key.id })),
      'ValidationException',
      message,
    );
    await rejectsWith(
      kms.send(new GenerateDataKeyCommand({ KeyId: key.id, NumberOfBytes: 1025 })),
      'ValidationException',
      "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024",
    );
    await rejectsWith(
      kms.send(new GenerateDataKeyCommand({ KeyId: key.id, KeySpec: 'AES_512' as never })),
      'ValidationException',
      "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]",
    );
  });

  test('GenerateRandom', async () => {
    const r = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 64 }));
    assert.equal(r.Plaintext?.length, 64);
    const s = await kms.send(new GenerateRandomCommand({ NumberOfBytes: 64 }));
    assert.notDeepEqual(Buffer.from(r.Plaintext as Uint8Array), Buffer.from(s.Plaintext as Uint8Array));
    await rejectsWith(kms.send(new GenerateRandomCommand({})), 'ValidationException', 'NumberOfBytes is required.');
    await rejectsWith(
      kms.send(new GenerateRandomCommand({ NumberOfBytes: 0 })),
      'ValidationException',
      /greater than or equal to 1/,
    );
    await rejectsWith(
      kms.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-1234567890abcdef0' })),
      'UnsupportedOperationException',
    );
  });
});
