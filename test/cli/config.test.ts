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

  it('refuses unknown keys, a file that is not a JSON object and values of the wrong type', () => {
    const write = (name: string, text: string) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    };
    assert.throws(() => resolveConfig({ config: write('typo.json', '{"prot": 9000}') }, {}), /unknown key "prot"/);
    assert.throws(() => resolveConfig({ config: write('array.json', '[]') }, {}), /must hold a JSON object/);
    assert.throws(() => resolveConfig({ config: write('null.json', 'null') }, {}), /must hold a JSON object/);
    assert.throws(() => resolveConfig({ config: write('broken.json', '{"port":') }, {}), /is not valid JSON/);
    assert.throws(
      () => resolveConfig({ config: write('port.json', '{"port": "9000"}') }, {}),
      /"port" must be a number/,
    );
    assert.throws(
      () => resolveConfig({ config: write('shared.json', '{"sharedDb": "yes"}') }, {}),
      /"sharedDb" must be true or false/,
    );
    assert.throws(
      () => resolveConfig({ config: write('cors.json', '{"cors": 1}') }, {}),
      /"cors" must be a string or a list of strings/,
    );
    assert.throws(
      () => resolveConfig({ config: write('accounts.json', '{"accounts": {}}') }, {}),
      /"accounts" must be a list/,
    );
  });

  it('refuses --durability fsync in memory', () => {
    assert.throws(() => resolveConfig({ inMemory: true, durability: 'fsync' }, {}), /--durability fsync .*--in-memory/);
    assert.equal(resolveConfig({ inMemory: true }, {}).durability, 'process');
  });

  it('resolves the request log level: off by default, from flag, environment or config file', () => {
    assert.equal(resolveConfig({}, {}).logLevel, 'off');
    assert.equal(resolveConfig({ logLevel: 'info' }, {}).logLevel, 'info');
    assert.equal(resolveConfig({}, { SEALDB_LOG_LEVEL: 'warn' }).logLevel, 'warn');
    const path = join(dir, 'log.json');
    writeFileSync(path, '{"logLevel": "error"}');
    assert.equal(resolveConfig({ config: path }, {}).logLevel, 'error');
    assert.equal(resolveConfig({ config: path, logLevel: 'debug' }, {}).logLevel, 'debug');
    assert.throws(() => resolveConfig({ logLevel: 'loud' }, {}), /--log-level must be off, error, warn, info or debug/);
  });

  it('resolves sharedDb and the CORS origins, as DynamoDB Local takes them', () => {
    const defaults = resolveConfig({}, {});
    assert.equal(defaults.sharedDb, false);
    assert.equal(defaults.corsAllowedOrigins, undefined);
    assert.equal(resolveConfig({ sharedDb: true }, {}).sharedDb, true);
    assert.equal(resolveConfig({}, { SEALDB_SHARED_DB: '1' }).sharedDb, true);
    assert.deepEqual(resolveConfig({ cors: 'http://a.example, http://b.example' }, {}).corsAllowedOrigins, [
      'http://a.example',
      'http://b.example',
    ]);
    assert.deepEqual(resolveConfig({}, { SEALDB_CORS: '*' }).corsAllowedOrigins, ['*']);
    const path = join(dir, 'local.json');
    writeFileSync(path, JSON.stringify({ sharedDb: true, cors: ['http://c.example'] }));
    const fromFile = resolveConfig({ config: path }, {});
    assert.equal(fromFile.sharedDb, true);
    assert.deepEqual(fromFile.corsAllowedOrigins, ['http://c.example']);
    assert.deepEqual(resolveConfig({ config: path, cors: '*' }, {}).corsAllowedOrigins, ['*']);
    assert.throws(() => resolveConfig({ cors: ' , ' }, {}), /--cors needs at least one origin/);
  });

  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});
