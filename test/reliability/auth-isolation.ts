/**
 * Part 5, strict authentication and account isolation (`--auth strict`): requests signed wrongly
 * in every way a client or an attacker can (forged signature, wrong secret, unknown key, dates
 * beyond the 15 minutes of skew either way, a body or signed header changed after signing, no
 * Authorization, query-string signatures, session tokens) are refused with DynamoDB's and KMS's
 * errors and change nothing; and one account cannot list, describe, read, write, back up, restore
 * or use another's tables, streams, backups, KMS keys, aliases, grants or trail, by name or ARN.
 */
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  CreateBackupCommand,
  CreateTableCommand,
  DeleteBackupCommand,
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeBackupCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
  ListBackupsCommand,
  ListTablesCommand,
  ListTagsOfResourceCommand,
  PutItemCommand,
  QueryCommand,
  RestoreTableFromBackupCommand,
  ScanCommand,
  TagResourceCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetShardIteratorCommand,
  ListStreamsCommand,
} from '@aws-sdk/client-dynamodb-streams';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeysCommand,
  PutKeyPolicyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  UpdateAliasCommand,
} from '@aws-sdk/client-kms';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { canonical, errorText, type Failure, type Log, type PartResult, Rng, scanAll } from './common.js';
import { awsShapedError, keepAliveAgent, post, sign } from './wire.js';

export interface AuthIsolationOptions {
  readonly seed: number;
  readonly log?: Log;
}

const ALICE = { accessKeyId: 'AKIAALICE00000000001', secretAccessKey: 'alice/secret+key/aaaaaaaaaaaaaaaaaaaaaaa' };
const BOB = { accessKeyId: 'AKIABOB0000000000002', secretAccessKey: 'bob/secret+key/bbbbbbbbbbbbbbbbbbbbbbbbb' };
const ALICE_ACCOUNT = '111111111111';
const BOB_ACCOUNT = '222222222222';
const MINUTE = 60_000;

