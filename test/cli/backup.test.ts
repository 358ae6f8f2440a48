import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = promisify(execFile);

/** `sealdb backup list|create|restore` against a running server. */
describe('sealdb backup', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;

  before(async () => {
    server = await startTestServer();
    ddb = new DynamoDBClient(server.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Cli',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let i = 0; i < 40; i++) {
      await ddb.send(new PutItemCommand({ TableName: 'Cli', Item: { id: { S: `k${i}` }, n: { N: String(i) } } }));
    }
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  const sealdb = (...args: string[]) =>
    run(process.execPath, [CLI, 'backup', ...args, '--endpoint-url', server.endpoint], {
      env: { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local-secret' },
    });

  it('creates a backup (waiting with a progress line), lists it and restores it into a new table', async () => {
    const created = await sealdb('create', '--table', 'Cli', '--name', 'cli-backup');
    const arn = created.stdout.trim();
    assert.match(arn, /:table\/Cli\/backup\/\d{14}-[0-9a-f]{8}$/);
    assert.match(created.stderr, /backing up Cli \(.* MB\): AVAILABLE/);

    const listed = await sealdb('list', '--table', 'Cli');
    assert.match(listed.stdout, /Cli {2}cli-backup {2}USER {2}AVAILABLE/);
    assert.ok(listed.stdout.includes(arn));

    const restored = await sealdb('restore', '--backup-arn', arn, '--target', 'CliCopy', '--sse', 'managed');
    assert.match(restored.stderr, /restoring CliCopy: \[#+\] 40\/40 items ACTIVE/);
    assert.equal(restored.stdout.trim(), `restored ${arn} into CliCopy`);
    const table = (await ddb.send(new DescribeTableCommand({ TableName: 'CliCopy' }))).Table;
    assert.equal(table?.ItemCount, 40);
    assert.ok(table?.SSEDescription?.KMSMasterKeyArn);
    const item = await ddb.send(new GetItemCommand({ TableName: 'CliCopy', Key: { id: { S: 'k7' } } }));
    assert.equal(item.Item?.n?.N, '7');
  });

  it('reports the server error and exits non-zero', async () => {
    await assert.rejects(
      sealdb('create', '--table', 'Missing', '--name', 'nope'),
      (error: Error & { stderr: string }) => {
        assert.match(error.stderr, /sealdb: TableNotFoundException: Table not found: Missing/);
        return true;
      },
    );
  });
});
