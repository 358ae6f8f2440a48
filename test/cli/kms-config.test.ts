/** `--kms`, `--kms-endpoint`, `--kms-key-id`, `--kms-grace-seconds`: flags over env over config file, and clear refusals. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveConfig } from '../../src/cli/config.js';

describe('external KMS configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdb-kms-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'sealdb.json');
  writeFileSync(
    file,
    JSON.stringify({ kmsEndpoint: 'http://127.0.0.1:9001', kmsKeyId: 'alias/file', kmsGraceSeconds: 60 }),
  );

  it('is the built-in KMS by default', () => {
    assert.deepEqual(resolveConfig({}, { HOME: dir }).kms, { mode: 'builtin' });
  });

  it('an endpoint means external; flags win over env over the file', () => {
    assert.deepEqual(resolveConfig({ config: file }, {}).kms, {
      mode: 'external',
      endpoint: 'http://127.0.0.1:9001',
      defaultKeyId: 'alias/file',
      graceMs: 60_000,
    });
    const env = { SEALDB_KMS_ENDPOINT: 'https://kms.eu-west-1.amazonaws.com', SEALDB_KMS_GRACE_SECONDS: '120' };
    assert.deepEqual(resolveConfig({ config: file, kmsGraceSeconds: '5' }, env).kms, {
      mode: 'external',
      endpoint: 'https://kms.eu-west-1.amazonaws.com',
      defaultKeyId: 'alias/file',
      graceMs: 5000,
    });
    // External without an endpoint: AWS KMS of each table's region, through the SDK.
    assert.deepEqual(resolveConfig({ kms: 'external' }, {}).kms, { mode: 'external' });
  });

  it('refuses what cannot work, naming the flag', () => {
    assert.throws(() => resolveConfig({ kms: 'hsm' }, {}), /--kms must be builtin or external, not hsm/);
    assert.throws(() => resolveConfig({ kms: 'builtin', kmsEndpoint: 'http://x' }, {}), /are for --kms external/);
    assert.throws(
      () => resolveConfig({ kmsEndpoint: 'kms.local:80' }, {}),
      /--kms-endpoint must be an http or https URL/,
    );
    assert.throws(() => resolveConfig({ kmsEndpoint: 'not a url' }, {}), /--kms-endpoint must be a URL/);
    assert.throws(
      () => resolveConfig({ kmsEndpoint: 'http://127.0.0.1:1', kmsGraceSeconds: '-1' }, {}),
      /--kms-grace-seconds must be a number of seconds/,
    );
  });
});