export async function runAuthIsolation(options: AuthIsolationOptions): Promise<PartResult> {
  const started = Date.now();
  const part = 'auth-isolation';
  const rng = new Rng(options.seed);
  const failures: Failure[] = [];
  const fail = (where: string, detail: string) => failures.push({ part, seed: options.seed, where, detail });
  const figures: Record<string, number | string | boolean> = {};
  let cases = 0;
  let server: TestServer | undefined;
  try {
    server = await startTestServer({
      auth: {
        accounts: [
          { accountId: ALICE_ACCOUNT, accessKeys: [{ ...ALICE, userName: 'alice' }] },
          { accountId: BOB_ACCOUNT, accessKeys: [BOB] },
        ],
      },
    });
    const s = server;
    const port = server.port;
    const host = `127.0.0.1:${port}`;
    const agent = keepAliveAgent(1);

    // --- Signatures, on the wire. ---
    const body = Buffer.from('{}');
    const ddbHeaders = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'DynamoDB_20120810.ListTables' };
    const kmsHeaders = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' };
    interface WireCase {
      readonly name: string;
      readonly service: 'dynamodb' | 'kms';
      /** undefined: accepted (200). */
      readonly expect?: string;
      readonly build: () => { path: string; headers: Record<string, string>; body: Buffer };
    }
    const signedWith = (
      service: 'dynamodb' | 'kms',
      change: Partial<Parameters<typeof sign>[0]> = {},
    ): { path: string; headers: Record<string, string>; body: Buffer } => {
      const input = {
        host,
        headers: service === 'dynamodb' ? ddbHeaders : kmsHeaders,
        body,
        credentials: ALICE,
        region: 'us-east-1',
        service,
        date: new Date(s.clock.now()),
        ...change,
      };
      const signed = sign(input);
      return { path: signed.path, headers: signed.headers, body: input.body };
    };
    const flipHex = (sig: string) => {
      const at = rng.int(0, sig.length - 1);
      return sig.slice(0, at) + (sig[at] === 'a' ? 'b' : 'a') + sig.slice(at + 1);
    };
    const cases5: WireCase[] = [];
    for (const service of ['dynamodb', 'kms'] as const) {
      const other = service === 'dynamodb' ? 'DynamoDB_20120810.DescribeLimits' : 'TrentService.ListAliases';
      cases5.push(
        { name: 'correctly signed', service, build: () => signedWith(service) },
        {
          name: 'forged signature (one hex digit changed)',
          service,
          expect: 'InvalidSignatureException',
          build: () => {
            const r = signedWith(service);
            r.headers.authorization = (r.headers.authorization as string).replace(
              /Signature=([0-9a-f]+)/,
              (_, sig: string) => `Signature=${flipHex(sig)}`,
            );
            return r;
          },
        },
        {
          name: 'wrong secret',
          service,
          expect: 'InvalidSignatureException',
          build: () => signedWith(service, { credentials: { ...ALICE, secretAccessKey: BOB.secretAccessKey } }),
        },
        {
          name: 'unknown access key',
          service,
          expect: 'UnrecognizedClientException',
          build: () =>
            signedWith(service, { credentials: { accessKeyId: 'AKIANOBODY0000000009', secretAccessKey: 'x' } }),
        },
        {
          name: 'dated 16 minutes ago',
          service,
          expect: 'InvalidSignatureException',
          build: () => signedWith(service, { date: new Date(s.clock.now() - 16 * MINUTE) }),
        },
        {
          name: 'dated 14 minutes ago (within the skew)',
          service,
          build: () => signedWith(service, { date: new Date(s.clock.now() - 14 * MINUTE) }),
        },
        {
          name: 'dated 16 minutes ahead',
          service,
          expect: 'InvalidSignatureException',
          build: () => signedWith(service, { date: new Date(s.clock.now() + 16 * MINUTE) }),
        },
        {
          name: 'dated 14 minutes ahead (within the skew)',
          service,
          build: () => signedWith(service, { date: new Date(s.clock.now() + 14 * MINUTE) }),
        },
        {
          name: 'body changed after signing',
          service,
          expect: 'InvalidSignatureException',
          build: () => ({ ...signedWith(service), body: Buffer.from('{"Limit":5}') }),
        },
        {
          name: 'signed X-Amz-Target changed after signing',
          service,
          expect: 'InvalidSignatureException',
          build: () => {
            const r = signedWith(service);
            r.headers['x-amz-target'] = other;
            return r;
          },
        },
        {
          name: 'an unsigned header added after signing (not covered, so accepted)',
          service,
          build: () => {
            const r = signedWith(service);
            r.headers['x-extra-unsigned'] = 'added';
            return r;
          },
        },
        {
          name: 'no Authorization header',
          service,
          expect: 'MissingAuthenticationTokenException',
          build: () => {
            const r = signedWith(service);
            delete r.headers.authorization;
            return r;
          },
        },
        {
          name: 'signed for another service',
          service,
          expect: 'InvalidSignatureException',
          build: () => signedWith(service, { service: service === 'dynamodb' ? 'kms' : 'dynamodb' }),
        },
        {
          name: 'session token with long-term keys',
          service,
          expect: 'UnrecognizedClientException',
          build: () => signedWith(service, { credentials: { ...ALICE, sessionToken: 'FQoGZXIvYXdzEXAMPLETOKEN' } }),
        },
        {
          // AWS takes SigV4 in the query string for every service (src/http/sigv4.ts parseSignature).
          name: 'presigned query-string signature',
          service,
          build: () => signedWith(service, { presignSeconds: 300 }),
        },
        {
          name: 'presigned, forged signature',
          service,
          expect: 'InvalidSignatureException',
          build: () => {
            const r = signedWith(service, { presignSeconds: 300 });
            return {
              ...r,
              path: r.path.replace(
                /X-Amz-Signature=([0-9a-f]+)/,
                (_, sig: string) => `X-Amz-Signature=${flipHex(sig)}`,
              ),
            };
          },
        },
        {
          // Non-S3 services keep the fixed 15-minute window, whatever X-Amz-Expires says.
          name: 'presigned 16 minutes ago with a week of X-Amz-Expires',
          service,
          expect: 'InvalidSignatureException',
          build: () => signedWith(service, { presignSeconds: 604_800, date: new Date(s.clock.now() - 16 * MINUTE) }),
        },
        {
          name: 'presigned with X-Amz-Expires beyond a week',
          service,
          expect: 'IncompleteSignatureException',
          build: () => signedWith(service, { presignSeconds: 604_801 }),
        },
        {
          name: 'presigned with a session token',
          service,
          expect: 'UnrecognizedClientException',
          build: () =>
            signedWith(service, {
              presignSeconds: 300,
              credentials: { ...ALICE, sessionToken: 'FQoGZXIvYXdzEXAMPLETOKEN' },
            }),
        },
      );
    }
    const countsByExpect: Record<string, number> = {};
    for (const c of cases5) {
      cases++;
      const where = `signature: ${c.service} ${c.name}`;
      const r = c.build();
      try {
        const answer = await post(port, r.path, r.headers, r.body, agent);
        const type = answer.status === 200 ? undefined : String(JSON.parse(answer.body.toString()).__type ?? '');
        const got = type?.split('#').pop();
        if (c.expect === undefined && answer.status !== 200)
          fail(where, `refused (${answer.status} ${got}), AWS accepts it`);
        if (c.expect !== undefined && got !== c.expect)
          fail(where, `expected ${c.expect}, got HTTP ${answer.status} ${got ?? ''}`);
        if (answer.status >= 400) {
          const shape = awsShapedError(answer);
          if (shape) fail(where, `error not AWS-shaped: ${shape}`);
        }
        countsByExpect[c.expect ?? 'accepted'] = (countsByExpect[c.expect ?? 'accepted'] ?? 0) + 1;
      } catch (error) {
        fail(where, errorText(error));
      }
    }
    agent.destroy();
    figures.signatureCases = cases5.length;

    // --- Isolation, through the SDKs. ---
    const config = (credentials: typeof ALICE) => s.clientConfig(credentials);
    const a = {
      ddb: new DynamoDBClient(config(ALICE)),
      kms: new KMSClient(config(ALICE)),
      streams: new DynamoDBStreamsClient(config(ALICE)),
      trail: new CloudTrailClient(config(ALICE)),
    };
    const b = {
      ddb: new DynamoDBClient(config(BOB)),
      kms: new KMSClient(config(BOB)),
      streams: new DynamoDBStreamsClient(config(BOB)),
      trail: new CloudTrailClient(config(BOB)),
    };
    const key = (await a.kms.send(new CreateKeyCommand({ Description: 'alice key' }))).KeyMetadata;
    const keyId = key?.KeyId as string;
    const keyArn = key?.Arn as string;
    await a.kms.send(new CreateAliasCommand({ AliasName: 'alias/alice', TargetKeyId: keyId }));
    const grant = await a.kms.send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: `arn:aws:iam::${ALICE_ACCOUNT}:user/alice`,
        Operations: ['Decrypt', 'Encrypt'],
      }),
    );
    const ciphertext = (await a.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('alice only') })))
      .CiphertextBlob;
    const table = (
      await a.ddb.send(
        new CreateTableCommand({
          TableName: 'AliceTable',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
          SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId },
        }),
      )
    ).TableDescription;
    const tableArn = table?.TableArn as string;
    await a.ddb.send(new PutItemCommand({ TableName: 'AliceTable', Item: { id: { S: 'secret' }, v: { S: 'alice' } } }));
    const backupArn = (
      await a.ddb.send(new CreateBackupCommand({ TableName: 'AliceTable', BackupName: 'alice-backup' }))
    ).BackupDetails?.BackupArn as string;
    const streamArn = (await a.streams.send(new ListStreamsCommand({ TableName: 'AliceTable' }))).Streams?.[0]
      ?.StreamArn as string;
    const before = canonical([
      await scanAll(a.ddb, 'AliceTable'),
      (await a.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState,
      (await a.kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants?.length,
    ]);

    const key1 = { id: { S: 'secret' } };
    const refusals: [string, () => Promise<unknown>][] = [];
    for (const name of ['AliceTable', tableArn]) {
      const by = name === tableArn ? 'by ARN' : 'by name';
      refusals.push(
        [`DescribeTable ${by}`, () => b.ddb.send(new DescribeTableCommand({ TableName: name }))],
        [`GetItem ${by}`, () => b.ddb.send(new GetItemCommand({ TableName: name, Key: key1 }))],
        [`PutItem ${by}`, () => b.ddb.send(new PutItemCommand({ TableName: name, Item: { id: { S: 'bob' } } }))],
        [
          `UpdateItem ${by}`,
          () =>
            b.ddb.send(
              new UpdateItemCommand({
                TableName: name,
                Key: key1,
                UpdateExpression: 'SET v = :b',
                ExpressionAttributeValues: { ':b': { S: 'bob' } },
              }),
            ),
        ],
        [`DeleteItem ${by}`, () => b.ddb.send(new DeleteItemCommand({ TableName: name, Key: key1 }))],
        [`Scan ${by}`, () => b.ddb.send(new ScanCommand({ TableName: name }))],
        [
          `Query ${by}`,
          () =>
            b.ddb.send(
              new QueryCommand({
                TableName: name,
                KeyConditionExpression: 'id = :k',
                ExpressionAttributeValues: { ':k': { S: 'secret' } },
              }),
            ),
        ],
        [
          `BatchGetItem ${by}`,
          () => b.ddb.send(new BatchGetItemCommand({ RequestItems: { [name]: { Keys: [key1] } } })),
        ],
        [
          `BatchWriteItem ${by}`,
          () => b.ddb.send(new BatchWriteItemCommand({ RequestItems: { [name]: [{ DeleteRequest: { Key: key1 } }] } })),
        ],
        [
          `TransactGetItems ${by}`,
          () => b.ddb.send(new TransactGetItemsCommand({ TransactItems: [{ Get: { TableName: name, Key: key1 } }] })),
        ],
        [
          `TransactWriteItems ${by}`,
          () =>
            b.ddb.send(new TransactWriteItemsCommand({ TransactItems: [{ Delete: { TableName: name, Key: key1 } }] })),
        ],
        [
          `CreateBackup ${by}`,
          () => b.ddb.send(new CreateBackupCommand({ TableName: name, BackupName: 'bob-steals' })),
        ],
        [
          `UpdateTable ${by}`,
          () =>
            b.ddb.send(
              new UpdateTableCommand({
                TableName: name,
                StreamSpecification: { StreamEnabled: false },
              }),
            ),
        ],
        [`DeleteTable ${by}`, () => b.ddb.send(new DeleteTableCommand({ TableName: name }))],
        [`DescribeTimeToLive ${by}`, () => b.ddb.send(new DescribeTimeToLiveCommand({ TableName: name }))],
        [
          `DescribeContinuousBackups ${by}`,
          () => b.ddb.send(new DescribeContinuousBackupsCommand({ TableName: name })),
        ],
      );
    }
    refusals.push(
      ['ListTagsOfResource', () => b.ddb.send(new ListTagsOfResourceCommand({ ResourceArn: tableArn }))],
      [
        'TagResource',
        () => b.ddb.send(new TagResourceCommand({ ResourceArn: tableArn, Tags: [{ Key: 'k', Value: 'v' }] })),
      ],
      ['DescribeBackup', () => b.ddb.send(new DescribeBackupCommand({ BackupArn: backupArn }))],
      [
        'RestoreTableFromBackup',
        () => b.ddb.send(new RestoreTableFromBackupCommand({ BackupArn: backupArn, TargetTableName: 'BobCopy' })),
      ],
      ['DeleteBackup', () => b.ddb.send(new DeleteBackupCommand({ BackupArn: backupArn }))],
      ['DescribeStream', () => b.streams.send(new DescribeStreamCommand({ StreamArn: streamArn }))],
      [
        'GetShardIterator',
        () =>
          b.streams.send(
            new GetShardIteratorCommand({
              StreamArn: streamArn,
              ShardId: 'shardId-00000000000000000000-00000000',
              ShardIteratorType: 'TRIM_HORIZON',
            }),
          ),
      ],
    );
    for (const id of [keyId, keyArn, `arn:aws:kms:us-east-1:${ALICE_ACCOUNT}:alias/alice`]) {
      const by = id === keyId ? 'by id' : id === keyArn ? 'by ARN' : 'by alias ARN';
      refusals.push(
        [`DescribeKey ${by}`, () => b.kms.send(new DescribeKeyCommand({ KeyId: id }))],
        [`Encrypt ${by}`, () => b.kms.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('x') }))],
        [`GenerateDataKey ${by}`, () => b.kms.send(new GenerateDataKeyCommand({ KeyId: id, KeySpec: 'AES_256' }))],
      );
    }
    refusals.push(
      [
        'Decrypt of the other account’s ciphertext',
        () => b.kms.send(new DecryptCommand({ CiphertextBlob: ciphertext })),
      ],
      ['ListGrants', () => b.kms.send(new ListGrantsCommand({ KeyId: keyArn }))],
      [
        'CreateGrant',
        () =>
          b.kms.send(
            new CreateGrantCommand({
              KeyId: keyArn,
              GranteePrincipal: `arn:aws:iam::${BOB_ACCOUNT}:root`,
              Operations: ['Decrypt'],
            }),
          ),
      ],
      ['RevokeGrant', () => b.kms.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: grant.GrantId }))],
      ['RetireGrant', () => b.kms.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: grant.GrantId }))],
      ['GetKeyPolicy', () => b.kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }))],
      [
        'PutKeyPolicy',
        () =>
          b.kms.send(
            new PutKeyPolicyCommand({
              KeyId: keyArn,
              PolicyName: 'default',
              Policy: '{"Version":"2012-10-17","Statement":[]}',
            }),
          ),
      ],
      ['DisableKey', () => b.kms.send(new DisableKeyCommand({ KeyId: keyArn }))],
      [
        'ScheduleKeyDeletion',
        () => b.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyArn, PendingWindowInDays: 7 })),
      ],
      [
        'UpdateAlias onto the other account’s key',
        () => b.kms.send(new UpdateAliasCommand({ AliasName: 'alias/alice', TargetKeyId: keyArn })),
      ],
    );
    for (const [name, call] of refusals) {
      cases++;
      try {
        await call();
        fail(`isolation: ${name}`, 'the other account was answered');
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
        if (status < 400 || status >= 500)
          fail(`isolation: ${name}`, `refused with HTTP ${status}: ${errorText(error)}`);
      }
    }
    // Listings: nothing of the other account's.
    const leaks: [string, () => Promise<boolean>][] = [
      ['ListTables', async () => ((await b.ddb.send(new ListTablesCommand({}))).TableNames ?? []).length > 0],
      ['ListBackups', async () => ((await b.ddb.send(new ListBackupsCommand({}))).BackupSummaries ?? []).length > 0],
      ['ListStreams', async () => ((await b.streams.send(new ListStreamsCommand({}))).Streams ?? []).length > 0],
      ['ListKeys', async () => ((await b.kms.send(new ListKeysCommand({}))).Keys ?? []).some((k) => k.KeyId === keyId)],
      [
        'ListAliases',
        async () =>
          ((await b.kms.send(new ListAliasesCommand({}))).Aliases ?? []).some(
            (x) => x.TargetKeyId === keyId || x.AliasName === 'alias/alice',
          ),
      ],
      [
        'LookupEvents',
        async () =>
          ((await b.trail.send(new LookupEventsCommand({}))).Events ?? []).some((e) => {
            // Bob's own calls name the ARNs Bob sent; an event of Alice's, or one delivered to her
            // account, must not be in his trail.
            const event = JSON.parse(e.CloudTrailEvent ?? '{}') as {
              userIdentity?: { accountId?: string };
              recipientAccountId?: string;
            };
            if (process.env.H17_DEBUG) console.log(e.CloudTrailEvent);
            return event.userIdentity?.accountId === ALICE_ACCOUNT || event.recipientAccountId !== BOB_ACCOUNT;
          }),
      ],
    ];
    for (const [name, leaked] of leaks) {
      cases++;
      try {
        if (await leaked()) fail(`isolation: ${name}`, "lists the other account's resources");
      } catch (error) {
        fail(`isolation: ${name}`, errorText(error));
      }
    }
    const after = canonical([
      await scanAll(a.ddb, 'AliceTable'),
      (await a.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState,
      (await a.kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants?.length,
    ]);
    if (after !== before) fail('isolation', "the other account's attempts changed the data");
    // The owner still sees everything (the refusals above were about the caller, not the data).
    const own = (await a.trail.send(new LookupEventsCommand({}))).Events ?? [];
    if (own.length === 0) fail('isolation', 'the owner sees no events in its own trail');
    figures.isolationRefusals = refusals.length;
    figures.isolationListings = leaks.length;
    figures.signatureOutcomes = JSON.stringify(countsByExpect);
    for (const c of [...Object.values(a), ...Object.values(b)]) c.destroy();
    options.log?.(`auth-isolation: ${cases} cases, ${failures.length} failure(s)`);
  } catch (error) {
    fail('run', `auth part stopped: ${errorText(error)}`);
  } finally {
    await server?.cleanup().catch((error: unknown) => fail('cleanup', errorText(error)));
  }
  return { part, seed: options.seed, cases, durationMs: Date.now() - started, figures, failures };
}
