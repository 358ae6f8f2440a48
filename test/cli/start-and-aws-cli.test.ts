import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { awsCliEnv, runCommand, type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-cli-'));
const dataDir = join(scratch, 'data');
const rootKeyFile = join(scratch, 'config', 'root.key');

async function aws(endpoint: string, ...args: string[]): Promise<unknown> {
  const { stdout } = await runCommand('aws', [...args, '--endpoint-url', endpoint, '--output', 'json'], {
    env: awsCliEnv(),
  });
  return stdout.trim() ? JSON.parse(stdout) : undefined;
}

describe('sealdb start and the AWS CLI', () => {
  const running: SealdbProcess[] = [];
  after(async () => {
    // A failed test must not leave a server behind (it would keep the test process alive).
    for (const server of running) if (server.child.exitCode === null) await server.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('serves the AWS CLI, stops cleanly on SIGTERM and keeps every acknowledged write', async () => {
    const server = await startSealdbProcess(['--data-dir', dataDir, '--root-key-file', rootKeyFile]);
    running.push(server);
    assert.match(server.output(), /data directory: .*data/);
    assert.match(server.output(), /auth: local/);
    assert.equal(statSync(rootKeyFile).mode & 0o777, 0o600, 'the root key file is created 0600');

    assert.deepEqual(await aws(server.endpoint, 'dynamodb', 'list-tables'), { TableNames: [] });
    await aws(
      server.endpoint,
      'dynamodb',
      'create-table',
      '--table-name',
      'Music',
      '--attribute-definitions',
      'AttributeName=Artist,AttributeType=S',
      '--key-schema',
      'AttributeName=Artist,KeyType=HASH',
      '--billing-mode',
      'PAY_PER_REQUEST',
    );
    for (let i = 0; i < 20; i++) {
      await aws(
        server.endpoint,
        'dynamodb',
        'put-item',
        '--table-name',
        'Music',
        '--item',
        JSON.stringify({ Artist: { S: `artist-${i}` }, n: { N: String(i) } }),
      );
    }
    const got = (await aws(
      server.endpoint,
      'dynamodb',
      'get-item',
      '--table-name',
      'Music',
      '--key',
      '{"Artist":{"S":"artist-7"}}',
    )) as {
      Item: Record<string, unknown>;
    };
    assert.deepEqual(got.Item, { Artist: { S: 'artist-7' }, n: { N: '7' } });
    await assert.rejects(
      aws(server.endpoint, 'dynamodb', 'describe-table', '--table-name', 'Missing'),
      (error: Error & { stderr?: string }) => /ResourceNotFoundException/.test(error.stderr ?? ''),
    );
    assert.equal(await server.stop('SIGTERM'), 0);

    const again = await startSealdbProcess(['--data-dir', dataDir, '--root-key-file', rootKeyFile]);
    running.push(again);
    const list = (await aws(again.endpoint, 'dynamodb', 'list-tables')) as { TableNames: string[] };
    assert.deepEqual(list.TableNames, ['Music']);
    const described = (await aws(again.endpoint, 'dynamodb', 'describe-table', '--table-name', 'Music')) as {
      Table: { ItemCount: number };
    };
    assert.equal(described.Table.ItemCount, 20);
    assert.equal(await again.stop('SIGINT'), 0);
  });

  it('fails with a clear message when started with the wrong root key', async () => {
    // Another existing key (a missing one is refused before any key is made: ops-fidelity.test.ts).
    const otherKey = join(scratch, 'other', 'root.key');
    mkdirSync(dirname(otherKey), { recursive: true });
    writeFileSync(otherKey, randomBytes(32), { mode: 0o600 });
    await assert.rejects(
      startSealdbProcess(['--data-dir', dataDir, '--root-key-file', otherKey]),
      /root key does not match/,
    );
  });

  it('runs in memory without touching the disk', async () => {
    const server = await startSealdbProcess(['--in-memory', '--data-dir', join(scratch, 'never')]);
    running.push(server);
    assert.match(server.output(), /in memory/);
    assert.deepEqual(await aws(server.endpoint, 'dynamodb', 'list-tables'), { TableNames: [] });
    assert.equal(await server.stop(), 0);
    assert.throws(() => statSync(join(scratch, 'never')));
  });
});
