/** Audit events for remote calls carry the HTTP request's identity and never the request's secrets. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import type { KmsCallEvent } from '../../src/kms/index.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer } from '../helpers/server.js';

test('remote calls are audited once each, with request id, source IP and user agent', async () => {
  const events: KmsCallEvent[] = [];
  const server = await startTestServer({ onKmsCall: (event) => events.push(event) });
  const kms = new KMSClient(server.clientConfig());
  try {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const secret = Buffer.from('wire-secret-never-audited');
    const enc = await kms.send(
      new EncryptCommand({ KeyId: KeyMetadata?.KeyId, Plaintext: secret, EncryptionContext: { a: 'b' } }),
    );
    const dec = await kms.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { a: 'b' } }),
    );
    assert.deepEqual(Buffer.from(dec.Plaintext as Uint8Array), secret);
    await rejectsWith(
      kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })),
      'InvalidCiphertextException',
    );
    assert.deepEqual(
      events.map((e) => [e.eventName, e.errorCode ?? null]),
      [
        ['CreateKey', null],
        ['Encrypt', null],
        ['Decrypt', null],
        ['Decrypt', 'InvalidCiphertextException'],
      ],
    );
    for (const event of events) {
      assert.equal(event.principal.arn, 'arn:aws:iam::000000000000:root');
      assert.equal(event.principal.accessKeyId, 'AKIDLOCAL');
      assert.equal(event.sourceIp, '127.0.0.1');
      assert.match(event.userAgent, /aws-sdk-js/);
      assert.ok(event.requestId.length > 0);
      assert.equal(event.invokedBy, undefined);
      assert.deepEqual(event.resources, [{ ARN: KeyMetadata?.Arn, accountId: '000000000000', type: 'AWS::KMS::Key' }]);
    }
    assert.notEqual(events[1]?.requestId, events[2]?.requestId);
    const serialized = JSON.stringify(events);
    assert.ok(!serialized.includes(secret.toString('base64')));
    assert.ok(!serialized.includes(secret.toString()));
    assert.ok(
      !serialized.includes(
        Buffer.from(enc.CiphertextBlob as Uint8Array)
          .toString('base64')
          .slice(0, 24),
      ),
    );
  } finally {
    kms.destroy();
    await server.cleanup();
  }
});
