/**
 * Issue 14, Time to Live: the sweeper deletes items whose TTL attribute (a top-level Number of epoch
 * seconds) has passed, no more than five years back, with the test's clock moved forward instead of
 * waiting; expired items are still returned until swept; the indexes follow; tables whose key is
 * unusable are skipped; a restart carries on; the deletions are counted in /metrics.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ManualClock } from '../../../src/core/clock.js';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

const YEAR_S = 365 * 24 * 60 * 60;

async function deletedTotal(endpoint: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('sealdb_ttl_deleted_items_total '));
  assert.ok(line, 'the metric is exported');
  return Number(line.split(' ').pop());
}

/** A frozen clock (the test moves it), so expiry times are exact. */
const frozenClock = (start = Date.now()) => new ManualClock({ now: () => start });

async function createTable(ddb: DynamoDBClient, name: string, sse?: string): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'user', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byUser',
          KeySchema: [{ AttributeName: 'user', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      ...(sse ? { SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: sse } } : {}),
    }),
  );
}

async function enableTtl(server: TestServer, ddb: DynamoDBClient, table: string): Promise<void> {
  await ddb.send(
    new UpdateTimeToLiveCommand({
      TableName: table,
      TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' },
    }),
  );
  // Past ENABLING.
  server.clock.advance(1000);
}

async function keys(ddb: DynamoDBClient, table: string, index?: string): Promise<string[]> {
  const { Items = [] } = await ddb.send(new ScanCommand({ TableName: table, ...(index ? { IndexName: index } : {}) }));
  return Items.map((item) => item.pk?.S as string).sort();
}

describe('TTL expiry', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  const nowS = () => Math.floor(server.clock.now() / 1000);

  before(async () => {
    server = await startTestServer({ clock: frozenClock() });
    ddb = new DynamoDBClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('deletes expired items when the clock passes them, from the table and its index; keeps the rest', async () => {
    await createTable(ddb, 'Sessions');
    await enableTtl(server, ddb, 'Sessions');
    const now = nowS();
    const items: Record<string, Record<string, unknown>> = {
      soon: { expiresAt: { N: `${now + 100}` } },
      later: { expiresAt: { N: `${now + 10_000}` } },
      fourYearsAgo: { expiresAt: { N: `${now - 4 * YEAR_S}` } },
      // More than five years in the past: DynamoDB ignores it.
      sixYearsAgo: { expiresAt: { N: `${now - 6 * YEAR_S}` } },
      asString: { expiresAt: { S: `${now - 100}` } },
      asSet: { expiresAt: { NS: [`${now - 100}`] } },
      nested: { meta: { M: { expiresAt: { N: `${now - 100}` } } } },
      none: {},
      // A fraction and an exponent are Numbers too.
      exponent: { expiresAt: { N: `${(now - 50) / 1000}E3` } },
    };
    const all = Object.keys(items).sort();
    for (const [pk, extra] of Object.entries(items)) {
      await ddb.send(
        new PutItemCommand({ TableName: 'Sessions', Item: { pk: { S: pk }, user: { S: 'u1' }, ...extra } as never }),
      );
    }
    // Expired but not yet swept: still returned, by GetItem, Scan and the index.
    assert.ok((await ddb.send(new GetItemCommand({ TableName: 'Sessions', Key: { pk: { S: 'fourYearsAgo' } } }))).Item);
    assert.deepEqual(await keys(ddb, 'Sessions'), all);
    assert.deepEqual(await keys(ddb, 'Sessions', 'byUser'), all);
    const before = await deletedTotal(server.endpoint);

    await server.sweep();
    const kept = all.filter((k) => k !== 'fourYearsAgo' && k !== 'exponent');
    assert.deepEqual(await keys(ddb, 'Sessions'), kept);
    assert.deepEqual(await keys(ddb, 'Sessions', 'byUser'), kept);
    assert.equal(await deletedTotal(server.endpoint), before + 2);

    // 100 s on, `soon` has expired; it is still there until the next pass.
    server.clock.advance(101_000);
    assert.ok((await ddb.send(new GetItemCommand({ TableName: 'Sessions', Key: { pk: { S: 'soon' } } }))).Item);
    await server.sweep();
    const left = kept.filter((k) => k !== 'soon');
    assert.deepEqual(await keys(ddb, 'Sessions'), left);
    assert.deepEqual(await keys(ddb, 'Sessions', 'byUser'), left);
    assert.equal(await deletedTotal(server.endpoint), before + 3);
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Sessions' }));
    assert.equal(Table?.ItemCount, left.length);
    assert.equal(Table?.GlobalSecondaryIndexes?.[0]?.ItemCount, left.length, 'the index counts follow');
  });

  it('an item renewed before the sweep is kept; TTL does nothing while ENABLING or once disabled', async () => {
    await createTable(ddb, 'Renewed');
    const past = `${nowS() - 10}`;
    const put = (pk: string) =>
      ddb.send(
        new PutItemCommand({ TableName: 'Renewed', Item: { pk: { S: pk }, user: { S: 'u' }, expiresAt: { N: past } } }),
      );
    await put('a');
    await put('b');
    await server.sweep();
    assert.deepEqual(await keys(ddb, 'Renewed'), ['a', 'b'], 'TTL not enabled: nothing expires');
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'Renewed',
        TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' },
      }),
    );
    await server.sweep();
    assert.deepEqual(await keys(ddb, 'Renewed'), ['a', 'b'], 'ENABLING: not yet');
    server.clock.advance(1000);
    await ddb.send(
      new UpdateItemCommand({
        TableName: 'Renewed',
        Key: { pk: { S: 'a' } },
        UpdateExpression: 'SET expiresAt = :later',
        ExpressionAttributeValues: { ':later': { N: `${nowS() + 3600}` } },
      }),
    );
    await server.sweep();
    assert.deepEqual(await keys(ddb, 'Renewed'), ['a']);

    server.clock.advance(60 * 60 * 1000);
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'Renewed',
        TimeToLiveSpecification: { Enabled: false, AttributeName: 'expiresAt' },
      }),
    );
    server.clock.advance(2 * 60 * 60 * 1000);
    await server.sweep();
    assert.deepEqual(await keys(ddb, 'Renewed'), ['a'], 'disabled: a is past its time but stays');
  });

  it('an attribute name that JSON escapes is matched exactly', async () => {
    await createTable(ddb, 'Escaped');
    const attribute = 'exp"ires\\at é';
    await ddb.send(
      new UpdateTimeToLiveCommand({
        TableName: 'Escaped',
        TimeToLiveSpecification: { Enabled: true, AttributeName: attribute },
      }),
    );
    server.clock.advance(1000);
    const past = { N: `${nowS() - 10}` };
    await ddb.send(
      new PutItemCommand({ TableName: 'Escaped', Item: { pk: { S: 'x' }, user: { S: 'u' }, [attribute]: past } }),
    );
    await ddb.send(
      new PutItemCommand({ TableName: 'Escaped', Item: { pk: { S: 'y' }, user: { S: 'u' }, expiresAt: past } }),
    );
    await server.sweep();
    assert.deepEqual(await keys(ddb, 'Escaped'), ['y']);
  });

  it('skips a table whose KMS key is unusable, and expires its items once the key is back', async () => {
    const kms = new KMSClient(server.clientConfig());
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await createTable(ddb, 'Locked', keyId);
    await enableTtl(server, ddb, 'Locked');
    await ddb.send(
      new PutItemCommand({
        TableName: 'Locked',
        Item: { pk: { S: 'old' }, user: { S: 'u' }, expiresAt: { N: `${nowS() - 10}` } },
      }),
    );
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    // The background key check is due again after 5 minutes: it takes the table offline.
    server.clock.advance(5 * 60 * 1000);
    const before = await deletedTotal(server.endpoint);
    await server.sweep();
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: 'Locked' }));
    assert.equal(Table?.TableStatus, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
    assert.equal(await deletedTotal(server.endpoint), before, 'nothing deleted from an inaccessible table');
    // UpdateTimeToLive needs the key too (ack-api-quirks DDB-TABLE-333).
    await rejectsWith(
      ddb.send(
        new UpdateTimeToLiveCommand({
          TableName: 'Locked',
          TimeToLiveSpecification: { Enabled: false, AttributeName: 'expiresAt' },
        }),
      ),
      'AccessDeniedException',
      /^KMS key access denied error: com\.amazonaws\.services\.kms\.model\.DisabledException/,
    );
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    await server.sweep();
    assert.deepEqual(await keys(ddb, 'Locked'), []);
    assert.equal(await deletedTotal(server.endpoint), before + 1);
    kms.destroy();
  });
});

