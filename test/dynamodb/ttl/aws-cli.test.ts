/**
 * Issue 14, Time to Live from the AWS CLI against a real `sealdb start`: update-time-to-live and
 * describe-time-to-live, DynamoDB's error text, and expiry after the test-only clock move
 * (`--allow-time-travel` + `sealdb time advance`), which runs a TTL pass before it answers.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { awsCliEnv, runCommand, type SealdbProcess, startSealdbProcess } from '../../helpers/process.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

async function aws(endpoint: string, ...args: string[]): Promise<Record<string, unknown> | undefined> {
  const { stdout } = await runCommand('aws', ['dynamodb', ...args, '--endpoint-url', endpoint, '--output', 'json'], {
    env: awsCliEnv(),
  });
  return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
}

async function awsFails(endpoint: string, ...args: string[]): Promise<string> {
  try {
    await aws(endpoint, ...args);
  } catch (error) {
    return (error as { stderr: string }).stderr;
  }
  assert.fail(`aws dynamodb ${args.join(' ')} succeeded`);
}

describe('TTL through the AWS CLI', () => {
  let server: SealdbProcess | undefined;
  after(async () => {
    if (server && server.child.exitCode === null) await server.stop('SIGKILL');
  });

  it('update-time-to-live, describe-time-to-live, and expiry after `sealdb time advance`', async () => {
    server = await startSealdbProcess(['--in-memory', '--allow-time-travel']);
    const endpoint = server.endpoint;
    await aws(
      endpoint,
      'create-table',
      '--table-name',
      'Sessions',
      '--attribute-definitions',
      'AttributeName=id,AttributeType=S',
      '--key-schema',
      'AttributeName=id,KeyType=HASH',
      '--billing-mode',
      'PAY_PER_REQUEST',
    );
    assert.deepEqual(await aws(endpoint, 'describe-time-to-live', '--table-name', 'Sessions'), {
      TimeToLiveDescription: { TimeToLiveStatus: 'DISABLED' },
    });
    assert.deepEqual(
      await aws(
        endpoint,
        'update-time-to-live',
        '--table-name',
        'Sessions',
        '--time-to-live-specification',
        'Enabled=true,AttributeName=expiresAt',
      ),
      { TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' } },
    );
    const again = await awsFails(
      endpoint,
      'update-time-to-live',
      '--table-name',
      'Sessions',
      '--time-to-live-specification',
      'Enabled=true,AttributeName=expiresAt',
    );
    assert.match(
      again,
      /\(ValidationException\) when calling the UpdateTimeToLive operation: TimeToLive is already enabled/,
    );

    const serverTime = (await (await fetch(`${endpoint}/_sealdb/time`)).json()) as { epochMillis: number };
    const inAnHour = Math.floor(serverTime.epochMillis / 1000) + 3600;
    await aws(
      endpoint,
      'put-item',
      '--table-name',
      'Sessions',
      '--item',
      JSON.stringify({ id: { S: 'a' }, expiresAt: { N: `${inAnHour}` } }),
    );
    await aws(
      endpoint,
      'put-item',
      '--table-name',
      'Sessions',
      '--item',
      JSON.stringify({ id: { S: 'b' }, expiresAt: { N: `${inAnHour + 86_400}` } }),
    );

    await runCommand(process.execPath, [CLI, 'time', 'advance', '2h', '--endpoint-url', endpoint]);
    assert.deepEqual(await aws(endpoint, 'describe-time-to-live', '--table-name', 'Sessions'), {
      TimeToLiveDescription: { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' },
    });
    // The move ran a TTL pass: `a` (expired an hour ago) is gone, `b` stays.
    assert.deepEqual(
      await aws(endpoint, 'get-item', '--table-name', 'Sessions', '--key', '{"id":{"S":"a"}}'),
      undefined,
    );
    assert.ok((await aws(endpoint, 'get-item', '--table-name', 'Sessions', '--key', '{"id":{"S":"b"}}'))?.Item);
    const metrics = await (await fetch(`${endpoint}/metrics`)).text();
    assert.match(metrics, /^sealdb_ttl_deleted_items_total 1$/m);

    assert.deepEqual(
      await aws(
        endpoint,
        'update-time-to-live',
        '--table-name',
        'Sessions',
        '--time-to-live-specification',
        'Enabled=false,AttributeName=expiresAt',
      ),
      { TimeToLiveSpecification: { Enabled: false, AttributeName: 'expiresAt' } },
    );
    const cooldown = await awsFails(
      endpoint,
      'update-time-to-live',
      '--table-name',
      'Sessions',
      '--time-to-live-specification',
      'Enabled=true,AttributeName=expiresAt',
    );
    assert.match(cooldown, /Time to live has been modified multiple times within a fixed interval/);
    assert.equal(await server.stop(), 0);
  });
});
