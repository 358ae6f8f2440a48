/**
 * Regions (issue 11, item 17): the region of the client's SigV4 credential scope selects the
 * region a request acts in. Tables, KMS keys, aliases, grants, the AWS managed key and the
 * CloudTrail events are per account and region, as in AWS, all on the one endpoint.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  TagResourceCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateAliasCommand,
  DescribeKeyCommand,
  KMSClient,
  ListGrantsCommand,
  ListKeysCommand,
  ListRetirableGrantsCommand,
} from '@aws-sdk/client-kms';
import type { KmsCallEvent } from '../../src/kms/index.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { createKey } from '../helpers/kms.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const LOCAL_ACCOUNT = '000000000000';
const US = 'us-east-1';
const EU = 'eu-west-1';

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** SDK clients of one server, each signing with the region it is given. */
function clientsOf(server: TestServer) {
  const made: { destroy(): void }[] = [];
  const config = (region: string, credentials?: Credentials) => ({
    ...server.clientConfig(credentials),
    region,
    // Strict auth checks request times against the server's (manual) clock.
    systemClockOffset: server.clock.now() - Date.now(),
  });
  const track = <T extends { destroy(): void }>(client: T): T => {
    made.push(client);
    return client;
  };
  return {
    ddb: (region: string, credentials?: Credentials) => track(new DynamoDBClient(config(region, credentials))),
    kms: (region: string, credentials?: Credentials) => track(new KMSClient(config(region, credentials))),
    trail: (region: string, credentials?: Credentials) => track(new CloudTrailClient(config(region, credentials))),
    destroy: () => {
      for (const client of made) client.destroy();
    },
  };
}

const tableInput = (TableName: string, extra: Partial<CreateTableCommandInput> = {}): CreateTableCommandInput => ({
  TableName,
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
  ...extra,
});

const tableArn = (region: string, name: string, account = LOCAL_ACCOUNT) =>
  `arn:aws:dynamodb:${region}:${account}:table/${name}`;

async function tableNames(client: DynamoDBClient): Promise<string[]> {
  return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
}

