/**
 * Issue 11, items 18–21: what an operator meets first when running the real `sealdb` command —
 * root-key safety, config-file checks, --in-memory, --version, the banner, the request log,
 * file modes, and DynamoDB Local's flags as aliases.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { filesUnder } from '../helpers/files.js';
import { bannerEndpoint, spawnSealdb } from '../helpers/process.js';

const PACKAGE_VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

const scratch = realpathSync(mkdtempSync(join(tmpdir(), 'sealdb-ops-')));
let folderCount = 0;
/** A new empty folder for one test. */
function folder(name: string): string {
  const dir = join(scratch, `${name}-${++folderCount}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

interface Options {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** No root key, config or log settings leak in from the environment running the tests. */
function cleanEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') };
  for (const name of Object.keys(env)) if (name.startsWith('SEALDB_')) delete env[name];
  return { ...env, ...extra };
}

interface Running {
  readonly child: ChildProcess;
  readonly endpoint: string;
  output(): string;
  stop(): Promise<number | null>;
}

const running: Running[] = [];

/** Spawns `node main.js <args>` exactly as given (no `start` added) and waits for the banner's last line. */
async function startCli(args: string[], options: Options = {}): Promise<Running> {
  const cwd = options.cwd ?? folder('cwd');
  const { child, output, exited } = spawnSealdb(args, { cwd, env: options.env ?? cleanEnv(cwd) });
  const endpoint = await bannerEndpoint(child, output);
  const server: Running = {
    child,
    endpoint,
    output,
    stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  running.push(server);
  return server;
}

/** Runs `node main.js <args>` to its end. */
async function runCli(args: string[], options: Options = {}): Promise<{ code: number | null; output: string }> {
  const cwd = options.cwd ?? folder('cwd');
  const { child, output, exited } = spawnSealdb(args, { cwd, env: options.env ?? cleanEnv(cwd) });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, 20_000);
  const code = await exited;
  clearTimeout(timer);
  if (timedOut) throw new Error(`sealdb did not exit:\n${output()}`);
  return { code, output: output() };
}

const credentials = { accessKeyId: 'AKIDOPSTEST', secretAccessKey: 'ops-test-secret-key' };
const ddb = (endpoint: string, region = 'us-east-1') =>
  new DynamoDBClient({ endpoint, region, credentials, maxAttempts: 1 });

async function createTable(client: DynamoDBClient, name: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** Every path under dir with its bytes, for "nothing was touched" checks. */
function snapshot(dir: string): Map<string, Buffer> {
  return new Map(filesUnder(dir).map((file) => [file, readFileSync(file)]));
}

after(async () => {
  for (const server of running) if (server.child.exitCode === null) server.child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

describe('item 18: the root key', () => {
  it('says on a first start that a new root key was created and must be backed up, and not again', async () => {
    const dir = folder('first-start');
    const keyFile = join(dir, 'keys', 'root.key');
    const first = await startCli(['start', '--port', '0', '--data-dir', join(dir, 'data'), '--root-key-file', keyFile]);
    assert.match(first.output(), new RegExp(`new root key .*${keyFile.replace(/[.]/g, '\\.')}`, 'i'));
    assert.match(first.output(), /back it up/i);
    assert.match(first.output(), /cannot be read/);
    assert.equal(await first.stop(), 0);

    const again = await startCli(['start', '--port', '0', '--data-dir', join(dir, 'data'), '--root-key-file', keyFile]);
    assert.doesNotMatch(again.output(), /new root key/i, 'an existing key is not announced as new');
    assert.equal(await again.stop(), 0);
  });

  it('refuses a missing root key file for a data directory that already holds data, touching nothing', async () => {
    const dir = folder('missing-key');
    const dataDir = join(dir, 'data');
    const keyFile = join(dir, 'keys', 'root.key');
    const first = await startCli(['start', '--port', '0', '--data-dir', dataDir, '--root-key-file', keyFile]);
    const client = ddb(first.endpoint);
    await createTable(client, 'kept');
    client.destroy();
    assert.equal(await first.stop(), 0);
    const before = snapshot(dataDir);

    const otherKey = join(dir, 'elsewhere', 'root.key');
    const refused = await runCli(['start', '--port', '0', '--data-dir', dataDir, '--root-key-file', otherKey]);
    assert.equal(refused.code, 1, refused.output);
    assert.ok(refused.output.includes(otherKey), `names the missing file:\n${refused.output}`);
    assert.match(refused.output, /does not exist/);
    assert.ok(refused.output.includes(dataDir), `names the data directory:\n${refused.output}`);
    assert.match(refused.output, /another root key|created with/);
    assert.match(refused.output, /--root-key-file/, 'says how to proceed');
    assert.match(refused.output, /new data directory|--data-dir/, 'says how to start afresh');
    assert.doesNotMatch(refused.output, /listening on/);
    assert.equal(existsSync(otherKey), false, 'no new key was created');
    assert.equal(existsSync(dirname(otherKey)), false, 'not even its folder');
    assert.deepEqual(snapshot(dataDir), before, 'the data directory is unchanged');

    // The original key still opens the data.
    const again = await startCli(['start', '--port', '0', '--data-dir', dataDir, '--root-key-file', keyFile]);
    const reader = ddb(again.endpoint);
    assert.deepEqual((await reader.send(new ListTablesCommand({}))).TableNames, ['kept']);
    reader.destroy();
    assert.equal(await again.stop(), 0);
  });

  it('points a data directory made with a passphrase to SEALDB_ROOT_PASSPHRASE instead of creating a key', async () => {
    const dir = folder('passphrase-data');
    const dataDir = join(dir, 'data');
    const first = await startCli(['start', '--port', '0', '--data-dir', dataDir], {
      env: cleanEnv(dir, { SEALDB_ROOT_PASSPHRASE: 'a long passphrase' }),
    });
    assert.doesNotMatch(first.output(), /new root key/i, 'a passphrase is not a key file to back up');
    assert.equal(await first.stop(), 0);
    const keyFile = join(dir, 'keys', 'root.key');
    const refused = await runCli(['start', '--port', '0', '--data-dir', dataDir, '--root-key-file', keyFile], {
      env: cleanEnv(dir),
    });
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /SEALDB_ROOT_PASSPHRASE/);
    assert.equal(existsSync(keyFile), false);
  });
});

describe('item 19: the config file and --in-memory', () => {
  it('refuses unknown keys in the config file, naming the key', async () => {
    const dir = folder('unknown-key');
    const config = join(dir, 'sealdb.json');
    writeFileSync(config, JSON.stringify({ port: 0, dataDirectory: join(dir, 'data') }));
    const refused = await runCli(['start', '--config', config], { cwd: dir });
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /unknown key "dataDirectory"/);
    assert.ok(refused.output.includes(config), 'names the config file');
    assert.deepEqual(readdirSync(dir), ['sealdb.json'], 'nothing was created');
  });

  it('refuses a config file that is not a JSON object, or holds values of the wrong type', async () => {
    const dir = folder('bad-config');
    const config = join(dir, 'sealdb.json');
    writeFileSync(config, '[1, 2]');
    const notObject = await runCli(['start', '--config', config], { cwd: dir });
    assert.equal(notObject.code, 1);
    assert.match(notObject.output, /must hold a JSON object/);
    writeFileSync(config, '{"port": 0,');
    const notJson = await runCli(['start', '--config', config], { cwd: dir });
    assert.equal(notJson.code, 1);
    assert.match(notJson.output, /is not valid JSON/);
    writeFileSync(config, JSON.stringify({ port: 0, inMemory: 'yes' }));
    const wrongType = await runCli(['start', '--config', config], { cwd: dir });
    assert.equal(wrongType.code, 1);
    assert.match(wrongType.output, /"inMemory" must be true or false/);
  });

  it('says in the banner that nothing is written to disk, and writes nothing', async () => {
    const dir = folder('in-memory');
    const server = await startCli(['start', '--port', '0', '--in-memory'], { cwd: dir, env: cleanEnv(dir) });
    assert.match(server.output(), /in memory: nothing is written to disk/);
    const client = ddb(server.endpoint);
    await createTable(client, 'ephemeral');
    await client.send(new PutItemCommand({ TableName: 'ephemeral', Item: { pk: { S: 'a' } } }));
    client.destroy();
    assert.equal(await server.stop(), 0);
    assert.deepEqual(readdirSync(dir), [], 'no file or folder was created in the working directory or HOME');
  });

  it('refuses --durability fsync with --in-memory', async () => {
    const dir = folder('in-memory-fsync');
    const refused = await runCli(['start', '--port', '0', '--in-memory', '--durability', 'fsync'], { cwd: dir });
    assert.equal(refused.code, 1, refused.output);
    assert.match(refused.output, /--durability fsync .*--in-memory/);
    const fromEnv = await runCli(['start', '--port', '0'], {
      cwd: dir,
      env: cleanEnv(dir, { SEALDB_IN_MEMORY: '1', SEALDB_DURABILITY: 'fsync' }),
    });
    assert.equal(fromEnv.code, 1, fromEnv.output);
    assert.match(fromEnv.output, /--durability fsync .*--in-memory/);
  });
});

describe('item 20: version, banner, request log, file modes', () => {
  it('prints the package version with --version', async () => {
    const result = await runCli(['--version']);
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output.trim(), PACKAGE_VERSION);
  });

  it('shows the version and the absolute data directory in the banner', async () => {
    const dir = folder('banner');
    const server = await startCli(
      ['start', '--port', '0', '--data-dir', 'relative-data', '--root-key-file', join(dir, 'keys', 'root.key')],
      { cwd: dir },
    );
    assert.match(server.output(), new RegExp(`sealdb ${PACKAGE_VERSION.replace(/[.]/g, '\\.')} listening on`));
    assert.ok(
      server.output().includes(`data directory: ${join(dir, 'relative-data')}\n`),
      `absolute path in:\n${server.output()}`,
    );
    assert.equal(await server.stop(), 0);
  });

  it('logs one line per request at --log-level info: operation, table, status, duration, request id; never data or keys', async () => {
    const dir = folder('log');
    const server = await startCli(['start', '--port', '0', '--in-memory', '--log-level', 'info'], { cwd: dir });
    const client = ddb(server.endpoint);
    const ids: Array<{ id: string; operation: string; table: string; status: number }> = [];
    const created = await client.send(
      new CreateTableCommand({
        TableName: 'Logged',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    ids.push({ id: created.$metadata.requestId as string, operation: 'CreateTable', table: 'Logged', status: 200 });
    const put = await client.send(
      new PutItemCommand({
        TableName: 'Logged',
        Item: { pk: { S: 'key-value-7f3a' }, secret: { S: 'item-data-c9e1' } },
      }),
    );
    ids.push({ id: put.$metadata.requestId as string, operation: 'PutItem', table: 'Logged', status: 200 });
    const got = await client.send(new GetItemCommand({ TableName: 'Logged', Key: { pk: { S: 'key-value-7f3a' } } }));
    assert.equal(got.Item?.secret?.S, 'item-data-c9e1');
    ids.push({ id: got.$metadata.requestId as string, operation: 'GetItem', table: 'Logged', status: 200 });
    const missing = await client
      .send(new GetItemCommand({ TableName: 'Missing', Key: { pk: { S: 'key-value-7f3a' } } }))
      .then(
        () => assert.fail('expected ResourceNotFoundException'),
        (error: { name: string; $metadata: { requestId: string } }) => error,
      );
    assert.equal(missing.name, 'ResourceNotFoundException');
    ids.push({ id: missing.$metadata.requestId, operation: 'GetItem', table: 'Missing', status: 400 });
    // A name is logged even when refused, so a client must not be able to forge a log line with it.
    const forged = await client
      .send(new GetItemCommand({ TableName: 'bad\nforged-line status=200', Key: { pk: { S: 'a' } } }))
      .then(
        () => assert.fail('expected a ValidationException'),
        (error: { $metadata: { requestId: string } }) => error,
      );
    ids.push({
      id: forged.$metadata.requestId,
      operation: 'GetItem',
      table: 'bad\\?forged-line\\?status\\?200',
      status: 400,
    });
    const kms = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const key = await kms.send(new CreateKeyCommand({}));
    await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('plaintext-b7d2') }));
    kms.destroy();
    client.destroy();

    // The log line is written once the response has gone out: give it a moment.
    const deadline = Date.now() + 5_000;
    const allLogged = () => ids.every(({ id }) => server.output().includes(id)) && /\bEncrypt\b/.test(server.output());
    while (!allLogged() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const lines = server.output().split('\n');
    for (const { id, operation, table, status } of ids) {
      const matching = lines.filter((line) => line.includes(id));
      assert.equal(matching.length, 1, `one line for ${operation} ${id}:\n${server.output()}`);
      const line = matching[0] as string;
      assert.match(line, new RegExp(`\\b${operation}\\b`));
      assert.match(line, new RegExp(`\\btable=${table}\\b`));
      assert.match(line, new RegExp(`\\bstatus=${status}\\b`));
      assert.match(line, /\b\d+(\.\d+)?ms\b/);
    }
    assert.match(server.output(), /\bEncrypt\b.*status=200/, 'KMS requests are logged too');
    assert.ok(!lines.some((line) => line.startsWith('forged-line')), 'no forged log line');
    for (const secret of [
      'key-value-7f3a',
      'item-data-c9e1',
      'plaintext-b7d2',
      credentials.accessKeyId,
      credentials.secretAccessKey,
    ]) {
      assert.ok(!server.output().includes(secret), `${secret} must not be logged`);
    }
    assert.equal(await server.stop(), 0);
  });

  it('logs no request by default', async () => {
    const server = await startCli(['start', '--port', '0', '--in-memory']);
    const client = ddb(server.endpoint);
    const listed = await client.send(new ListTablesCommand({}));
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.ok(!server.output().includes(listed.$metadata.requestId as string), server.output());
    assert.doesNotMatch(server.output(), /ListTables/);
    assert.equal(await server.stop(), 0);
  });

  it('creates every file under the data directory 0600 and every folder 0700', async () => {
    const dir = folder('modes');
    const dataDir = join(dir, 'data');
    const server = await startCli([
      'start',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--root-key-file',
      join(dir, 'root.key'),
    ]);
    const client = ddb(server.endpoint);
    await createTable(client, 'moded');
    await client.send(new PutItemCommand({ TableName: 'moded', Item: { pk: { S: 'a' } } }));
    const kms = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const key = await kms.send(new CreateKeyCommand({}));
    await kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }));
    kms.destroy();
    client.destroy();

    // Checked while running, when the -wal and -shm files exist.
    const files = filesUnder(dataDir);
    const names = files.map((f) => f.slice(dataDir.length + 1));
    for (const expected of [
      'catalog.db',
      'catalog.db-wal',
      'catalog.db-shm',
      'kms/keystore.db',
      'kms/keystore.db-wal',
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    }
    assert.ok(
      names.some((n) => /\.db-wal$/.test(n) && !n.startsWith('catalog') && !n.startsWith('kms/')),
      'a table file',
    );
    assert.ok(
      names.some((n) => /trail|audit|cloudtrail/i.test(n)),
      `an audit file in ${names.join(', ')}`,
    );
    for (const file of files) {
      assert.equal((statSync(file).mode & 0o777).toString(8), '600', `${file} is 0600`);
    }
    const folders = [dataDir, ...new Set(files.map((f) => dirname(f)))];
    for (const folderPath of folders) {
      assert.equal((statSync(folderPath).mode & 0o777).toString(8), '700', `${folderPath} is 0700`);
    }
    assert.equal(await server.stop(), 0);
  });
});

describe("item 21: DynamoDB Local's flags", () => {
  it('translates DynamoDB Local flags to sealdb options, with or without the start command', async () => {
    const { translateDynamoDbLocalArgs } = await import('../../src/cli/dynamodb-local-args.js');
    assert.deepEqual(translateDynamoDbLocalArgs(['-port', '8001', '-inMemory', '-sharedDb']).args, [
      'start',
      '--port',
      '8001',
      '--in-memory',
      '--shared-db',
    ]);
    assert.deepEqual(
      translateDynamoDbLocalArgs(['start', '-dbPath', '/d', '-cors', 'http://a.example,http://b.example']).args,
      ['start', '--data-dir', '/d', '--cors', 'http://a.example,http://b.example'],
    );
    const ignored = translateDynamoDbLocalArgs(['-delayTransientStatuses', '-optimizeDbBeforeStartup', '-port', '1']);
    assert.deepEqual(ignored.args, ['start', '--port', '1']);
    assert.deepEqual(ignored.ignored, ['-delayTransientStatuses', '-optimizeDbBeforeStartup']);
    // Only the start command's arguments are translated; a value is never taken for a flag.
    assert.deepEqual(translateDynamoDbLocalArgs(['audit', 'lookup', '--event-name', '-port']).args, [
      'audit',
      'lookup',
      '--event-name',
      '-port',
    ]);
    assert.deepEqual(translateDynamoDbLocalArgs(['start', '--region', '-port']).args, ['start', '--region', '-port']);
    assert.deepEqual(translateDynamoDbLocalArgs(['--version']).args, ['--version']);
  });

  it('starts with `sealdb -port N -inMemory -sharedDb`, as scripts for DynamoDB Local call it', async () => {
    const server = await startCli(['-port', '0', '-inMemory', '-sharedDb']);
    assert.match(server.output(), /in memory: nothing is written to disk/);
    assert.match(server.output(), /shared db: one account and region for every caller/);
    // -sharedDb reaches the server: a table made in one region is the table every region sees.
    const west = ddb(server.endpoint, 'us-west-2');
    const europe = ddb(server.endpoint, 'eu-west-1');
    assert.deepEqual((await west.send(new ListTablesCommand({}))).TableNames, []);
    await createTable(west, 'shared');
    assert.deepEqual((await europe.send(new ListTablesCommand({}))).TableNames, ['shared']);
    west.destroy();
    europe.destroy();
    assert.equal(await server.stop(), 0);
  });

  it('takes -dbPath as the data directory and -cors as a comma-separated list of origins', async () => {
    const dir = folder('dbpath');
    const dataDir = join(dir, 'ddb-local-data');
    const server = await startCli(
      [
        'start',
        '-port',
        '0',
        '-dbPath',
        dataDir,
        '-cors',
        'http://a.example,http://b.example',
        '--root-key-file',
        join(dir, 'root.key'),
      ],
      { cwd: dir },
    );
    assert.ok(server.output().includes(`data directory: ${dataDir}\n`), server.output());
    assert.match(server.output(), /CORS: allowed origins http:\/\/a\.example, http:\/\/b\.example/);
    // -cors reaches the server: a listed origin's preflight is allowed, any other gets no CORS headers.
    const preflight = (origin: string) =>
      fetch(server.endpoint, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-amz-target' },
      });
    const allowed = await preflight('http://b.example');
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://b.example');
    assert.equal((await preflight('http://c.example')).headers.get('access-control-allow-origin'), null);
    const client = ddb(server.endpoint);
    await createTable(client, 'inDbPath');
    client.destroy();
    assert.ok(existsSync(join(dataDir, 'catalog.db')), 'the data is in the -dbPath folder');
    assert.equal(await server.stop(), 0);
  });

  it('accepts -delayTransientStatuses and -optimizeDbBeforeStartup, saying they are ignored', async () => {
    const server = await startCli(['-port', '0', '-inMemory', '-delayTransientStatuses', '-optimizeDbBeforeStartup']);
    assert.match(server.output(), /-delayTransientStatuses is ignored/);
    assert.match(server.output(), /-optimizeDbBeforeStartup is ignored/);
    assert.equal(await server.stop(), 0);
  });
});
