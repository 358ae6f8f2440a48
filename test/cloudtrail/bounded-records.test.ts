/**
 * Issue 12, item 4: an oversized KMS request cannot erase, bloat or break any trail. Its record
 * is bounded as CloudTrail bounds records (requestParameters over 100 KB omitted, `omitted: true`),
 * and the key owner's trail keeps every record across a restart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, EncryptCommand, GenerateRandomCommand } from '@aws-sdk/client-kms';
import { HOUR_MS } from '../../src/cloudtrail/layout.js';
import { verifyDataDir } from '../../src/cloudtrail/offline.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { recordOf, startAuditServer } from './audit-server.js';

const A = '111122223333';
const B = '444455556666';
const ROOT_A = { accessKeyId: 'AKIAROOTA00000000000', secretAccessKey: 'secret-root-a' };
const ROOT_B = { accessKeyId: 'AKIAROOTB00000000000', secretAccessKey: 'secret-root-b' };
/** The server's request limit: the largest request a client can send. */
const MAX_REQUEST = 16 * 1024 * 1024;

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

/** An Encrypt request body of exactly `size` bytes, its bulk in one encryption context value. */
function contextFilling(keyArn: string, size: number): Record<string, string> {
  const skeleton = JSON.stringify({
    KeyId: keyArn,
    Plaintext: Buffer.from('x').toString('base64'),
    EncryptionContext: { filler: '' },
  });
  return { filler: 'f'.repeat(size - skeleton.length) };
}

test("a 16 MiB request of account B on account A's key leaves every one of A's records after a restart", async () => {
  const accounts = {
    accounts: [
      { accountId: A, accessKeys: [ROOT_A] },
      { accountId: B, accessKeys: [ROOT_B] },
    ],
  };
  let server = await startAuditServer({ auth: accounts });
  try {
    const kmsA = server.kmsClient(ROOT_A);
    const key = await kmsA.send(new CreateKeyCommand({ Description: 'owned by A' }));
    const arn = key.KeyMetadata?.Arn as string;
    for (let i = 0; i < 5; i++) {
      await kmsA.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from(`a${i}`) }));
    }
    await kmsA.send(new GenerateRandomCommand({ NumberOfBytes: 16 }));
    const before = (await lookupAll(server.trailClient(ROOT_A))).map((e) => e.EventId);
    assert.equal(before.length, 7);

    // B may not use A's key: refused, and its record goes to B's trail and to A's (the key owner's).
    await rejectsWith(
      server.kmsClient(ROOT_B).send(
        new EncryptCommand({
          KeyId: arn,
          Plaintext: Buffer.from('x'),
          EncryptionContext: contextFilling(arn, MAX_REQUEST),
        }),
      ),
      'AccessDeniedException',
    );
    await kmsA.send(new EncryptCommand({ KeyId: arn, Plaintext: Buffer.from('after') }));

    await server.close();
    server = await startAuditServer({ reuse: server, auth: accounts });
    const events = await lookupAll(server.trailClient(ROOT_A));
    const ids = new Set(events.map((e) => e.EventId));
    for (const id of before) assert.ok(ids.has(id), `A's event ${id} is gone after the restart`);
    assert.equal(events.length, 9, 'A keeps its 8 calls and the record of B denied on its key');
    const denied = events.map(recordOf).find((r) => r.errorCode === 'AccessDeniedException');
    assert.ok(denied, "the denial is in the key owner's trail");
    assert.deepEqual(denied.requestParameters, { omitted: true });
    assert.ok((events.find((e) => recordOf(e) === denied)?.CloudTrailEvent?.length ?? 0) < 64 * 1024);
    assert.ok(Buffer.byteLength(JSON.stringify(denied)) < 64 * 1024, 'the record is bounded');
    const eventsB = (await lookupAll(server.trailClient(ROOT_B))).map(recordOf);
    assert.equal(eventsB.length, 1);
    assert.deepEqual(eventsB[0]?.requestParameters, { omitted: true });
    assert.deepEqual(server.warnings, [], 'nothing was damaged, so nothing is set aside');

    // Closing the hour turns it into log files and a digest that verify accepts.
    server.clock.advance(HOUR_MS);
    await server.sweep();
    const root = server.openRoot();
    try {
      const result = await verifyDataDir(server.dataDir, root);
      assert.deepEqual(result.problems, []);
    } finally {
      root.destroy();
    }
  } finally {
    await server.cleanup();
  }
});

test('a 9,000,000-character KeyId is refused and recorded within bounds, its value neither kept nor doubled', async () => {
  const server = await startAuditServer();
  try {
    const kms = server.kmsClient();
    const keyId = 'k'.repeat(9_000_000);
    await rejectsWith(
      kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })),
      'ValidationException',
    );
    await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    const { Events } = await server.trailClient().send(new LookupEventsCommand({}));
    assert.equal(Events?.length, 2);
    const refused = recordOf(Events?.[1] ?? {});
    assert.equal(refused.eventName, 'Encrypt');
    assert.equal(refused.errorCode, 'ValidationException');
    assert.deepEqual(refused.requestParameters, { omitted: true });
    assert.ok(typeof refused.errorMessage === 'string' && refused.errorMessage.length <= 1024);
    assert.ok((Events?.[1]?.CloudTrailEvent?.length ?? Infinity) < 8 * 1024);
  } finally {
    await server.cleanup();
  }
});

test('request parameters under 100 KB are kept whole', async () => {
  const server = await startAuditServer();
  try {
    const kms = server.kmsClient();
    const key = await kms.send(new CreateKeyCommand({}));
    const context = { big: 'v'.repeat(90 * 1024) };
    await kms.send(
      new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: context }),
    );
    const { Events } = await server.trailClient().send(new LookupEventsCommand({}));
    const record = recordOf(Events?.[0] ?? {});
    assert.deepEqual((record.requestParameters as Record<string, unknown>).encryptionContext, context);
  } finally {
    await server.cleanup();
  }
});