async function lookupAll(client: CloudTrailClient): Promise<Event[]> {
  const events: Event[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ NextToken }));
    events.push(...(page.Events ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return events;
}

const regionsOf = (events: readonly Event[]): string[] => [
  ...new Set(events.map((e) => (JSON.parse(e.CloudTrailEvent as string) as { awsRegion: string }).awsRegion)),
];

/** A request signed (by shape: local auth does not check the signature) for any credential scope. */
async function rawCall(server: TestServer, credentialRegion: string, target: string, body: object) {
  const response = await fetch(server.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': target,
      'x-amz-date': '20261201T000000Z',
      authorization:
        `AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261201/${credentialRegion}/dynamodb/aws4_request, ` +
        'SignedHeaders=host;x-amz-date;x-amz-target, Signature=00',
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { __type?: string; message?: string } };
}

describe('regions: one endpoint, every region', () => {
  let server: TestServer;
  let clients: ReturnType<typeof clientsOf>;
  const kmsCalls: KmsCallEvent[] = [];

  before(async () => {
    server = await startTestServer({ onKmsCall: (event) => kmsCalls.push(event) });
    clients = clientsOf(server);
  });
  after(async () => {
    clients.destroy();
    await server.cleanup();
  });

  test('the same table name in us-east-1 and eu-west-1 of one account is two independent tables', async () => {
    const us = clients.ddb(US);
    const eu = clients.ddb(EU);
    const inUs = await us.send(new CreateTableCommand(tableInput('Books')));
    const inEu = await eu.send(new CreateTableCommand(tableInput('Books')));
    assert.equal(inUs.TableDescription?.TableArn, tableArn(US, 'Books'));
    assert.equal(inEu.TableDescription?.TableArn, tableArn(EU, 'Books'));
    assert.notEqual(inUs.TableDescription?.TableId, inEu.TableDescription?.TableId);

    await us.send(new PutItemCommand({ TableName: 'Books', Item: { id: { S: 'b1' }, where: { S: 'us' } } }));
    await eu.send(new PutItemCommand({ TableName: 'Books', Item: { id: { S: 'b2' }, where: { S: 'eu' } } }));
    const key = (id: string) => ({ TableName: 'Books', Key: { id: { S: id } } });
    assert.deepEqual((await us.send(new GetItemCommand(key('b1')))).Item?.where, { S: 'us' });
    assert.equal((await us.send(new GetItemCommand(key('b2')))).Item, undefined);
    assert.deepEqual((await eu.send(new GetItemCommand(key('b2')))).Item?.where, { S: 'eu' });
    assert.equal((await eu.send(new GetItemCommand(key('b1')))).Item, undefined);

    // A third region has no tables at all; deleting one region's table leaves the other's.
    assert.deepEqual(await tableNames(clients.ddb('ap-southeast-2')), []);
    await eu.send(new DeleteTableCommand({ TableName: 'Books' }));
    assert.deepEqual(await tableNames(eu), []);
    assert.deepEqual(await tableNames(us), ['Books']);
    assert.deepEqual((await us.send(new GetItemCommand(key('b1')))).Item?.where, { S: 'us' });
  });

  test("a table ARN names its region, and another region's ARN does not reach the table", async () => {
    const eu = clients.ddb(EU);
    const us = clients.ddb(US);
    const arn = tableArn(EU, 'Arns');
    await eu.send(new CreateTableCommand(tableInput('Arns')));
    assert.equal((await eu.send(new DescribeTableCommand({ TableName: arn }))).Table?.TableArn, arn);
    await eu.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'team', Value: 'eu' }] }));
    assert.deepEqual((await eu.send(new ListTagsOfResourceCommand({ ResourceArn: arn }))).Tags, [
      { Key: 'team', Value: 'eu' },
    ]);
    await rejectsWith(
      us.send(new DescribeTableCommand({ TableName: arn })),
      'ResourceNotFoundException',
      'Requested resource not found: Table: Arns not found',
    );
    await rejectsWith(us.send(new DescribeTableCommand({ TableName: 'Arns' })), 'ResourceNotFoundException');
    // Tagging APIs name the region mismatch itself (ack-api-quirks, recorded against DynamoDB; see operations/tags.ts).
    await rejectsWith(
      us.send(new ListTagsOfResourceCommand({ ResourceArn: arn })),
      'ValidationException',
      `Invalid TableArn: Invalid ResourceArn provided as input ${arn}`,
    );
  });

  test('KMS keys, aliases and the AWS managed key are per region; ARNs carry the region', async () => {
    const kmsUs = clients.kms(US);
    const kmsEu = clients.kms(EU);
    const euKey = await createKey(kmsEu);
    assert.equal(euKey.arn, `arn:aws:kms:${EU}:${LOCAL_ACCOUNT}:key/${euKey.id}`);
    const listed = async (client: KMSClient) =>
      ((await client.send(new ListKeysCommand({}))).Keys ?? []).map((k) => k.KeyArn);
    assert.ok((await listed(kmsEu)).includes(euKey.arn));
    assert.ok(!(await listed(kmsUs)).includes(euKey.arn));
    await rejectsWith(
      kmsUs.send(new DescribeKeyCommand({ KeyId: euKey.id })),
      'NotFoundException',
      `Key 'arn:aws:kms:${US}:${LOCAL_ACCOUNT}:key/${euKey.id}' does not exist`,
    );
    await rejectsWith(
      kmsUs.send(new DescribeKeyCommand({ KeyId: euKey.arn })),
      'NotFoundException',
      `Invalid arn ${EU}`,
    );

    // One alias name in two regions names two keys.
    const usKey = await createKey(kmsUs);
    await kmsUs.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: usKey.id }));
    await kmsEu.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: euKey.id }));
    assert.equal((await kmsUs.send(new DescribeKeyCommand({ KeyId: 'alias/app' }))).KeyMetadata?.Arn, usKey.arn);
    assert.equal((await kmsEu.send(new DescribeKeyCommand({ KeyId: 'alias/app' }))).KeyMetadata?.Arn, euKey.arn);

    // The AWS managed key of a table is that of the table's region.
    const sse = { SSESpecification: { Enabled: true } };
    const managedEu = (await clients.ddb(EU).send(new CreateTableCommand(tableInput('Managed', sse)))).TableDescription
      ?.SSEDescription?.KMSMasterKeyArn;
    const managedUs = (await clients.ddb(US).send(new CreateTableCommand(tableInput('Managed', sse)))).TableDescription
      ?.SSEDescription?.KMSMasterKeyArn;
    assert.match(managedEu ?? '', new RegExp(`^arn:aws:kms:${EU}:${LOCAL_ACCOUNT}:key/`));
    assert.match(managedUs ?? '', new RegExp(`^arn:aws:kms:${US}:${LOCAL_ACCOUNT}:key/`));
    const managed = async (client: KMSClient) =>
      (await client.send(new DescribeKeyCommand({ KeyId: 'alias/aws/dynamodb' }))).KeyMetadata?.Arn;
    assert.equal(await managed(kmsEu), managedEu);
    assert.equal(await managed(kmsUs), managedUs);
  });

  test("DynamoDB's KMS calls for a table go to the table region's KMS, via dynamodb.<region>", async () => {
    const kmsEu = clients.kms(EU);
    const key = await createKey(kmsEu);
    const eu = clients.ddb(EU);
    kmsCalls.length = 0;
    await eu.send(
      new CreateTableCommand(
        tableInput('ViaEu', { SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key.arn } }),
      ),
    );
    await eu.send(new PutItemCommand({ TableName: 'ViaEu', Item: { id: { S: 'x' } } }));
    const calls = kmsCalls.map((e) => [e.eventName, e.region, e.viaService]);
    const via = `dynamodb.${EU}.amazonaws.com`;
    assert.deepEqual(calls, [
      ['DescribeKey', EU, via],
      ['CreateGrant', EU, via],
      ['GenerateDataKey', EU, via],
      ['Decrypt', EU, via],
    ]);
    const grants = (await kmsEu.send(new ListGrantsCommand({ KeyId: key.id }))).Grants ?? [];
    assert.deepEqual(
      grants.map((g) => [g.GranteePrincipal, g.RetiringPrincipal]),
      [[via, via]],
    );
    // Each region's KMS lists only the grants on its own keys.
    const retirable = async (client: KMSClient) =>
      ((await client.send(new ListRetirableGrantsCommand({ RetiringPrincipal: via }))).Grants ?? []).map(
        (g) => g.KeyId,
      );
    const inEu = await retirable(kmsEu);
    assert.ok(inEu.includes(key.arn));
    assert.ok(inEu.every((arn) => arn?.startsWith(`arn:aws:kms:${EU}:`)));
    assert.deepEqual(await retirable(clients.kms(US)), []);
  });

  test("a KMS key of another region cannot protect a table (DynamoDB's KMS validation error)", async () => {
    const euKey = await createKey(clients.kms(EU));
    const us = clients.ddb(US);
    const spec = (KMSMasterKeyId: string) => ({
      SSESpecification: { Enabled: true, SSEType: 'KMS' as const, KMSMasterKeyId },
    });
    await rejectsWith(
      us.send(new CreateTableCommand(tableInput('Foreign', spec(euKey.arn)))),
      'ValidationException',
      /^KMS validation error: com\.amazonaws\.services\.kms\.model\.NotFoundException: Invalid arn eu-west-1 /,
    );
    await rejectsWith(
      us.send(new CreateTableCommand(tableInput('Foreign', spec(euKey.id)))),
      'ValidationException',
      new RegExp(`NotFoundException: Key 'arn:aws:kms:${US}:${LOCAL_ACCOUNT}:key/${euKey.id}' does not exist`),
    );
    assert.ok(!(await tableNames(us)).includes('Foreign'));
  });

  test('LookupEvents shows the events of the caller region, each with its awsRegion', async () => {
    const trailUs = clients.trail(US);
    const trailEu = clients.trail(EU);
    const trailAp = clients.trail('ap-northeast-1');
    const euEvents = await lookupAll(trailEu);
    const usEvents = await lookupAll(trailUs);
    assert.ok(euEvents.length > 0 && usEvents.length > 0);
    assert.deepEqual(regionsOf(euEvents), [EU]);
    assert.deepEqual(regionsOf(usEvents), [US]);
    assert.deepEqual(await lookupAll(trailAp), []);
    // The key events name the region's key ARNs.
    const resources = (events: Event[]) => events.flatMap((e) => (e.Resources ?? []).map((r) => r.ResourceName));
    assert.ok(resources(euEvents).every((arn) => arn?.startsWith(`arn:aws:kms:${EU}:`)));
    assert.ok(resources(usEvents).every((arn) => arn?.startsWith(`arn:aws:kms:${US}:`)));
  });

  test('a credential scope whose region is not a region name is refused as AWS does, and changes nothing', async () => {
    const create = { ...tableInput('Junk'), BillingMode: 'PAY_PER_REQUEST' };
    for (const region of ['EU_WEST_1', 'x'.repeat(33), 'us-east-1.', '-a']) {
      const { status, body } = await rawCall(server, region, 'DynamoDB_20120810.CreateTable', create);
      assert.equal(status, 400);
      assert.equal(body.__type, 'com.amazon.coral.service#InvalidSignatureException');
      assert.equal(body.message, `Credential should be scoped to a valid region, not '${region}'. `);
    }
    // A region-shaped name is served (one endpoint serves every region); an unsigned call never is.
    const ok = await rawCall(server, 'local', 'DynamoDB_20120810.ListTables', {});
    assert.deepEqual([ok.status, ok.body], [200, { TableNames: [] }]);
    const unsigned = await fetch(server.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.CreateTable' },
      body: JSON.stringify(create),
    });
    assert.equal(unsigned.status, 400);
    assert.equal(
      ((await unsigned.json()) as { __type: string }).__type,
      'com.amazon.coral.service#MissingAuthenticationTokenException',
    );
    for (const region of [US, EU]) assert.ok(!(await tableNames(clients.ddb(region))).includes('Junk'));
  });
});

