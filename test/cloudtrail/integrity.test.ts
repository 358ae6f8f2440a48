/**
 * Hourly log files and signed, chained digests on disk: their layout, encryption at rest, survival
 * across restarts, and offline verification that names the file a tamperer touched.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { type DigestDocument, serializeDigest, sha256Hex, signingString } from '../../src/cloudtrail/digest.js';
import { HOUR_MS, logObjectKey, SEALED_SUFFIX } from '../../src/cloudtrail/layout.js';
import { exportTrail, trailFolder, verifyDataDir, verifyExport } from '../../src/cloudtrail/offline.js';
import { TrailCipher } from '../../src/cloudtrail/sealed-file.js';
import { publicKeyFingerprint } from '../../src/cloudtrail/signing-key.js';
import { gunzip, TrailFiles } from '../../src/cloudtrail/trail-files.js';
import type { VerifyResult } from '../../src/cloudtrail/verify.js';
import { filesContaining, filesUnder } from '../helpers/files.js';
import { type AuditTestServer, startAuditServer } from './audit-server.js';

const ACCOUNT = '000000000000';
const MARKER = `AuditTableMarker${Date.now()}`;
const CONTEXT = { 'aws:dynamodb:tableName': MARKER, 'aws:dynamodb:subscriberId': ACCOUNT };

let server: AuditTestServer;
const scratch = mkdtempSync(join(tmpdir(), 'sealdb-audit-integrity-'));
/** Log and digest object keys in time order, as the first server wrote them. */
let logs: string[] = [];
let digests: string[] = [];

async function listing(dataDir: string) {
  const root = server.openRoot();
  const cipher = new TrailCipher(root);
  try {
    const files = new TrailFiles(trailFolder(dataDir), cipher);
    const { logs: l, digests: d, strangers } = await files.list();
    return {
      logs: l.sort((a, b) => a.key.hour - b.key.hour).map((x) => x.objectKey),
      digests: d.sort((a, b) => a.key.end - b.key.end).map((x) => x.objectKey),
      strangers,
    };
  } finally {
    cipher.destroy();
    root.destroy();
  }
}

async function verifyCopy(tamper?: (dataDir: string, files: TrailFiles) => Promise<void>): Promise<VerifyResult> {
  const copy = mkdtempSync(join(scratch, 'copy-'));
  cpSync(server.dataDir, copy, { recursive: true });
  const root = server.openRoot();
  const cipher = new TrailCipher(root);
  try {
    if (tamper) await tamper(copy, new TrailFiles(trailFolder(copy), cipher));
    return await verifyDataDir(copy, root);
  } finally {
    cipher.destroy();
    root.destroy();
  }
}

const problemsOf = (result: VerifyResult) => result.problems.map((p) => [p.kind, p.file]);

