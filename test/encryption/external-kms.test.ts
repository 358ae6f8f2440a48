/**
 * sealdb A keeps its table keys in an external KMS, sealdb B (two real servers on their own
 * ports): tables work, B's trail shows A's DynamoDB-shaped calls and A's own trail the matching
 * outgoing ones; B down for less than the grace period keeps A serving from cached table keys
 * (with a /health flag and a metric), longer gives A's clients clear errors without taking the
 * table offline, B back brings A back without a restart; a key disabled on B makes A's table
 * INACCESSIBLE_ENCRYPTION_CREDENTIALS. Time moves on A's injectable clock, never by sleeping.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, DisableKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MINUTE = 60_000;
const CREDENTIALS = { accessKeyId: 'AKIDSEALDBA', secretAccessKey: 'a-secret' };

let b: TestServer;
let a: TestServer;
let bPort: number;

const startB = (port?: number, from?: TestServer) =>
  startTestServer({
    ...(from ? { dataDir: from.dataDir, rootKeyFile: from.rootKeyFile, scratch: from.scratch } : {}),
    ...(port !== undefined ? { port } : {}),
  });

let defaultKeyArn: string;

before(async () => {
  b = await startB();
  bPort = b.port;
  defaultKeyArn = (await kmsOnB().send(new CreateKeyCommand({ Description: 'A default' }))).KeyMetadata?.Arn as string;
  a = await startTestServer({
    kms: {
      mode: 'external',
      endpoint: b.endpoint,
      credentials: CREDENTIALS,
      defaultKeyId: defaultKeyArn,
      maxAttempts: 1,
      timeoutMs: 2000,
    },
  });
});
after(async () => {
  await a.cleanup();
  await b.cleanup();
});

const dynamo = () => new DynamoDBClient(a.clientConfig());
const kmsOnB = () => new KMSClient(b.clientConfig());

async function lookup(server: TestServer): Promise<Event[]> {
  const client = new CloudTrailClient(server.clientConfig());
  const out: Event[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ NextToken }));
    out.push(...(page.Events ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out.reverse();
}

const record = (e: Event) => JSON.parse(e.CloudTrailEvent ?? '{}') as Record<string, unknown>;

const createTable = (name: string, KMSMasterKeyId?: string) =>
  dynamo().send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { Enabled: true, SSEType: 'KMS', ...(KMSMasterKeyId ? { KMSMasterKeyId } : {}) },
    }),
  );

const getItem = (client: DynamoDBClient, table: string) =>
  client.send(new GetItemCommand({ TableName: table, Key: { id: { S: 'dune' } } }));

async function health(): Promise<Record<string, unknown>> {
  const response = await fetch(`${a.endpoint}/health`);
  return (await response.json()) as Record<string, unknown>;
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${a.endpoint}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

let keyArn: string;

test('tables under keys of the external KMS work, and both trails show the calls', async () => {
  keyArn = (await kmsOnB().send(new CreateKeyCommand({ Description: 'A tables' }))).KeyMetadata?.Arn as string;
  await createTable('Books', keyArn);
  const client = dynamo();
  await client.send(new PutItemCommand({ TableName: 'Books', Item: { id: { S: 'dune' }, year: { N: '1965' } } }));
  assert.equal((await getItem(client, 'Books')).Item?.year?.N, '1965');
  const described = await client.send(new DescribeTableCommand({ TableName: 'Books' }));
  assert.equal(described.Table?.SSEDescription?.KMSMasterKeyArn, keyArn);

  // SSEType KMS without a key: the configured default key stands in for DynamoDB's managed key.
  await createTable('Managed');
  await client.send(new PutItemCommand({ TableName: 'Managed', Item: { id: { S: 'dune' } } }));
  const managed = await client.send(new DescribeTableCommand({ TableName: 'Managed' }));
  assert.equal(managed.Table?.SSEDescription?.KMSMasterKeyArn, defaultKeyArn);

  const onB = (await lookup(b)).filter((e) => e.EventName !== 'CreateKey');
  assert.deepEqual(
    onB.map((e) => e.EventName).slice(0, 3),
    ['DescribeKey', 'CreateGrant', 'GenerateDataKey'],
    "CreateTable's calls, in DynamoDB's order",
  );
  const books = onB.filter((e) => JSON.stringify(record(e).requestParameters ?? {}).includes('"Books"'));
  const generate = record(books.find((e) => e.EventName === 'GenerateDataKey') as Event);
  assert.deepEqual((generate.requestParameters as Record<string, unknown>).encryptionContext, {
    'aws:dynamodb:tableName': 'Books',
    'aws:dynamodb:subscriberId': '000000000000',
  });
  assert.equal((generate.userIdentity as { accessKeyId?: string }).accessKeyId, CREDENTIALS.accessKeyId);
  const grant = record(onB.find((e) => e.EventName === 'CreateGrant') as Event);
  assert.deepEqual(((grant.requestParameters as Record<string, unknown>).constraints as object) ?? {}, {
    encryptionContextSubset: { 'aws:dynamodb:tableName': 'Books', 'aws:dynamodb:subscriberId': '000000000000' },
  });
  assert.ok(
    books.some((e) => e.EventName === 'Decrypt'),
    'a request on a new connection decrypted the table key on B, with the table context',
  );

  // A's own trail: the same calls, outgoing, each with B's request id.
  const onA = await lookup(a);
  const outgoing = onA.filter((e) => (record(e).additionalEventData as { externalKms?: string })?.externalKms);
  assert.ok(outgoing.length >= 4, `A recorded its outgoing calls (${outgoing.length})`);
  const bIds = new Set(onB.map((e) => record(e).requestID));
  for (const e of outgoing) {
    const data = record(e).additionalEventData as { externalRequestId?: string; outcome?: string };
    assert.equal(data.outcome, 'success');
    assert.ok(bIds.has(data.externalRequestId), `B's trail has request ${data.externalRequestId}`);
    assert.equal(record(e).requestID, data.externalRequestId);
  }
  const aGenerate = record(outgoing.find((e) => e.EventName === 'GenerateDataKey') as Event);
  assert.equal((aGenerate.additionalEventData as { keyArn?: string }).keyArn, keyArn);

  // The built-in KMS API is off on A's port.
  await assert.rejects(new KMSClient(a.clientConfig()).send(new ListKeysCommand({})));
  assert.equal((await health()).status, 'ok');
});

test('B down for less than the grace: A serves from cached keys, flagged on /health and in metrics', async () => {
  await b.close();
  // Past the 5-minute refresh: the next request asks B, which is gone.
  a.clock.advance(6 * MINUTE);
  const fresh = dynamo(); // a new connection has no cached key of its own
  assert.equal((await getItem(fresh, 'Books')).Item?.year?.N, '1965');
  await fresh.send(new PutItemCommand({ TableName: 'Books', Item: { id: { S: 'arrakis' } } }));
  const flagged = await health();
  assert.equal(flagged.status, 'degraded');
  assert.equal((flagged.kms as { outage: boolean }).outage, true);
  assert.equal((flagged.kms as { servingFromCachedKeys: boolean }).servingFromCachedKeys, true);
  assert.equal(await metric('sealdb_kms_outage'), 1);
  assert.ok((await metric('sealdb_table_keys_from_outage_cache_total')) >= 1);
  assert.ok((await metric('sealdb_kms_outage_grace_remaining_seconds')) > 14 * 60);
  await a.sweep(); // the background key check keeps the table: an outage says nothing about the key
  a.clock.advance(10 * MINUTE);
  assert.equal((await getItem(dynamo(), 'Books')).Item?.year?.N, '1965');
  const outgoing = (await lookup(a)).filter(
    (e) => (record(e).additionalEventData as { outcome?: string })?.outcome === 'unreachable',
  );
  assert.ok(outgoing.length >= 1, "A's trail records the failed outgoing calls");
  assert.equal(record(outgoing[0] as Event).errorCode, 'DependencyTimeoutException');
});

test('past the grace A answers with a clear error, keeps the table, and recovers when B is back', async () => {
  a.clock.advance(6 * MINUTE); // 16 minutes since the first failure
  await assert.rejects(getItem(dynamo(), 'Books'), (error: Error) => {
    assert.equal(error.name, 'AccessDeniedException');
    assert.match(
      error.message,
      /KMS key access denied error: com\.amazonaws\.services\.kms\.model\.DependencyTimeoutException/,
    );
    assert.match(error.message, /could not be reached/);
    assert.match(error.message, /grace period of cached table keys ended/);
    return true;
  });
  const flagged = await health();
  assert.equal(flagged.status, 'unavailable');
  await a.sweep();
  const described = await dynamo().send(new DescribeTableCommand({ TableName: 'Books' }));
  assert.equal(described.Table?.TableStatus, 'ACTIVE', 'an outage does not make the table inaccessible');

  b = await startB(bPort, b);
  assert.equal((await getItem(dynamo(), 'Books')).Item?.year?.N, '1965');
  assert.ok((await getItem(dynamo(), 'Books')).Item);
  assert.equal((await health()).status, 'ok');
  assert.equal(await metric('sealdb_kms_outage'), 0);
});

test("a key disabled on B makes A's table inaccessible", async () => {
  await kmsOnB().send(new DisableKeyCommand({ KeyId: keyArn }));
  a.clock.advance(6 * MINUTE);
  await assert.rejects(getItem(dynamo(), 'Books'), (error: Error) => {
    assert.equal(error.name, 'AccessDeniedException');
    assert.match(error.message, /DisabledException/);
    return true;
  });
  const described = await dynamo().send(new DescribeTableCommand({ TableName: 'Books' }));
  assert.equal(described.Table?.TableStatus, 'INACCESSIBLE_ENCRYPTION_CREDENTIALS');
  // The other table's key is fine.
  assert.ok((await getItem(dynamo(), 'Managed')).Item);
  assert.equal((await health()).status, 'ok', 'a disabled key is an answer, not an outage');
});

test('deleting a table retires its grant on B', async () => {
  await dynamo().send(new DeleteTableCommand({ TableName: 'Managed' }));
  const retired = (await lookup(b)).filter((e) => e.EventName === 'RetireGrant').map(record);
  assert.equal(retired.length, 1);
  assert.equal(retired[0]?.errorCode, undefined, JSON.stringify(retired[0]));
  assert.equal(
    (retired[0]?.userIdentity as { accessKeyId?: string } | undefined)?.accessKeyId,
    CREDENTIALS.accessKeyId,
  );
});