describe('regions: the default region', () => {
  test("--region does not override the client's region; tables of each region stay there", async () => {
    const server = await startTestServer({ region: 'eu-central-1' });
    const clients = clientsOf(server);
    try {
      const us = clients.ddb(US);
      const created = await us.send(new CreateTableCommand(tableInput('Orders')));
      assert.equal(created.TableDescription?.TableArn, tableArn(US, 'Orders'));
      assert.deepEqual(await tableNames(clients.ddb('eu-central-1')), []);
      assert.deepEqual(await tableNames(us), ['Orders']);
    } finally {
      clients.destroy();
      await server.cleanup();
    }
  });
});

describe('regions: sharedDb', () => {
  test('every caller shares the local account and the default region, also when strict auth verifies it', async () => {
    await sharedWithLocalAuth();
    await sharedWithStrictAuth();
  });
});

/** Any key, any region: all in the one account and the default region. */
async function sharedWithLocalAuth(): Promise<void> {
  const server = await startTestServer({ sharedDb: true, region: 'us-west-2' });
  const clients = clientsOf(server);
  try {
    const a = clients.ddb(EU, { accessKeyId: 'AKIDONE', secretAccessKey: 'one' });
    const b = clients.ddb('ap-south-1', { accessKeyId: 'AKIDTWO', secretAccessKey: 'two' });
    const created = await a.send(new CreateTableCommand(tableInput('Shared')));
    assert.equal(created.TableDescription?.TableArn, tableArn('us-west-2', 'Shared'));
    await a.send(new PutItemCommand({ TableName: 'Shared', Item: { id: { S: '1' } } }));
    assert.deepEqual(await tableNames(b), ['Shared']);
    assert.ok((await b.send(new GetItemCommand({ TableName: 'Shared', Key: { id: { S: '1' } } }))).Item);
    const key = await createKey(clients.kms('sa-east-1'));
    assert.equal(key.arn, `arn:aws:kms:us-west-2:${LOCAL_ACCOUNT}:key/${key.id}`);
    const described = await clients.kms(US).send(new DescribeKeyCommand({ KeyId: key.id }));
    assert.equal(described.KeyMetadata?.Arn, key.arn);
  } finally {
    clients.destroy();
    await server.cleanup();
  }
}

