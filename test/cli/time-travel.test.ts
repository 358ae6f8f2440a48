/**
 * Test-only time control (issue 12, item 9): `sealdb start --allow-time-travel` and
 * `POST /_sealdb/time` (or `sealdb time advance`) move a real server's clock forward, so the 7-day
 * key-deletion and archival windows can be tested from outside; without the flag nothing moves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  KMSClient,
  ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { resolveConfig } from '../../src/cli/config.js';
import { ManualClock, OffsetClock } from '../../src/core/clock.js';
import { timeEndpoint } from '../../src/time-travel/time-endpoint.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { runCommand, type SealdbProcess, startSealdbProcess } from '../helpers/process.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const DAY_S = 24 * 60 * 60;

const scratch = mkdtempSync(join(tmpdir(), 'sealdb-time-'));
const credentials = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };
const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

interface TimeAnswer {
  status: number;
  body: { now?: string; epochMillis?: number; offsetSeconds?: number; timeTravel?: string; message?: string };
}

async function timeCall(endpoint: string, body?: unknown, raw?: string): Promise<TimeAnswer> {
  const response = await fetch(`${endpoint}/_sealdb/time`, {
    method: body === undefined && raw === undefined ? 'GET' : 'POST',
    ...(body !== undefined || raw !== undefined
      ? { headers: { 'content-type': 'application/json' }, body: raw ?? JSON.stringify(body) }
      : {}),
  });
  return { status: response.status, body: (await response.json()) as TimeAnswer['body'] };
}

async function createTable(ddb: DynamoDBClient, name: string, keyId: string, items: number): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId },
    }),
  );
  for (let i = 0; i < items; i++) await ddb.send(new PutItemCommand({ TableName: name, Item: { id: { N: `${i}` } } }));
}

describe('time travel of a running sealdb', () => {
  const running: SealdbProcess[] = [];
  after(async () => {
    for (const server of running) if (server.child.exitCode === null) await server.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  });

  it('with --allow-time-travel: key deletion and archival happen when the clock is moved past their windows', async () => {
    const server = await startSealdbProcess([
      '--data-dir',
      join(scratch, 'on', 'data'),
      '--root-key-file',
      join(scratch, 'on', 'root.key'),
      '--allow-time-travel',
    ]);
    running.push(server);
    assert.match(server.output(), /WARNING: time travel is on .*For tests only/);
    const kms = new KMSClient(clientConfig(server.endpoint));
    const ddb = new DynamoDBClient(clientConfig(server.endpoint));
    try {
      const start = await timeCall(server.endpoint);
      assert.equal(start.status, 200);
      assert.equal(start.body.timeTravel, 'on');
      assert.equal(start.body.offsetSeconds, 0);

      // Bad moves are refused and move nothing.
      const refusals: Array<[unknown, string | undefined, RegExp]> = [
        [{ advanceSeconds: -60 }, undefined, /^Time only moves forward/],
        [{ set: '2001-01-01T00:00:00Z' }, undefined, /^Time only moves forward: 2001-01-01T00:00:00Z is before/],
        [{ set: '2030-01-01 00:00' }, undefined, /^set must be an ISO 8601 time with a zone/],
        [{ advanceSeconds: 1, set: '2099-01-01T00:00:00Z' }, undefined, /exactly one of advanceSeconds and set/],
        [{ advanceSeconds: '60' }, undefined, /advanceSeconds must be a number/],
        [undefined, '{"advanceSeconds":', /^The body is not JSON/],
      ];
      for (const [body, raw, message] of refusals) {
        const answer = await timeCall(server.endpoint, body, raw);
        assert.equal(answer.status, 400, JSON.stringify(body ?? raw));
        assert.equal((answer.body as { __type?: string }).__type, 'ValidationException');
        assert.match(answer.body.message ?? '', message);
      }
      assert.equal((await timeCall(server.endpoint)).body.offsetSeconds, 0);

      // A table under a key scheduled for deletion in 7 days: 7 days on, the key is gone for good.
      const doomed = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      await createTable(ddb, 'shredded', doomed, 3);
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed, PendingWindowInDays: 7 }));
      const { stdout } = await runCommand(process.execPath, [
        CLI,
        'time',
        'advance',
        '7d1m',
        '--endpoint-url',
        server.endpoint,
      ]);
      assert.match(stdout, /^server time: \S+ \(offset 604860 s; time travel on\)/);
      await rejectsWith(kms.send(new DescribeKeyCommand({ KeyId: doomed })), 'NotFoundException', /does not exist/);
      // The sweep run by the move found it without any traffic on the table.
      const shredded = await ddb.send(new DescribeTableCommand({ TableName: 'shredded' }));
      assert.equal(shredded.Table?.TableStatus, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
      await rejectsWith(
        ddb.send(new GetItemCommand({ TableName: 'shredded', Key: { id: { N: '1' } } })),
        'AccessDeniedException',
        /NotFoundException: .*does not exist.*its data can never be decrypted again\.$/,
      );

      // A table whose key is disabled goes inaccessible within 5 minutes and is archived 7 days later.
      const disabled = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      await createTable(ddb, 'archived', disabled, 2);
      await kms.send(new DisableKeyCommand({ KeyId: disabled }));
      assert.equal((await timeCall(server.endpoint, { advanceSeconds: 300 })).status, 200);
      const inaccessible = await ddb.send(new DescribeTableCommand({ TableName: 'archived' }));
      assert.equal(inaccessible.Table?.TableStatus, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
      const since = inaccessible.Table?.SSEDescription?.InaccessibleEncryptionDateTime as Date;

      const now = (await timeCall(server.endpoint)).body.epochMillis as number;
      const weekOn = new Date(now + 7 * DAY_S * 1000 + 1000).toISOString();
      const moved = await timeCall(server.endpoint, { set: weekOn });
      assert.equal(moved.status, 200);
      assert.ok((moved.body.epochMillis as number) >= Date.parse(weekOn));
      const archived = await ddb.send(new DescribeTableCommand({ TableName: 'archived' }));
      assert.equal(archived.Table?.TableStatus, 'ARCHIVED');
      assert.equal(archived.Table?.ArchivalSummary?.ArchivalReason, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
      const archivedAt = archived.Table?.ArchivalSummary?.ArchivalDateTime as Date;
      assert.ok(archivedAt.getTime() - since.getTime() >= 7 * DAY_S * 1000);
      assert.ok((moved.body.offsetSeconds as number) >= 2 * 7 * DAY_S);
    } finally {
      kms.destroy();
      ddb.destroy();
      assert.equal(await server.stop('SIGTERM'), 0);
    }
  });

  it('without the flag: the move is refused with a clear message and time does not move', async () => {
    const server = await startSealdbProcess(['--in-memory']);
    running.push(server);
    assert.doesNotMatch(server.output(), /time travel/);
    const kms = new KMSClient(clientConfig(server.endpoint));
    try {
      const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));

      const refused = await timeCall(server.endpoint, { advanceSeconds: 8 * DAY_S });
      assert.equal(refused.status, 403);
      assert.equal((refused.body as { __type?: string }).__type, 'AccessDeniedException');
      assert.match(refused.body.message ?? '', /^Time travel is off: .*--allow-time-travel.*was not changed\.$/);
      await assert.rejects(
        runCommand(process.execPath, [CLI, 'time', 'advance', '8d', '--endpoint-url', server.endpoint]),
        (error: Error & { code?: number; stderr?: string }) =>
          error.code === 1 && /Time travel is off/.test(error.stderr ?? ''),
      );

      const time = await timeCall(server.endpoint);
      assert.equal(time.body.timeTravel, 'off');
      assert.equal(time.body.offsetSeconds, 0);
      assert.ok(Math.abs((time.body.epochMillis as number) - Date.now()) < 60_000, 'the server keeps real time');
      const key = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      assert.equal(key.KeyMetadata?.KeyState, 'PendingDeletion', 'the key was not deleted');
    } finally {
      kms.destroy();
      assert.equal(await server.stop('SIGTERM'), 0);
    }
  });

  it('is off unless the flag, SEALDB_ALLOW_TIME_TRAVEL or allowTimeTravel turns it on', () => {
    assert.equal(resolveConfig({}, {}).allowTimeTravel, false);
    assert.equal(resolveConfig({ allowTimeTravel: true }, {}).allowTimeTravel, true);
    assert.equal(resolveConfig({}, { SEALDB_ALLOW_TIME_TRAVEL: '1' }).allowTimeTravel, true);
    assert.equal(resolveConfig({}, { SEALDB_ALLOW_TIME_TRAVEL: 'false' }).allowTimeTravel, false);
    const file = join(scratch, 'bad.json');
    writeFileSync(file, JSON.stringify({ allowTimeTravel: 'yes' }));
    assert.throws(() => resolveConfig({ config: file }, {}), /"allowTimeTravel" must be true or false/);
  });

  it('with --auth strict the route refuses any client but loopback (IPv4, IPv6, IPv4-mapped)', async () => {
    const travel = new OffsetClock(new ManualClock());
    let sweeps = 0;
    const route = timeEndpoint({
      clock: travel,
      travel,
      loopbackOnly: true,
      sweep: async () => {
        sweeps++;
      },
    });
    const move = (remoteAddress: string) =>
      route({ method: 'POST', body: Buffer.from('{"advanceSeconds":60}'), remoteAddress });
    for (const remote of ['192.0.2.9', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1']) {
      const refused = await move(remote);
      assert.equal(refused.status, 403, remote);
      assert.match(String(refused.body.message), /only moved from the server's own host \(loopback\)/);
    }
    assert.equal(travel.offsetMs, 0);
    assert.equal(sweeps, 0);
    for (const local of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.equal((await move(local)).status, 200, local);
    assert.equal(travel.offsetMs, 3 * 60_000);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal)?.address;

  // The refusal itself is proven above for any address; a second interface, where the machine has
  // one, also shows it through a real socket.
  it('with --auth strict: moved only from loopback', async (t) => {
    const config = join(scratch, 'strict.json');
    // Turned on from the config file this time.
    writeFileSync(
      config,
      JSON.stringify({ allowTimeTravel: true, accounts: [{ accountId: '111122223333', accessKeys: [credentials] }] }),
    );
    const server = await startSealdbProcess([
      '--in-memory',
      '--host',
      '0.0.0.0',
      '--auth',
      'strict',
      '--config',
      config,
    ]);
    running.push(server);
    assert.match(server.output(), /WARNING: time travel is on .*from this host/);
    try {
      const port = new URL(server.endpoint).port;
      if (external) {
        const remote = await timeCall(`http://${external}:${port}`, { advanceSeconds: 60 });
        assert.equal(remote.status, 403);
        assert.match(remote.body.message ?? '', /only moved from the server's own host \(loopback\), not from /);
      } else t.diagnostic('no non-loopback IPv4 address: the refusal is checked through the route alone');
      assert.equal((await timeCall(`http://127.0.0.1:${port}`)).body.offsetSeconds, 0);
      const local = await timeCall(`http://127.0.0.1:${port}`, { advanceSeconds: 60 });
      assert.equal(local.status, 200);
      assert.equal(local.body.offsetSeconds, 60);
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
    }
  });
});
