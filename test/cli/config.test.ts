import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULTS, resolveConfig } from '../../src/cli/config.js';

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sealdb-config-'));
  const file = join(dir, 'sealdb.json');
  writeFileSync(
    file,
    JSON.stringify({
      host: '0.0.0.0',
      port: 9000,
      dataDir: '/from/file',
      region: 'eu-west-1',
      keyCacheScope: 'table',
      durability: 'fsync',
      auth: 'strict',
      accounts: [{ accountId: '111122223333', accessKeys: [{ accessKeyId: 'AKIA1', secretAccessKey: 's' }] }],
    }),
  );

  it('uses the defaults with nothing set', () => {
    const config = resolveConfig({}, { HOME: dir });
    assert.equal(config.host, DEFAULTS.host);
    assert.equal(config.port, 8000);
    assert.equal(config.dataDir, './sealdb-data');
    assert.equal(config.region, 'us-east-1');
    assert.deepEqual(config.auth, { mode: 'local' });
    assert.equal(config.keyCacheScope, 'connection');
    assert.equal(config.durability, 'process');
    assert.deepEqual(config.rootKey, { kind: 'key-file', path: join(dir, '.config', 'sealdb', 'root.key') });
  });

  it('takes flags over environment over config file', () => {
    const fromFile = resolveConfig({ config: file }, {});
    assert.equal(fromFile.port, 9000);
    assert.equal(fromFile.dataDir, '/from/file');
    assert.equal(fromFile.keyCacheScope, 'table');
    assert.equal(fromFile.durability, 'fsync');
    assert.equal(resolveConfig({ config: file }, { SEALDB_DURABILITY: 'process' }).durability, 'process');
    assert.equal(resolveConfig({ durability: 'fsync' }, { SEALDB_DURABILITY: 'process' }).durability, 'fsync');
    assert.equal(fromFile.auth.mode, 'strict');
    const fromEnv = resolveConfig({}, { SEALDB_CONFIG: file, SEALDB_PORT: '9100', SEALDB_REGION: 'ap-south-1' });
    assert.equal(fromEnv.port, 9100);
    assert.equal(fromEnv.region, 'ap-south-1');
    assert.equal(fromEnv.host, '0.0.0.0');
    const fromFlags = resolveConfig({ config: file, port: '9200', host: '127.0.0.2' }, { SEALDB_PORT: '9100' });
    assert.equal(fromFlags.port, 9200);
    assert.equal(fromFlags.host, '127.0.0.2');
  });

  it('keeps nothing on disk in memory and takes the root passphrase from the environment', () => {
    assert.equal(resolveConfig({ inMemory: true, dataDir: '/x' }, {}).dataDir, undefined);
    assert.equal(resolveConfig({}, { SEALDB_IN_MEMORY: '1' }).dataDir, undefined);
    const withPassphrase = resolveConfig({}, { SEALDB_ROOT_PASSPHRASE: 'correct horse' });
    assert.deepEqual(withPassphrase.rootKey, { kind: 'passphrase', passphrase: 'correct horse' });
    assert.doesNotMatch(withPassphrase.rootKeyDescription, /correct horse/, 'the banner never shows the passphrase');
  });

  it('rejects settings it cannot use', () => {
    assert.throws(() => resolveConfig({ port: 'eighty' }, {}), /invalid port/);
    assert.throws(() => resolveConfig({ auth: 'maybe' }, {}), /--auth must be local or strict/);
    assert.throws(() => resolveConfig({ auth: 'strict' }, {}), /needs "accounts"/);
    assert.throws(
      () => resolveConfig({ keyCacheScope: 'global' }, {}),
      /--key-cache-scope must be connection or table/,
    );
    assert.throws(() => resolveConfig({ durability: 'sometimes' }, {}), /--durability must be process or fsync/);
  });

  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
