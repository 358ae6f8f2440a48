/**
 * What a DynamoDB user audits: the KMS calls DynamoDB makes for a table under a customer managed
 * key (DescribeKey, CreateGrant, GenerateDataKey, one Decrypt per connection), with the table's
 * encryption context, the caller's identity and invokedBy; and nothing for the AWS owned key.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateTableCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { type AuditTestServer, recordOf, startAuditServer } from './audit-server.js';

const ACCOUNT = '111122223333';
const ALICE = { accessKeyId: 'AKIAALICE0000000000A', secretAccessKey: 'secret-alice' };
const ROOT = { accessKeyId: 'AKIAROOT00000000000A', secretAccessKey: 'secret-root' };

let server: AuditTestServer;
let trail: CloudTrailClient;

before(async () => {
  server = await startAuditServer({
    auth: { accounts: [{ accountId: ACCOUNT, accessKeys: [ROOT, { ...ALICE, userName: 'alice' }] }] },
  });
  trail = server.trailClient(ROOT);
});
after(() => server.cleanup());

async function events(): Promise<Event[]> {
  const out: Event[] = [];
  let NextToken: string | undefined;
  do {
    const page = await trail.send(new LookupEventsCommand({ NextToken }));
    out.push(...(page.Events ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return out.reverse();
}

const table = (name: string, KMSMasterKeyId?: string) =>
  new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...(KMSMasterKeyId ? { SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId } } : {}),
  });

test('a customer-managed-key table read over two connections leaves the KMS calls DynamoDB made', async () => {
  const key = await server.kmsClient(ALICE).send(new CreateKeyCommand({ Description: 'Books key' }));
  const keyArn = key.KeyMetadata?.Arn as string;
  const admin = server.dynamodbClient(ALICE);
  await admin.send(table('Books', keyArn));
  const first = server.dynamodbClient(ALICE);
  const second = server.dynamodbClient(ALICE);
  await first.send(new PutItemCommand({ TableName: 'Books', Item: { id: { S: 'dune' } } }));
  await first.send(new GetItemCommand({ TableName: 'Books', Key: { id: { S: 'dune' } } }));
  await second.send(new GetItemCommand({ TableName: 'Books', Key: { id: { S: 'dune' } } }));
  await second.send(new GetItemCommand({ TableName: 'Books', Key: { id: { S: 'dune' } } }));

  const all = await events();
  assert.deepEqual(
    all.map((e) => e.EventName),
    ['CreateKey', 'DescribeKey', 'CreateGrant', 'GenerateDataKey', 'Decrypt', 'Decrypt'],
  );
  const context = { 'aws:dynamodb:tableName': 'Books', 'aws:dynamodb:subscriberId': ACCOUNT };
  const [, describe, grant, generate, ...decrypts] = all.map(recordOf);
  const alice = {
    type: 'IAMUser',
    arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
    accountId: ACCOUNT,
    accessKeyId: ALICE.accessKeyId,
    userName: 'alice',
    invokedBy: 'dynamodb.amazonaws.com',
  };
  const params = (r: Record<string, unknown> | undefined) => (r?.requestParameters ?? {}) as Record<string, unknown>;
  const identity = (r: Record<string, unknown> | undefined) => {
    const { principalId: _id, ...rest } = (r?.userIdentity ?? {}) as Record<string, unknown>;
    return rest;
  };

  assert.deepEqual(identity(describe), alice);
  assert.equal(describe?.sourceIPAddress, 'dynamodb.amazonaws.com');
  assert.equal(describe?.readOnly, true);

  assert.deepEqual(identity(grant), alice);
  const grantParams = params(grant);
  assert.equal(grantParams.granteePrincipal, 'dynamodb.us-east-1.amazonaws.com');
  assert.equal(grantParams.retiringPrincipal, 'dynamodb.us-east-1.amazonaws.com');
  assert.deepEqual(grantParams.constraints, { encryptionContextSubset: context });
  assert.match(String((grant?.responseElements as { grantId?: string })?.grantId), /^[0-9a-f]{64}$/);
  assert.equal(grant?.readOnly, false);

  assert.deepEqual(generate?.userIdentity, { type: 'AWSService', invokedBy: 'dynamodb.amazonaws.com' });
  assert.equal(generate?.sourceIPAddress, 'dynamodb.amazonaws.com');
  assert.deepEqual(params(generate).encryptionContext, context);
  assert.equal(params(generate).keySpec, 'AES_256');
  assert.equal(generate?.responseElements, null);
  assert.equal(generate?.recipientAccountId, ACCOUNT);

  for (const decrypt of decrypts) {
    assert.deepEqual(identity(decrypt), alice);
    assert.deepEqual(params(decrypt).encryptionContext, context);
    assert.deepEqual(decrypt?.resources, [{ ARN: keyArn, accountId: ACCOUNT, type: 'AWS::KMS::Key' }]);
    assert.equal(decrypt?.errorCode, undefined);
  }
  assert.notEqual(decrypts[0]?.eventID, decrypts[1]?.eventID);
});

test('a table under the AWS owned key leaves no record', async () => {
  const before = (await events()).length;
  const ddb = server.dynamodbClient(ALICE);
  await ddb.send(table('Owned'));
  await ddb.send(new PutItemCommand({ TableName: 'Owned', Item: { id: { S: 'a' } } }));
  await server.dynamodbClient(ALICE).send(new GetItemCommand({ TableName: 'Owned', Key: { id: { S: 'a' } } }));
  assert.equal((await events()).length, before);
});
