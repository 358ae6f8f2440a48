/**
 * Issue 14, Time to Live: UpdateTimeToLive / DescribeTimeToLive through the SDK, every rule valid
 * and invalid with DynamoDB's messages (recorded by ack-api-quirks DDB-TABLE-143..147 and dynalite),
 * the ENABLING → ENABLED and DISABLING → DISABLED transitions and the one-hour cooldown, all
 * driven by the test's clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { ManualClock } from '../../../src/core/clock.js';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const HOUR_MS = 60 * 60 * 1000;
const AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';

describe('UpdateTimeToLive and DescribeTimeToLive', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let tables = 0;

  before(async () => {
    // Frozen but for the test's moves, so the 1-second transition is exact.
    const start = Date.now();
    server = await startTestServer({ inMemory: true, clock: new ManualClock({ now: () => start }) });
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  async function newTable(): Promise<string> {
    const name = `ttl-${++tables}`;
    await ddb.send(
      new CreateTableCommand({
        TableName: name,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    return name;
  }

  const update = (TableName: string, Enabled: boolean, AttributeName: string) =>
    ddb.send(new UpdateTimeToLiveCommand({ TableName, TimeToLiveSpecification: { Enabled, AttributeName } }));
  const describeTtl = async (TableName: string) =>
    (await ddb.send(new DescribeTimeToLiveCommand({ TableName }))).TimeToLiveDescription;

  it('a new table is DISABLED with no attribute name', async () => {
    const table = await newTable();
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'DISABLED' });
  });

  it('enabling echoes the specification, shows ENABLING for a short while, then ENABLED', async () => {
    const table = await newTable();
    const answer = await update(table, true, 'expiresAt');
    assert.deepEqual(answer.TimeToLiveSpecification, { Enabled: true, AttributeName: 'expiresAt' });
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'ENABLING', AttributeName: 'expiresAt' });
    server.clock.advance(999);
    assert.equal((await describeTtl(table))?.TimeToLiveStatus, 'ENABLING');
    server.clock.advance(1);
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'ENABLED', AttributeName: 'expiresAt' });
  });

  it('the content checks come before the cooldown: already enabled, another attribute (DDB-TABLE-146/147)', async () => {
    const table = await newTable();
    await update(table, true, 'ttl');
    // Within the hour, and after it: the same answers.
    for (const wait of [0, HOUR_MS]) {
      server.clock.advance(wait);
      await rejectsWith(update(table, true, 'ttl'), 'ValidationException', 'TimeToLive is already enabled');
      await rejectsWith(
        update(table, true, 'other'),
        'ValidationException',
        'TimeToLive is active on a different AttributeName: current AttributeName is ttl',
      );
      await rejectsWith(
        update(table, false, 'other'),
        'ValidationException',
        'TimeToLive is active on a different AttributeName: current AttributeName is ttl',
      );
    }
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });

  it('a second change within an hour is refused; refusals do not extend the hour', async () => {
    const table = await newTable();
    await update(table, true, 'ttl');
    server.clock.advance(HOUR_MS - 1000);
    await rejectsWith(
      update(table, false, 'ttl'),
      'ValidationException',
      'Time to live has been modified multiple times within a fixed interval',
    );
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
    server.clock.advance(1000);
    const answer = await update(table, false, 'ttl');
    assert.deepEqual(answer.TimeToLiveSpecification, { Enabled: false, AttributeName: 'ttl' });
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'DISABLING', AttributeName: 'ttl' });
    server.clock.advance(1000);
    // Disabled: the attribute is forgotten (DDB-TABLE-144).
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'DISABLED' });
    // The disable started a new hour: re-enabling, even another attribute, waits for it.
    await rejectsWith(
      update(table, true, 'renamed'),
      'ValidationException',
      'Time to live has been modified multiple times within a fixed interval',
    );
    server.clock.advance(HOUR_MS);
    await update(table, true, 'renamed');
    server.clock.advance(1000);
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'ENABLED', AttributeName: 'renamed' });
  });

  it('disabling a table whose TTL is disabled is refused, also one that never had it', async () => {
    const fresh = await newTable();
    await rejectsWith(update(fresh, false, 'ttl'), 'ValidationException', 'TimeToLive is already disabled');
    const table = await newTable();
    await update(table, true, 'ttl');
    server.clock.advance(HOUR_MS);
    await update(table, false, 'ttl');
    // While DISABLING, and once DISABLED, whatever attribute is named.
    await rejectsWith(update(table, false, 'ttl'), 'ValidationException', 'TimeToLive is already disabled');
    server.clock.advance(HOUR_MS);
    await rejectsWith(update(table, false, 'other'), 'ValidationException', 'TimeToLive is already disabled');
  });

  it('the partition key may be the TTL attribute (DDB-TABLE-146)', async () => {
    const table = await newTable();
    await update(table, true, 'pk');
    server.clock.advance(1000);
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'ENABLED', AttributeName: 'pk' });
  });

  it('the table may be named by its ARN', async () => {
    const table = await newTable();
    const arn = `arn:aws:dynamodb:us-east-1:000000000000:table/${table}`;
    await update(arn, true, 'ttl');
    server.clock.advance(1000);
    assert.deepEqual(await describeTtl(arn), { TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });

  it('an unknown table is ResourceNotFoundException naming it (dynalite)', async () => {
    // One call at a time: a second promise made before the first settled went unhandled when it
    // was refused first (seen over the engine).
    for (const call of [() => update('missing', true, 'ttl'), () => describeTtl('missing')]) {
      await rejectsWith(call(), 'ResourceNotFoundException', 'Requested resource not found: Table: missing not found');
    }
  });

  it('attribute name bounds come from the model: 1 to 255 characters', async () => {
    const table = await newTable();
    const long = 'a'.repeat(256);
    await rejectsWith(
      update(table, true, long),
      'ValidationException',
      `1 validation error detected: Value '${long}' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length less than or equal to 255`,
    );
    await rejectsWith(
      update(table, true, ''),
      'ValidationException',
      "1 validation error detected: Value '' at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    );
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'DISABLED' });
    const longest = 'b'.repeat(255);
    await update(table, true, longest);
    server.clock.advance(1000);
    assert.deepEqual(await describeTtl(table), { TimeToLiveStatus: 'ENABLED', AttributeName: longest });
  });

  it('missing members are named as Coral names them (dynalite: null members)', async () => {
    const table = await newTable();
    const raw = async (body: unknown) => {
      const response = await fetch(server.endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.UpdateTimeToLive',
          'x-amz-date': '20240101T000000Z',
          authorization: AUTH,
        },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: (await response.json()) as { __type?: string; message?: string } };
    };
    const answer = await raw({ TableName: table, TimeToLiveSpecification: {} });
    assert.equal(answer.status, 400);
    assert.match(answer.body.__type ?? '', /ValidationException$/);
    assert.equal(
      answer.body.message,
      "2 validation errors detected: Value null at 'timeToLiveSpecification.enabled' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must not be null",
    );
    const missing = await raw({ TableName: table });
    assert.equal(
      missing.body.message,
      "1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null",
    );
  });
});