before(async () => {
  server = await startAuditServer();
  const kms = server.kmsClient();
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
  const enc = await kms.send(
    new EncryptCommand({ KeyId: KeyMetadata?.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: CONTEXT }),
  );
  await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: CONTEXT }));
  server.clock.advance(HOUR_MS);
  await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId }));
  server.clock.advance(3 * HOUR_MS);
  await server.sweep();
  ({ logs, digests } = await listing(server.dataDir));
});
after(async () => {
  await server.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

describe('on disk', () => {
  test('hourly log files and digests in CloudTrail layout, a digest for every hour, empty ones too', async () => {
    assert.equal(logs.length, 2);
    assert.equal(digests.length, 4);
    for (const key of logs) {
      assert.match(
        key,
        /^AWSLogs\/000000000000\/CloudTrail\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/000000000000_CloudTrail_us-east-1_\d{8}T\d{2}00Z_[A-Za-z0-9]{16}\.json\.gz$/,
      );
      assert.ok(existsSync(join(trailFolder(server.dataDir), key + SEALED_SUFFIX)));
    }
    for (const key of digests) {
      assert.match(
        key,
        /^AWSLogs\/000000000000\/CloudTrail-Digest\/us-east-1\/\d{4}\/\d{2}\/\d{2}\/000000000000_CloudTrail-Digest_us-east-1_sealdb_us-east-1_\d{8}T\d{2}0000Z\.json\.gz$/,
      );
    }
    assert.ok(readFileSync(join(trailFolder(server.dataDir), 'public-key.pem'), 'utf8').includes('BEGIN PUBLIC KEY'));

    const out = join(scratch, 'export');
    const root = server.openRoot();
    try {
      await exportTrail(server.dataDir, root, out);
    } finally {
      root.destroy();
    }
    const first = JSON.parse(gunzip(readFileSync(join(out, logs[0] as string))).toString('utf8'));
    assert.deepEqual(
      first.Records.map((r: { eventName: string }) => r.eventName),
      ['CreateKey', 'Encrypt', 'Decrypt'],
    );
    const docs = digests.map((d) => JSON.parse(gunzip(readFileSync(join(out, d))).toString('utf8')) as DigestDocument);
    assert.deepEqual(
      docs.map((d) => d.logFiles.length),
      [1, 1, 0, 0],
    );
    assert.equal(docs[0]?.previousDigestSignature, null);
    assert.equal(docs[0]?.logFiles[0]?.s3Object, logs[0]);
    assert.equal(docs[0]?.logFiles[0]?.hashValue, sha256Hex(gunzip(readFileSync(join(out, logs[0] as string)))));
    assert.equal(docs[1]?.previousDigestS3Object, digests[0]);
    assert.equal(docs[1]?.previousDigestHashValue, sha256Hex(gunzip(readFileSync(join(out, digests[0] as string)))));
    assert.equal(docs[1]?.digestStartTime, docs[0]?.digestEndTime);
    assert.equal(docs[0]?.digestSignatureAlgorithm, 'SHA256withRSA');
    assert.match(docs[0]?.digestPublicKeyFingerprint ?? '', /^[0-9a-f]{32}$/);
    // The export verifies with nothing but the public key.
    const exported = await verifyExport(out);
    assert.deepEqual(exported.problems, []);
    assert.equal(exported.accounts[0]?.digests, 4);
  });

  test('nothing in the data directory shows encryption-context values in the clear', () => {
    assert.ok(filesUnder(server.dataDir).some((f) => f.endsWith(SEALED_SUFFIX)));
    assert.deepEqual(filesContaining(server.dataDir, Buffer.from(MARKER)), []);
    assert.deepEqual(filesContaining(server.dataDir, Buffer.from(Buffer.from(MARKER).toString('base64'))), []);
  });

  test('closed hours are still looked up', async () => {
    const { Events } = await server.trailClient().send(new LookupEventsCommand({}));
    assert.deepEqual(
      Events?.map((e) => e.EventName),
      ['DescribeKey', 'Decrypt', 'Encrypt', 'CreateKey'],
    );
  });
});

describe('verification', () => {
  test('an untouched trail verifies', async () => {
    const result = await verifyCopy();
    assert.deepEqual(result.problems, []);
    assert.ok(result.ok);
    assert.deepEqual(result.accounts, [
      {
        accountId: ACCOUNT,
        region: 'us-east-1',
        digests: 4,
        logFiles: 2,
        from: result.accounts[0]?.from,
        to: result.accounts[0]?.to,
      },
    ]);
  });

  test('an edited record is reported on its log file', async () => {
    const result = await verifyCopy(async (_dir, files) => {
      const key = logs[0] as string;
      const { content } = await files.readClosed(key);
      const edited = gunzip(content).toString('utf8').replace('"eventName":"Decrypt"', '"eventName":"Encrypt"');
      await files.writeClosed(key, gzipSync(Buffer.from(edited)));
    });
    assert.equal(result.ok, false);
    assert.deepEqual(problemsOf(result), [['modified', logs[0] + SEALED_SUFFIX]]);
    assert.match(result.problems[0]?.detail ?? '', /SHA-256/);
  });

  test('a byte changed on disk is reported on its file', async () => {
    const result = await verifyCopy(async (dir) => {
      const path = join(trailFolder(dir), logs[1] + SEALED_SUFFIX);
      const bytes = readFileSync(path);
      bytes[bytes.length - 20] = (bytes[bytes.length - 20] as number) ^ 1;
      writeFileSync(path, bytes);
    });
    assert.deepEqual(problemsOf(result), [['modified', logs[1] + SEALED_SUFFIX]]);
  });

  test('a deleted log file is reported missing', async () => {
    const result = await verifyCopy(async (dir) => {
      rmSync(join(trailFolder(dir), logs[0] + SEALED_SUFFIX));
    });
    assert.deepEqual(problemsOf(result), [['missing', logs[0] + SEALED_SUFFIX]]);
  });

  test('a log file no digest lists is reported inserted', async () => {
    const result = await verifyCopy(async (_dir, files) => {
      const key = logObjectKey({
        accountId: ACCOUNT,
        region: 'us-east-1',
        hour: Math.floor(server.clock.now() / HOUR_MS) * HOUR_MS - 2 * HOUR_MS,
        unique: 'Inserted00000000',
      });
      await files.writeClosed(key, gzipSync(Buffer.from('{"Records":[]}')));
    });
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0]?.kind, 'inserted');
    assert.match(result.problems[0]?.file ?? '', /_Inserted00000000\.json\.gz\.enc$/);
  });

  test('a replaced digest is reported as re-signed, and the chain break on the next one', async () => {
    const result = await verifyCopy(async (_dir, files) => {
      const key = digests[1] as string;
      const { content } = await files.readClosed(key);
      const doc = JSON.parse(gunzip(content).toString('utf8')) as DigestDocument;
      // Someone with the root key but not the signing key drops the hour's log file and re-signs.
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const forged: DigestDocument = {
        ...doc,
        logFiles: [],
        digestPublicKeyFingerprint: publicKeyFingerprint(publicKey),
      };
      const bytes = serializeDigest(forged);
      const { sign } = await import('node:crypto');
      const signature = sign('sha256', Buffer.from(signingString(forged, sha256Hex(bytes))), privateKey).toString(
        'hex',
      );
      await files.writeClosed(key, gzipSync(bytes), { signature, 'signature-algorithm': 'SHA256withRSA' });
    });
    assert.deepEqual(problemsOf(result), [
      ['signature', digests[1] + SEALED_SUFFIX],
      ['chain', digests[2] + SEALED_SUFFIX],
      ['inserted', logs[1] + SEALED_SUFFIX],
    ]);
  });

  test('a deleted digest is reported missing', async () => {
    const result = await verifyCopy(async (dir) => {
      rmSync(join(trailFolder(dir), digests[2] + SEALED_SUFFIX));
    });
    assert.deepEqual(problemsOf(result), [['missing', digests[2] + SEALED_SUFFIX]]);
  });

  test('--from/--to limit the digests checked', async () => {
    const copy = mkdtempSync(join(scratch, 'copy-'));
    cpSync(server.dataDir, copy, { recursive: true });
    rmSync(join(trailFolder(copy), logs[0] + SEALED_SUFFIX));
    const root = server.openRoot();
    try {
      const all = await verifyDataDir(copy, root);
      assert.deepEqual(problemsOf(all), [['missing', logs[0] + SEALED_SUFFIX]]);
      const later = await verifyDataDir(copy, root, { from: server.clock.now() - 3 * HOUR_MS });
      assert.deepEqual(later.problems, [], 'the damaged hour is before --from');
      assert.equal(later.accounts[0]?.digests, 3);
      const earlier = await verifyDataDir(copy, root, { to: server.clock.now() - 3 * HOUR_MS });
      assert.deepEqual(problemsOf(earlier), [['missing', logs[0] + SEALED_SUFFIX]]);
      assert.equal(earlier.accounts[0]?.digests, 2, 'the digests of hours starting before --to');
    } finally {
      root.destroy();
    }
  });
});