/** Signatures are still verified; two accounts in two regions share the tables. */
async function sharedWithStrictAuth(): Promise<void> {
  const ONE = { accessKeyId: 'AKIAONE0000000000001', secretAccessKey: 'secret-one' };
  const TWO = { accessKeyId: 'AKIATWO0000000000002', secretAccessKey: 'secret-two' };
  const server = await startTestServer({
    sharedDb: true,
    auth: {
      accounts: [
        { accountId: '111111111111', accessKeys: [{ ...ONE, userName: 'alice' }] },
        { accountId: '222222222222', accessKeys: [TWO] },
      ],
    },
  });
  const clients = clientsOf(server);
  try {
    const one = clients.ddb(EU, ONE);
    const two = clients.ddb('ap-south-1', TWO);
    const created = await one.send(new CreateTableCommand(tableInput('Common')));
    assert.equal(created.TableDescription?.TableArn, tableArn(US, 'Common'));
    assert.deepEqual(await tableNames(two), ['Common']);
    await two.send(new PutItemCommand({ TableName: 'Common', Item: { id: { S: 'from-two' } } }));
    const got = await one.send(new GetItemCommand({ TableName: 'Common', Key: { id: { S: 'from-two' } } }));
    assert.ok(got.Item);
    await rejectsWith(tableNames(clients.ddb(US, { ...ONE, secretAccessKey: 'wrong' })), 'InvalidSignatureException');
    await rejectsWith(
      tableNames(clients.ddb(US, { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' })),
      'UnrecognizedClientException',
    );
    // The verified user keeps its name in the trail, in the local account.
    await createKey(clients.kms('sa-east-1', ONE));
    const events = await lookupAll(clients.trail('ca-central-1', ONE));
    const identities = events.map(
      (e) => (JSON.parse(e.CloudTrailEvent as string) as { userIdentity: { arn?: string } }).userIdentity.arn,
    );
    assert.ok(identities.includes(`arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`), JSON.stringify(identities));
  } finally {
    clients.destroy();
    await server.cleanup();
  }
}

describe('regions: across restarts', () => {
  test('tables, keys and events keep their regions after a restart', async () => {
    let server = await startTestServer();
    const scratch = server.scratch;
    let clients = clientsOf(server);
    let keyArn: string;
    try {
      const key = await createKey(clients.kms(EU));
      keyArn = key.arn;
      const sse = { SSESpecification: { Enabled: true, SSEType: 'KMS' as const, KMSMasterKeyId: key.id } };
      await clients.ddb(EU).send(new CreateTableCommand(tableInput('Kept', sse)));
      await clients.ddb(EU).send(new PutItemCommand({ TableName: 'Kept', Item: { id: { S: 'k' }, v: { S: 'eu' } } }));
      await clients.ddb(US).send(new CreateTableCommand(tableInput('Kept')));
    } finally {
      clients.destroy();
      await server.close();
    }

    server = await startTestServer({ scratch, clock: server.clock });
    clients = clientsOf(server);
    try {
      const eu = clients.ddb(EU);
      const described = await eu.send(new DescribeTableCommand({ TableName: 'Kept' }));
      assert.equal(described.Table?.TableArn, tableArn(EU, 'Kept'));
      assert.equal(described.Table?.SSEDescription?.KMSMasterKeyArn, keyArn);
      const item = await eu.send(new GetItemCommand({ TableName: 'Kept', Key: { id: { S: 'k' } } }));
      assert.deepEqual(item.Item?.v, { S: 'eu' });
      const inUs = await clients.ddb(US).send(new GetItemCommand({ TableName: 'Kept', Key: { id: { S: 'k' } } }));
      assert.equal(inUs.Item, undefined);
      assert.deepEqual(await tableNames(clients.ddb('eu-north-1')), []);
      await rejectsWith(clients.kms(US).send(new DescribeKeyCommand({ KeyId: keyArn })), 'NotFoundException');
      const euEvents = await lookupAll(clients.trail(EU));
      assert.ok(euEvents.some((e) => e.EventName === 'CreateKey'));
      assert.deepEqual(regionsOf(euEvents), [EU]);
      assert.ok(!(await lookupAll(clients.trail(US))).some((e) => e.EventName === 'CreateKey'));
    } finally {
      clients.destroy();
      await server.cleanup();
    }
  });
});
