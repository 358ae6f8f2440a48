import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  RestoreTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { DisableKeyCommand, EnableKeyCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { pitrSnapshotsWithData, placesHolding } from '../../helpers/at-rest.js';
import { keepAliveClient, newConnectionClient } from '../../helpers/clients.js';
import { createKey } from '../../helpers/kms.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';
import { tableActive } from '../backups/helpers.js';
import { allItems, enablePitr } from './helpers.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const CANARY = 'canary-pitr-5c1e88d0-plaintext';

/** A table under a customer managed key with PITR on: items before and after a moment `at`. */
async function secureTable(server: TestServer, ddb: DynamoDBClient, kms: KMSClient, name: string) {
  const key = await createKey(kms);
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'N' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: key.id },
    }),
  );
  const put = (i: number) =>
    ddb.send(
      new PutItemCommand({
        TableName: name,
        Item: { id: { N: String(i) }, v: { S: `${CANARY}-${i}` }, [`${CANARY}-attr`]: { S: 'x' } },
      }),
    );
  for (let i = 0; i < 5; i++) await put(i);
  await enablePitr(ddb, name);
  server.clock.advance(1000);
  for (let i = 5; i < 10; i++) await put(i);
  const at = server.clock.now();
  server.clock.advance(1000);
  for (let i = 10; i < 15; i++) await put(i);
  // LatestRestorableDateTime is 5 minutes behind the current time: `at` becomes restorable.
  server.clock.advance(5 * MINUTE);
  return { key, at };
}

/** Restores to a point in time under each key type, from a disabled key, and shredded history. */
describe('point-in-time recovery and keys', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  let kms: KMSClient;

  before(async () => {
    server = await startTestServer();
    ddb = keepAliveClient(server);
    kms = new KMSClient(server.clientConfig());
  });
  after(async () => {
    ddb.destroy();
    kms.destroy();
    await server.cleanup();
  });

  it('restores with each key type as override; without one the restored table has the source key', async () => {
    const { key, at } = await secureTable(server, ddb, kms, 'Keyed');
    const other = await createKey(kms);
    const cases = [
      { name: 'AsSource', override: undefined, sse: { SSEType: 'KMS', KMSMasterKeyArn: key.arn } },
      { name: 'AsOwned', override: { Enabled: false }, sse: undefined },
      { name: 'AsManaged', override: { Enabled: true, SSEType: 'KMS' as const }, sse: { SSEType: 'KMS' } },
      {
        name: 'AsOther',
        override: { Enabled: true, SSEType: 'KMS' as const, KMSMasterKeyId: other.id },
        sse: { SSEType: 'KMS', KMSMasterKeyArn: other.arn },
      },
    ];
    for (const c of cases) {
      await ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Keyed',
          TargetTableName: c.name,
          RestoreDateTime: new Date(at),
          ...(c.override ? { SSESpecificationOverride: c.override } : {}),
        }),
      );
      const table = await tableActive(ddb, c.name);
      assert.equal(table.ItemCount, 10, c.name);
      // Exactly the items written before the instant: ids 0–9, not 10–14.
      const ids = (await allItems(ddb, c.name)).map((i) => Number(JSON.parse(i).id.N)).sort((a, b) => a - b);
      assert.deepEqual(ids, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], c.name);
      const sse = (await ddb.send(new DescribeTableCommand({ TableName: c.name }))).Table?.SSEDescription;
      if (!c.sse) assert.equal(sse, undefined, c.name);
      else {
        assert.equal(sse?.SSEType, c.sse.SSEType, c.name);
        assert.equal(sse?.Status, 'ENABLED', c.name);
        if (c.sse.KMSMasterKeyArn) assert.equal(sse?.KMSMasterKeyArn, c.sse.KMSMasterKeyArn, c.name);
        else assert.match(sse?.KMSMasterKeyArn ?? '', /:key\//);
      }
    }
  });

  it('a restore whose source key is disabled fails with the KMS error; it works once the key is enabled', async () => {
    const { key, at } = await secureTable(server, ddb, kms, 'Disabled');
    await kms.send(new DisableKeyCommand({ KeyId: key.id }));
    // Past the 5-minute key cache: the key is asked again.
    server.clock.advance(6 * MINUTE);
    const fresh = newConnectionClient(server);
    try {
      for (const override of [undefined, { Enabled: false }]) {
        await rejectsWith(
          fresh.send(
            new RestoreTableToPointInTimeCommand({
              SourceTableName: 'Disabled',
              TargetTableName: 'FromDisabled',
              RestoreDateTime: new Date(at),
              ...(override ? { SSESpecificationOverride: override } : {}),
            }),
          ),
          'AccessDeniedException',
          /^KMS key access denied error: com\.amazonaws\.services\.kms\.model\.DisabledException: /,
        );
      }
      await rejectsWith(
        fresh.send(new DescribeTableCommand({ TableName: 'FromDisabled' })),
        'ResourceNotFoundException',
      );
      await kms.send(new EnableKeyCommand({ KeyId: key.id }));
      await server.sweep();
      await fresh.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Disabled',
          TargetTableName: 'FromDisabled',
          RestoreDateTime: new Date(at),
        }),
      );
      assert.equal((await tableActive(fresh, 'FromDisabled')).ItemCount, 10);
    } finally {
      fresh.destroy();
    }
  });

  it('once the KMS key is deleted the history is unreadable; no file holds the items in plaintext', async () => {
    const { key, at } = await secureTable(server, ddb, kms, 'Shredded');
    // A second snapshot a day on, so history has more than one file.
    server.clock.advance(DAY + MINUTE);
    await server.sweep();
    const snapshots = await pitrSnapshotsWithData(server);
    assert.ok(snapshots.length >= 2, `snapshot files: ${snapshots.length}`);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    server.clock.advance(7 * DAY + MINUTE);
    await server.sweep();
    const fresh = newConnectionClient(server);
    try {
      await rejectsWith(
        fresh.send(
          new RestoreTableToPointInTimeCommand({
            SourceTableName: 'Shredded',
            TargetTableName: 'Resurrected',
            RestoreDateTime: new Date(at + DAY),
            SSESpecificationOverride: { Enabled: false },
          }),
        ),
        'AccessDeniedException',
        /NotFoundException|KMSInvalidStateException|deleted/,
      );
    } finally {
      fresh.destroy();
    }
    // Every file (tables with their change logs, snapshots, catalogs): ciphertext only.
    await server.close();
    // Over the engine: the snapshots' rows, and a pg_dump of the schema holding no canary.
    const kept = await pitrSnapshotsWithData(server);
    for (const snapshot of snapshots) assert.ok(kept.includes(snapshot), `${snapshot} is still there, and was read`);
    assert.deepEqual(await placesHolding(server, [CANARY]), []);
  });
});
