/** The AWS CLI against sealdb: create-key, encrypt and decrypt with an encryption context. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTestServer } from '../helpers/server.js';

const run = promisify(execFile);

// .ci/run installs the AWS CLI (Debian awscli); without it this test fails rather than hides.
test('aws kms create-key, encrypt, decrypt with --encryption-context', async () => {
  const server = await startTestServer();
  const work = mkdtempSync(join(tmpdir(), 'sealdb-kms-cli-'));
  // A private HOME keeps any user configuration or credentials out of the test.
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: work,
    AWS_ACCESS_KEY_ID: 'AKIDCLITEST',
    AWS_SECRET_ACCESS_KEY: 'cli-test-secret',
    AWS_DEFAULT_REGION: server.region,
    AWS_REGION: server.region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
  const aws = async (...args: string[]) => {
    const { stdout } = await run('aws', ['kms', ...args, '--endpoint-url', server.endpoint, '--output', 'json'], {
      env,
      cwd: work,
    });
    return JSON.parse(stdout) as Record<string, unknown>;
  };
  try {
    const created = await aws('create-key', '--description', 'cli smoke');
    const metadata = created.KeyMetadata as { KeyId: string; Arn: string; KeyState: string };
    assert.equal(metadata.KeyState, 'Enabled');

    const plaintext = Buffer.from(`cli plaintext ${Date.now()}`);
    writeFileSync(join(work, 'plain.bin'), plaintext);
    const encrypted = await aws(
      'encrypt',
      '--key-id',
      metadata.KeyId,
      '--plaintext',
      `fileb://${join(work, 'plain.bin')}`,
      '--encryption-context',
      'table=Books,purpose=smoke',
    );
    assert.equal(encrypted.KeyId, metadata.Arn);
    writeFileSync(join(work, 'cipher.bin'), Buffer.from(encrypted.CiphertextBlob as string, 'base64'));

    const decrypted = await aws(
      'decrypt',
      '--ciphertext-blob',
      `fileb://${join(work, 'cipher.bin')}`,
      '--encryption-context',
      'purpose=smoke,table=Books',
    );
    assert.equal(decrypted.KeyId, metadata.Arn);
    assert.deepEqual(Buffer.from(decrypted.Plaintext as string, 'base64'), plaintext);

    await assert.rejects(
      aws('decrypt', '--ciphertext-blob', `fileb://${join(work, 'cipher.bin')}`, '--encryption-context', 'table=Books'),
      (error: Error & { stderr?: string }) => {
        assert.match(error.stderr ?? '', /InvalidCiphertextException/);
        return true;
      },
    );
    assert.ok(readFileSync(join(work, 'cipher.bin')).length > plaintext.length);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await server.cleanup();
  }
});