describe('restart', () => {
  test('the chain continues after a restart and old events stay visible', async () => {
    await server.close();
    server = await startAuditServer({ reuse: server });
    const kms = server.kmsClient();
    await kms.send(new CreateKeyCommand({}));
    const { Events } = await server.trailClient().send(new LookupEventsCommand({}));
    assert.deepEqual(
      Events?.map((e) => e.EventName),
      ['CreateKey', 'DescribeKey', 'Decrypt', 'Encrypt', 'CreateKey'],
    );
    server.clock.advance(HOUR_MS);
    await server.sweep();
    const after = await listing(server.dataDir);
    assert.equal(after.digests.length, 5);
    assert.equal(after.logs.length, 3);
    const result = await verifyCopy();
    assert.deepEqual(result.problems, []);
  });

  test('a damaged digest is reported by verify, and auditing goes on with a new chain', async () => {
    await server.close();
    const newest = (await listing(server.dataDir)).digests.at(-1) as string;
    const path = join(trailFolder(server.dataDir), newest + SEALED_SUFFIX);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(path, bytes);
    server = await startAuditServer({ reuse: server });
    await server.kmsClient().send(new CreateKeyCommand({}));
    const { Events } = await server.trailClient().send(new LookupEventsCommand({ MaxResults: 1 }));
    assert.equal(Events?.[0]?.EventName, 'CreateKey');
    assert.equal(server.warnings.length, 1);
    assert.match(server.warnings[0] as string, /is damaged .* starting a new chain/);
    server.clock.advance(HOUR_MS);
    await server.sweep();
    const result = await verifyCopy();
    assert.deepEqual(problemsOf(result), [
      ['modified', newest + SEALED_SUFFIX],
      ['inserted', (await listing(server.dataDir)).logs[2] + SEALED_SUFFIX],
    ]);
    assert.match(result.problems[1]?.detail ?? '', /the digest of its hour is damaged/);
  });
});
