/** LookupEvents over real KMS calls: the records, each lookup attribute, pagination, validation, isolation. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type CloudTrailClient,
  type Event,
  ListPublicKeysCommand,
  type LookupAttributeKey,
  LookupEventsCommand,
  type LookupEventsCommandInput,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { rejectsWith } from '../helpers/assert-aws.js';
import { type AuditTestServer, recordOf, startAuditServer } from './audit-server.js';

const A = '111122223333';
const B = '444455556666';
const CREDS = {
  rootA: { accessKeyId: 'AKIAROOTA00000000000', secretAccessKey: 'secret-root-a' },
  alice: { accessKeyId: 'AKIAALICE0000000000A', secretAccessKey: 'secret-alice' },
  rootB: { accessKeyId: 'AKIAROOTB00000000000', secretAccessKey: 'secret-root-b' },
};
const CONTEXT = { 'aws:dynamodb:tableName': 'Books', 'aws:dynamodb:subscriberId': A };

async function lookupAll(client: CloudTrailClient, input: LookupEventsCommandInput = {}): Promise<Event[]> {
  const events: Event[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ ...input, NextToken }));
    events.push(...(page.Events ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return events;
}

describe('LookupEvents in strict mode (two accounts)', () => {
  let server: AuditTestServer;
  let kmsAlice: KMSClient;
  let kmsRootA: KMSClient;
  let kmsRootB: KMSClient;
  let trailA: CloudTrailClient;
  let trailB: CloudTrailClient;
  let aliceKey: { id: string; arn: string };
  let sharedKey: string;
  const secret = Buffer.from('audit-plaintext-never-logged');
  let ciphertext: Uint8Array;

  before(async () => {
    server = await startAuditServer({
      auth: {
        accounts: [
          { accountId: A, accessKeys: [CREDS.rootA, { ...CREDS.alice, userName: 'alice' }] },
          { accountId: B, accessKeys: [CREDS.rootB] },
        ],
      },
    });
    kmsAlice = server.kmsClient(CREDS.alice);
    kmsRootA = server.kmsClient(CREDS.rootA);
    kmsRootB = server.kmsClient(CREDS.rootB);
    trailA = server.trailClient(CREDS.rootA);
    trailB = server.trailClient(CREDS.rootB);

    const created = await kmsAlice.send(new CreateKeyCommand({ Description: 'audited' }));
    aliceKey = { id: created.KeyMetadata?.KeyId as string, arn: created.KeyMetadata?.Arn as string };
    const enc = await kmsAlice.send(
      new EncryptCommand({ KeyId: aliceKey.id, Plaintext: secret, EncryptionContext: CONTEXT }),
    );
    ciphertext = enc.CiphertextBlob as Uint8Array;
    await kmsAlice.send(new DecryptCommand({ CiphertextBlob: ciphertext, EncryptionContext: CONTEXT }));
    // Account B may not use A's key: the denial is recorded with its error code.
    await rejectsWith(
      kmsRootB.send(new EncryptCommand({ KeyId: aliceKey.arn, Plaintext: secret })),
      'AccessDeniedException',
    );
    // A key A shares with B: B's use of it lands in both accounts' trails.
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: 'kms:*', Resource: '*' },
        { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${B}:root` }, Action: 'kms:GenerateDataKey', Resource: '*' },
      ],
    };
    const shared = await kmsRootA.send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }));
    sharedKey = shared.KeyMetadata?.Arn as string;
    await kmsRootB.send(
      new GenerateDataKeyCommand({ KeyId: sharedKey, KeySpec: 'AES_256', EncryptionContext: CONTEXT }),
    );
  });

  after(() => server.cleanup());

  test('direct KMS calls are recorded with CloudTrail fields, newest first', async () => {
    const events = await lookupAll(trailA);
    assert.deepEqual(
      events.map((e) => e.EventName),
      ['GenerateDataKey', 'CreateKey', 'Encrypt', 'Decrypt', 'Encrypt', 'CreateKey'],
      "B's denied use of A's key is in A's trail too",
    );
    const encrypt = events.find((e) => e.EventName === 'Encrypt' && e.Username === 'alice') as Event;
    assert.equal(encrypt.ReadOnly, 'true');
    assert.equal(encrypt.Username, 'alice');
    assert.equal(encrypt.AccessKeyId, CREDS.alice.accessKeyId);
    assert.equal(encrypt.EventSource, 'kms.amazonaws.com');
    assert.ok(encrypt.EventTime instanceof Date);
    assert.deepEqual(encrypt.Resources, [{ ResourceType: 'AWS::KMS::Key', ResourceName: aliceKey.arn }]);
    const record = recordOf(encrypt);
    assert.equal(record.eventVersion, '1.08');
    assert.deepEqual(record.userIdentity, {
      type: 'IAMUser',
      principalId: (record.userIdentity as { principalId: string }).principalId,
      arn: `arn:aws:iam::${A}:user/alice`,
      accountId: A,
      accessKeyId: CREDS.alice.accessKeyId,
      userName: 'alice',
    });
    assert.match((record.userIdentity as { principalId: string }).principalId, /^AIDA[A-Z2-7]{17}$/);
    assert.match(record.eventTime as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.equal(record.eventSource, 'kms.amazonaws.com');
    assert.equal(record.eventName, 'Encrypt');
    assert.equal(record.awsRegion, 'us-east-1');
    assert.equal(record.sourceIPAddress, '127.0.0.1');
    assert.match(record.userAgent as string, /aws-sdk-js/);
    assert.deepEqual((record.requestParameters as { encryptionContext: unknown }).encryptionContext, CONTEXT);
    assert.equal((record.requestParameters as { keyId: string }).keyId, aliceKey.id);
    assert.equal(record.responseElements, null);
    assert.match(record.requestID as string, /\S/);
    assert.match(record.eventID as string, /^[0-9a-f-]{36}$/);
    assert.equal(record.eventID, encrypt.EventId);
    assert.equal(record.readOnly, true);
    assert.deepEqual(record.resources, [{ ARN: aliceKey.arn, accountId: A, type: 'AWS::KMS::Key' }]);
    assert.equal(record.eventType, 'AwsApiCall');
    assert.equal(record.managementEvent, true);
    assert.equal(record.recipientAccountId, A);
    assert.equal(record.eventCategory, 'Management');
    assert.equal(record.sharedEventID, undefined);
    assert.equal(record.errorCode, undefined);

    const createKey = recordOf(events.at(-1) as Event);
    assert.equal(createKey.readOnly, false);
    assert.equal(
      (createKey.responseElements as { keyMetadata?: { arn: string } } | null)?.keyMetadata?.arn,
      aliceKey.arn,
      'CreateKey shows its response',
    );

    const all = JSON.stringify(events);
    assert.ok(!all.includes(secret.toString()), 'no plaintext');
    assert.ok(!all.includes(secret.toString('base64')), 'no plaintext (base64)');
    assert.ok(!all.includes(Buffer.from(ciphertext).toString('base64').slice(0, 24)), 'no ciphertext');
  });

  test("a denied call is recorded with its errorCode, in the caller's and the key owner's trail", async () => {
    const events = await lookupAll(trailB, {
      LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Encrypt' }],
    });
    assert.equal(events.length, 1);
    const record = recordOf(events[0] as Event);
    const ownerCopy = (
      await lookupAll(trailA, { LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'root' }] })
    )
      .map(recordOf)
      .find((r) => r.eventName === 'Encrypt');
    assert.equal(ownerCopy?.errorCode, 'AccessDeniedException');
    assert.equal(ownerCopy?.recipientAccountId, A);
    assert.equal(record.recipientAccountId, B);
    assert.ok(record.sharedEventID);
    assert.equal(ownerCopy?.sharedEventID, record.sharedEventID);
    assert.equal(record.errorCode, 'AccessDeniedException');
    assert.match(record.errorMessage as string, /is not authorized to perform: kms:Encrypt/);
    assert.equal((record.userIdentity as { type: string }).type, 'Root');
    assert.equal((record.userIdentity as { arn: string }).arn, `arn:aws:iam::${B}:root`);
    assert.equal(events[0]?.Username, 'root');
    assert.equal(record.responseElements, null);
  });

  test('an account sees only its own trail; cross-account key use reaches both, with one sharedEventID', async () => {
    const eventsB = await lookupAll(trailB);
    assert.deepEqual(
      eventsB.map((e) => e.EventName),
      ['GenerateDataKey', 'Encrypt'],
    );
    for (const e of eventsB) assert.equal(recordOf(e).recipientAccountId, B);
    const [inB] = eventsB;
    const inA = (
      await lookupAll(trailA, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: sharedKey }] })
    ).filter((e) => e.EventName === 'GenerateDataKey');
    assert.equal(inA.length, 1);
    const recordA = recordOf(inA[0] as Event);
    const recordB = recordOf(inB as Event);
    assert.equal(recordA.recipientAccountId, A);
    assert.ok(recordA.sharedEventID);
    assert.equal(recordA.sharedEventID, recordB.sharedEventID);
    assert.notEqual(recordA.eventID, recordB.eventID);
    assert.equal((recordA.userIdentity as { accountId: string }).accountId, B, 'the caller is B in both copies');
    // Alice's calls never show up for B.
    assert.equal(
      (await lookupAll(trailB, { LookupAttributes: [{ AttributeKey: 'Username', AttributeValue: 'alice' }] })).length,
      0,
    );
  });

  test('each lookup attribute filters', async () => {
    const all = await lookupAll(trailA);
    const encrypt = all.find((e) => e.EventName === 'Encrypt' && e.Username === 'alice') as Event;
    const by = async (AttributeKey: LookupAttributeKey, AttributeValue: string) =>
      (await lookupAll(trailA, { LookupAttributes: [{ AttributeKey, AttributeValue }] })).map((e) => e.EventName);

    assert.deepEqual(await by('EventId', encrypt.EventId as string), ['Encrypt']);
    assert.deepEqual(await by('EventName', 'Decrypt'), ['Decrypt']);
    assert.deepEqual(await by('ReadOnly', 'false'), ['CreateKey', 'CreateKey']);
    assert.deepEqual(await by('ReadOnly', 'true'), ['GenerateDataKey', 'Encrypt', 'Decrypt', 'Encrypt']);
    assert.deepEqual(await by('Username', 'alice'), ['Decrypt', 'Encrypt', 'CreateKey']);
    assert.deepEqual(await by('Username', 'root'), ['GenerateDataKey', 'CreateKey', 'Encrypt']);
    assert.deepEqual(
      await by('ResourceType', 'AWS::KMS::Key'),
      all.map((e) => e.EventName),
    );
    assert.deepEqual(await by('ResourceType', 'AWS::DynamoDB::Table'), []);
    assert.deepEqual(await by('ResourceName', aliceKey.arn), ['Encrypt', 'Decrypt', 'Encrypt', 'CreateKey']);
    assert.deepEqual(await by('ResourceName', aliceKey.id), [], 'resource names are key ARNs');
    assert.deepEqual(
      await by('EventSource', 'kms.amazonaws.com'),
      all.map((e) => e.EventName),
    );
    assert.deepEqual(await by('EventSource', 'dynamodb.amazonaws.com'), []);
    assert.deepEqual(await by('AccessKeyId', CREDS.rootA.accessKeyId), ['CreateKey']);
    assert.deepEqual(await by('AccessKeyId', CREDS.rootB.accessKeyId), ['GenerateDataKey', 'Encrypt']);
    assert.deepEqual(await by('AccessKeyId', CREDS.alice.accessKeyId), ['Decrypt', 'Encrypt', 'CreateKey']);
  });

  test('ListPublicKeys returns the digest signing key', async () => {
    const { PublicKeyList } = await trailA.send(new ListPublicKeysCommand({}));
    assert.equal(PublicKeyList?.length, 1);
    assert.match(PublicKeyList?.[0]?.Fingerprint ?? '', /^[0-9a-f]{32}$/);
    assert.ok((PublicKeyList?.[0]?.Value?.length ?? 0) > 200);
  });
});

describe('LookupEvents pagination, time range and validation', () => {
  let server: AuditTestServer;
  let kms: KMSClient;
  let trail: CloudTrailClient;
  let keyId: string;

  before(async () => {
    server = await startAuditServer();
    kms = server.kmsClient();
    trail = server.trailClient();
    keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    for (let i = 0; i < 7; i++) {
      server.clock.advance(20 * 60 * 1000);
      await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    }
  });
  after(() => server.cleanup());

  test('pages of MaxResults, newest first, across closed hours, without repeats', async () => {
    const pages: Event[][] = [];
    let NextToken: string | undefined;
    do {
      const page = await trail.send(new LookupEventsCommand({ MaxResults: 3, NextToken }));
      pages.push(page.Events ?? []);
      NextToken = page.NextToken;
    } while (NextToken);
    assert.deepEqual(
      pages.map((p) => p.length),
      [3, 3, 2],
    );
    const events = pages.flat();
    assert.equal(new Set(events.map((e) => e.EventId)).size, 8);
    const times = events.map((e) => (e.EventTime as Date).getTime());
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    );
    assert.equal(events.at(-1)?.EventName, 'CreateKey');
  });

  test('StartTime and EndTime bound the events (inclusive)', async () => {
    const all = await lookupAll(trail);
    const times = all.map((e) => e.EventTime as Date);
    const inside = await lookupAll(trail, { StartTime: times[5], EndTime: times[2] });
    assert.deepEqual(
      inside.map((e) => e.EventId),
      all.slice(2, 6).map((e) => e.EventId),
    );
    assert.equal((await lookupAll(trail, { EndTime: new Date((times.at(-1) as Date).getTime() - 1000) })).length, 0);
  });

  test('a NextToken only works with the parameters it was issued for', async () => {
    const first = await trail.send(new LookupEventsCommand({ MaxResults: 2 }));
    assert.ok(first.NextToken);
    await rejectsWith(
      trail.send(
        new LookupEventsCommand({
          MaxResults: 2,
          NextToken: first.NextToken,
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'DescribeKey' }],
        }),
      ),
      'InvalidNextTokenException',
    );
    await rejectsWith(trail.send(new LookupEventsCommand({ NextToken: 'not-a-token' })), 'InvalidNextTokenException');
    const tampered = `${first.NextToken.slice(0, -2)}${first.NextToken.endsWith('A') ? 'B' : 'A'}A`;
    await rejectsWith(
      trail.send(new LookupEventsCommand({ MaxResults: 2, NextToken: tampered })),
      'InvalidNextTokenException',
    );
    // The page size may change between pages.
    const second = await trail.send(new LookupEventsCommand({ MaxResults: 5, NextToken: first.NextToken }));
    assert.equal(second.Events?.length, 5);
  });

  test('invalid input answers CloudTrail exceptions', async () => {
    await rejectsWith(
      trail.send(
        new LookupEventsCommand({
          LookupAttributes: [
            { AttributeKey: 'EventName', AttributeValue: 'Decrypt' },
            { AttributeKey: 'ReadOnly', AttributeValue: 'true' },
          ],
        }),
      ),
      'InvalidLookupAttributesException',
      /more than one lookup attribute/,
    );
    await rejectsWith(
      trail.send(
        // biome-ignore lint/suspicious/noExplicitAny: an invalid key the SDK's types forbid
        new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'Region' as any, AttributeValue: 'x' }] }),
      ),
      'InvalidLookupAttributesException',
    );
    await rejectsWith(
      trail.send(new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: '' }] })),
      'InvalidLookupAttributesException',
    );
    await rejectsWith(
      trail.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: '_'.repeat(1001) }],
        }),
      ),
      'InvalidLookupAttributesException',
    );
    await rejectsWith(
      trail.send(new LookupEventsCommand({ StartTime: new Date(2_000_000), EndTime: new Date(1_000_000) })),
      'InvalidTimeRangeException',
    );
    await rejectsWith(trail.send(new LookupEventsCommand({ MaxResults: 51 })), 'InvalidMaxResultsException');
    await rejectsWith(trail.send(new LookupEventsCommand({ MaxResults: 0 })), 'InvalidMaxResultsException');
    await rejectsWith(
      // biome-ignore lint/suspicious/noExplicitAny: an invalid category the SDK's types forbid
      trail.send(new LookupEventsCommand({ EventCategory: 'management' as any })),
      'InvalidEventCategoryException',
    );
    assert.deepEqual((await trail.send(new LookupEventsCommand({ EventCategory: 'insight' }))).Events, []);
  });
});

test('an in-memory server serves lookups without touching the disk', async () => {
  const server = await startAuditServer({ inMemory: true });
  try {
    const kms = server.kmsClient();
    await kms.send(new CreateKeyCommand({}));
    server.clock.advance(2 * 60 * 60 * 1000);
    await kms.send(new CreateKeyCommand({}));
    const events = await lookupAll(server.trailClient());
    assert.deepEqual(
      events.map((e) => e.EventName),
      ['CreateKey', 'CreateKey'],
    );
    // In memory there are no digests, so no signing key; with engine storage the trail (digests,
    // signing key) is kept in the engine whatever the data directory.
    const keys = (await server.trailClient().send(new ListPublicKeysCommand({}))).PublicKeyList;
    assert.equal(keys?.length, server.storage ? 1 : 0);
  } finally {
    await server.cleanup();
  }
});
