/**
 * Issue 12, item 5: records are streamed from disk, not held per hour. LookupEvents over an hour
 * holding huge refused requests answers every record (no 500); a busy hour closes into several
 * bounded log files, and a NextToken issued while the hour was open pages on after it closed.
 * (Memory under load is measured by `npm run soak:audit`, not here.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CloudTrailClient, type Event, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, EncryptCommand, GenerateRandomCommand } from '@aws-sdk/client-kms';
import { HOUR_MS } from '../../src/cloudtrail/layout.js';
import { trailFolder } from '../../src/cloudtrail/offline.js';
import { TrailCipher } from '../../src/cloudtrail/sealed-file.js';
import { TrailFiles } from '../../src/cloudtrail/trail-files.js';
import { rejectsWith } from '../helpers/assert-aws.js';
import { recordOf, startAuditServer, verifyTrail } from './audit-server.js';

async function pages(client: CloudTrailClient, max: number, extra = {}): Promise<Event[]> {
  const events: Event[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new LookupEventsCommand({ ...extra, MaxResults: max, NextToken }));
    events.push(...(page.Events ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return events;
}

test('LookupEvents over an hour holding huge refused requests returns every record, before and after a restart', async () => {
  let server = await startAuditServer();
  try {
    const kms = server.kmsClient();
    for (let i = 0; i < 3; i++) {
      await rejectsWith(
        kms.send(new EncryptCommand({ KeyId: `${i}`.repeat(9_000_000), Plaintext: Buffer.from('x') })),
        'ValidationException',
      );
      for (let j = 0; j < 3; j++) await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    }
    for (const round of ['open', 'after restart']) {
      const events = await pages(server.trailClient(), 4);
      assert.equal(events.length, 12, round);
      assert.equal(new Set(events.map((e) => e.EventId)).size, 12, `${round}: no repeats`);
      for (const event of events) assert.ok((event.CloudTrailEvent?.length ?? 0) < 8 * 1024, 'records are bounded');
      const refused = await pages(server.trailClient(), 50, {
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Encrypt' }],
      });
      assert.deepEqual(
        refused.map((e) => recordOf(e).errorCode),
        ['ValidationException', 'ValidationException', 'ValidationException'],
      );
      await server.close();
      server = await startAuditServer({ reuse: server });
    }
  } finally {
    await server.cleanup();
  }
});

test('a busy hour closes into several log files, and a NextToken from the open hour pages on after it closed', async () => {
  const server = await startAuditServer();
  try {
    const kms = server.kmsClient();
    const key = await kms.send(new CreateKeyCommand({}));
    // 90 KB request parameters (kept: under CloudTrail's 100 KB), 30 of them: over one 2 MiB log file.
    for (let i = 0; i < 30; i++) {
      await kms.send(
        new EncryptCommand({
          KeyId: key.KeyMetadata?.KeyId,
          Plaintext: Buffer.from('x'),
          EncryptionContext: { n: String(i), pad: 'p'.repeat(90 * 1024) },
        }),
      );
    }
    const trail = server.trailClient();
    const whole = (await pages(trail, 50)).map((e) => e.EventId);
    assert.equal(whole.length, 31);
    const first = await trail.send(new LookupEventsCommand({ MaxResults: 7 }));

    server.clock.advance(HOUR_MS);
    await server.sweep();
    // Its log files: on disk, or (engine storage) those its digest lists, made again from its records.
    const { problems, logFiles } = await verifyTrail(server);
    assert.deepEqual(problems, []);
    assert.ok(logFiles >= 2, `the hour is in ${logFiles} log file(s)`);
    if (!server.storage) {
      const root = server.openRoot();
      const cipher = new TrailCipher(root);
      try {
        const { logs } = await new TrailFiles(trailFolder(server.dataDir), cipher).list();
        assert.equal(logFiles, logs.length, 'the digest lists every log file of the hour');
      } finally {
        cipher.destroy();
        root.destroy();
      }
    }

    const rest: string[] = [];
    let NextToken = first.NextToken;
    while (NextToken) {
      const page = await trail.send(new LookupEventsCommand({ MaxResults: 7, NextToken }));
      rest.push(...(page.Events ?? []).map((e) => e.EventId as string));
      NextToken = page.NextToken;
    }
    assert.deepEqual([...(first.Events ?? []).map((e) => e.EventId), ...rest], whole);
    assert.deepEqual(
      (await pages(trail, 50)).map((e) => e.EventId),
      whole,
    );
  } finally {
    await server.cleanup();
  }
});