describe('TTL across a restart', () => {
  it('the setting survives and a pass cut short by the stop is carried on by the next process', async () => {
    const clock = frozenClock();
    const first = await startTestServer({ clock });
    const ddb = new DynamoDBClient(first.clientConfig());
    await createTable(ddb, 'Big');
    await enableTtl(first, ddb, 'Big');
    const past = `${Math.floor(clock.now() / 1000) - 10}`;
    const total = 3000;
    for (let i = 0; i < total; i += 25) {
      const requests = Array.from({ length: 25 }, (_, j) => ({
        PutRequest: { Item: { pk: { S: `k${i + j}` }, user: { S: `u${(i + j) % 7}` }, expiresAt: { N: past } } },
      }));
      await ddb.send(new BatchWriteItemCommand({ RequestItems: { Big: requests } }));
    }
    await ddb.send(new PutItemCommand({ TableName: 'Big', Item: { pk: { S: 'keep' }, user: { S: 'u' } } }));
    // Stop in the middle of a pass.
    const pass = first.sweep();
    let deletedBeforeStop = 0;
    while (deletedBeforeStop === 0) deletedBeforeStop = await deletedTotal(first.endpoint);
    ddb.destroy();
    await first.close();
    await pass;
    assert.ok(deletedBeforeStop < total, `the pass was cut short (${deletedBeforeStop} of ${total} deleted)`);

    const second = await startTestServer({
      clock,
      scratch: first.scratch,
      dataDir: first.dataDir,
      rootKeyFile: first.rootKeyFile,
    });
    const again = new DynamoDBClient(second.clientConfig());
    try {
      const ttl = await again.send(new DescribeTableCommand({ TableName: 'Big' }));
      assert.ok((ttl.Table?.ItemCount ?? 0) > 1, 'items were left for the second process');
      // No client request has opened the table: the sweeper opens it as the service.
      await second.sweep();
      assert.deepEqual(await keys(again, 'Big'), ['keep']);
      assert.deepEqual(await keys(again, 'Big', 'byUser'), ['keep']);
    } finally {
      again.destroy();
      await second.cleanup();
    }
  });
});
