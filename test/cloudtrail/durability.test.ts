/** A record is on disk before the KMS response leaves: kill -9 right after the calls loses none. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { HOUR_MS } from '../../src/cloudtrail/layout.js';
import { verifyDataDir } from '../../src/cloudtrail/offline.js';
import { DiskTrailReader } from '../../src/cloudtrail/trail-reader.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';
import { LOCAL, REGION, startAuditServer } from './audit-server.js';

test('kill -9 right after KMS calls return loses no record of them', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-audit-crash-'));
  let child: SealdbProcess | undefined;
  try {
    // The real binary, as a user runs it, so the kill hits the server `sealdb start` assembles.
    child = await startSealdbProcess([
      '--data-dir',
      join(scratch, 'data'),
      '--root-key-file',
      join(scratch, 'keys', 'root.key'),
      '--auth',
      'local',
      '--region',
      REGION,
    ]);
    const endpoint = child.endpoint;
    const kms = new KMSClient({ endpoint, region: REGION, credentials: LOCAL, maxAttempts: 1 });
    const created = await kms.send(new CreateKeyCommand({}));
    const calls = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        kms.send(new EncryptCommand({ KeyId: created.KeyMetadata?.KeyId, Plaintext: Buffer.from(`m${i}`) })),
      ),
    );
    // The instant the last response is in, the server dies without any chance to flush.
    await child.stop('SIGKILL');
    kms.destroy();
    const answered = new Set([created, ...calls].map((c) => c.$metadata.requestId));
    assert.equal(answered.size, 21);

    const root = RootOfTrust.open({ kind: 'key-file', path: join(scratch, 'keys', 'root.key') }, join(scratch, 'data'));
    const reader = new DiskTrailReader(join(scratch, 'data'), root, REGION);
    try {
      const recorded = new Set<string>();
      for (const hour of await reader.hours('000000000000')) {
        for (const record of await reader.readHour('000000000000', hour)) recorded.add(record.requestID);
      }
      for (const id of answered) assert.ok(recorded.has(id as string), `request ${id} was answered but not recorded`);
    } finally {
      reader.close();
      root.destroy();
    }

    // A new server picks the open hour up, closes it later, and the trail verifies.
    const again = await startAuditServer({ scratch });
    try {
      const { Events } = await again.trailClient().send(new LookupEventsCommand({}));
      assert.equal(Events?.length, 21);
      again.clock.advance(HOUR_MS);
      await again.sweep();
      const check = again.openRoot();
      try {
        const result = await verifyDataDir(again.dataDir, check);
        assert.deepEqual(result.problems, []);
        assert.equal(result.accounts[0]?.logFiles, 1);
      } finally {
        check.destroy();
      }
    } finally {
      await again.close();
    }
  } finally {
    child?.child.kill('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
});
