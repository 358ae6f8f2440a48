/**
 * Damaged key files of a data directory, through the real CLI: `sealdb start` and `sealdb audit
 * verify` name the file, say what is wrong and how to restore it (never a raw parser or OpenSSL
 * error); and an audit fault at an hour change never takes KMS down.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { HOUR_MS } from '../../src/cloudtrail/layout.js';
import { trailFolder, verifyDataDir } from '../../src/cloudtrail/offline.js';
import { runCommand, startSealdbProcess } from '../helpers/process.js';
import { type AuditTestServer, startAuditServer } from './audit-server.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let server: AuditTestServer;
let rootKeyFile: string;

before(async () => {
  server = await startAuditServer();
  rootKeyFile = server.rootKeyFile;
  const kms = server.kmsClient();
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
  await kms.send(new EncryptCommand({ KeyId: KeyMetadata?.KeyId, Plaintext: Buffer.from('x') }));
  server.clock.advance(HOUR_MS);
  await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId }));
  server.clock.advance(HOUR_MS);
  await server.sweep();
  await server.close();
});
after(() => rmSync(server.scratch, { recursive: true, force: true }));

/** A copy of the closed server's data directory, so each case damages its own. */
function copyDataDir(): string {
  const dir = mkdtempSync(join(server.scratch, 'copy-'));
  cpSync(server.dataDir, dir, { recursive: true });
  return dir;
}

async function sealdb(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await runCommand(process.execPath, [CLI, ...args]);
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, out: failed.stdout + failed.stderr };
  }
}

const dirFlags = (dataDir: string) => ['--data-dir', dataDir, '--root-key-file', rootKeyFile];

async function refusedStart(dataDir: string): Promise<string> {
  let message = '';
  await assert.rejects(startSealdbProcess(dirFlags(dataDir)), (error: Error) => {
    message = error.message;
    return /sealdb exited with 1/.test(message);
  });
  return message;
}

/** What no operator message may be: a raw JSON parser, Node or OpenSSL error. */
function assertNotRaw(text: string): void {
  assert.doesNotMatch(
    text,
    /SyntaxError|Unexpected token|Unexpected end of JSON|routines::|ERR_OSSL|at .*\.js:\d+/,
    text,
  );
}

type Damage = (file: string) => void;

const truncate: Damage = (file) => {
  const bytes = readFileSync(file);
  writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
};
const notJson: Damage = (file) => writeFileSync(file, 'this is not what sealdb wrote\n');
const editJson =
  (edit: (record: Record<string, unknown>) => void): Damage =>
  (file) => {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    edit(record);
    writeFileSync(file, JSON.stringify(record, null, 2));
  };
/** Changes one base64 character (one byte of the file) at `index` of the text after `marker`. */
const flipAfter =
  (marker: string, index: number): Damage =>
  (file) => {
    const text = readFileSync(file, 'utf8');
    const at = text.indexOf(marker) + marker.length + index;
    assert.ok(at >= marker.length + index && at < text.length);
    writeFileSync(file, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
  };

describe('root-check.json', () => {
  const cases: [string, Damage, RegExp][] = [
    ['truncated', truncate, /it is not valid JSON: truncated or overwritten/],
    ['not JSON', notJson, /it is not valid JSON: truncated or overwritten/],
    [
      'wrong fields',
      editJson((r) => Object.assign(r, { kind: 'hsm' })),
      /kind is "hsm", not "key-file" or "passphrase"/,
    ],
    ['a flipped byte', flipAfter('"check": "', 5), /its SHA-256 does not match its content: a byte was changed/],
  ];
  for (const [name, damage, what] of cases) {
    test(`${name}: start and audit verify refuse, naming the file and how to restore it`, async () => {
      const dataDir = copyDataDir();
      const file = join(dataDir, 'root-check.json');
      damage(file);
      const [started, verified] = await Promise.all([
        refusedStart(dataDir),
        sealdb('audit', 'verify', ...dirFlags(dataDir)),
      ]);
      assert.equal(verified.code, 1);
      for (const text of [started, verified.out]) {
        assert.ok(text.includes(`the root key check file ${file} is damaged`), text);
        assert.match(text, what);
        assert.match(text, /Restore it from a backup of the data directory/);
        // Not mistaken for a wrong root key.
        assert.doesNotMatch(text, /does not match the one the data directory/);
        assertNotRaw(text);
      }
    });
  }
});

describe('signing-key.json', () => {
  const cases: [string, Damage, RegExp][] = [
    ['truncated', truncate, /is damaged: it is not valid JSON/],
    ['not JSON', notJson, /is damaged: it is not valid JSON/],
    ['wrong fields', editJson((r) => delete r.wrappedPrivateKey), /is damaged: it has no wrappedPrivateKey/],
    [
      'a flipped byte',
      flipAfter('"wrappedPrivateKey": "', 200),
      /is damaged: its sealed private key does not authenticate/,
    ],
    // Parses to the same record: only the exact text counts.
    [
      'a space added',
      (file) => writeFileSync(file, readFileSync(file, 'utf8').replace('"version"', ' "version"')),
      /is damaged: it is not the text sealdb wrote/,
    ],
  ];
  for (const [name, damage, what] of cases) {
    test(`${name}: start refuses and audit verify fails, naming the file and how to restore it`, async () => {
      const dataDir = copyDataDir();
      const file = join(trailFolder(dataDir), 'signing-key.json');
      damage(file);
      const [started, verified] = await Promise.all([
        refusedStart(dataDir),
        sealdb('audit', 'verify', ...dirFlags(dataDir)),
      ]);
      assert.equal(verified.code, 1, verified.out);
      assert.match(verified.out, /MODIFIED {3}signing-key\.json/);
      assert.match(verified.out, /FAILED: 1 problem\(s\)/, 'the digests still verify against public-key.pem');
      for (const text of [started, verified.out]) {
        assert.ok(text.includes(`the audit trail's signing key ${file} `), text);
        assert.match(text, what);
        assert.match(text, /Restore signing-key\.json from a backup of this data directory/);
        assertNotRaw(text);
      }
    });
  }

  test('missing while the trail has a public key: start refuses', async () => {
    const dataDir = copyDataDir();
    rmSync(join(trailFolder(dataDir), 'signing-key.json'));
    const started = await refusedStart(dataDir);
    assert.match(started, /signing-key\.json is missing, but the trail has a public key/);
  });
});

describe('public-key.pem', () => {
  const otherKind = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  const cases: [string, Damage, RegExp][] = [
    ['truncated', truncate, /is not a PEM public key \(truncated or overwritten\)/],
    ['not PEM', notJson, /is not a PEM public key \(truncated or overwritten\)/],
    [
      'wrong fields (another kind of key)',
      (file) => writeFileSync(file, otherKind),
      /holds an ec key, not the trail's RSA key/,
    ],
    [
      'a flipped byte',
      flipAfter('-----BEGIN PUBLIC KEY-----\n', 12),
      /is damaged: its PEM does not decode to a public key/,
    ],
  ];
  for (const [name, damage, what] of cases) {
    test(`${name}: audit verify and verify --export name the file; start rewrites it from the signing key`, async () => {
      const dataDir = copyDataDir();
      const file = join(trailFolder(dataDir), 'public-key.pem');
      const exported = mkdtempSync(join(server.scratch, 'export-'));
      assert.equal((await sealdb('audit', 'export', ...dirFlags(dataDir), '--out', exported)).code, 0);
      damage(file);
      damage(join(exported, 'public-key.pem'));

      const [verified, verifiedExport] = await Promise.all([
        sealdb('audit', 'verify', ...dirFlags(dataDir)),
        sealdb('audit', 'verify', '--export', exported),
      ]);
      assert.equal(verified.code, 1, verified.out);
      assert.match(verified.out, /MODIFIED {3}public-key\.pem/);
      assert.ok(verified.out.includes(`the trail's public key file ${file} `), verified.out);
      assert.match(
        verified.out,
        /Start sealdb once on this data directory \(it rewrites the file from the signing key\)/,
      );
      assert.match(verified.out, /FAILED: 1 problem\(s\)/, 'the digests still verify against the signing key');
      assert.equal(verifiedExport.code, 1, verifiedExport.out);
      assert.ok(verifiedExport.out.includes(`the trail's public key file ${join(exported, 'public-key.pem')} `));
      assert.match(verifiedExport.out, /pass a trusted copy with --public-key/);
      for (const text of [verified.out, verifiedExport.out]) {
        assert.match(text, what);
        assertNotRaw(text);
      }

      const child = await startSealdbProcess(dirFlags(dataDir));
      assert.equal(await child.stop(), 0);
      assert.ok(
        child.output().includes(`the trail's public key file ${file} did not hold the signing key's public key`),
      );
      const again = await sealdb('audit', 'verify', ...dirFlags(dataDir));
      assert.equal(again.code, 0, again.out);
    });
  }

  test('another RSA key (a changed modulus byte) is reported as not the signing key', async () => {
    const dataDir = copyDataDir();
    const file = join(trailFolder(dataDir), 'public-key.pem');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    writeFileSync(file, other);
    const verified = await sealdb('audit', 'verify', ...dirFlags(dataDir));
    assert.equal(verified.code, 1);
    assert.match(verified.out, /does not hold the signing key's public key \(replaced or damaged\)/);
    assert.match(verified.out, /FAILED: 1 problem\(s\)/, 'the digests are checked against the signing key');
  });

  test('a damaged --public-key file is named', async () => {
    const dataDir = copyDataDir();
    const copy = join(dataDir, 'trusted.pem');
    writeFileSync(copy, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    const verified = await sealdb('audit', 'verify', ...dirFlags(dataDir), '--public-key', copy);
    assert.equal(verified.code, 1);
    assert.ok(verified.out.includes(`the trail's public key file ${copy} is damaged`), verified.out);
    assertNotRaw(verified.out);
  });
});

test('a digest that cannot be written at an hour change is reported and retried; KMS keeps answering', async () => {
  const audit = await startAuditServer();
  try {
    const kms = audit.kmsClient();
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    // A file where the digest folder must go: every digest write fails until it is removed.
    const blocker = join(trailFolder(audit.dataDir), 'AWSLogs', '000000000000', 'CloudTrail-Digest');
    mkdirSync(join(blocker, '..'), { recursive: true });
    writeFileSync(blocker, 'in the way');
    audit.clock.advance(HOUR_MS);
    for (let i = 0; i < 3; i++) {
      const out = await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId }));
      assert.equal(out.$metadata.httpStatusCode, 200);
    }
    const { Events } = await audit.trailClient().send(new LookupEventsCommand({}));
    assert.equal(Events?.length, 4, 'the calls of both hours are recorded and served');
    const failing = audit.warnings.filter((w) => w.includes('could not write the digest'));
    assert.equal(failing.length, 1, `one warning per failure streak: ${audit.warnings.join('\n')}`);
    assert.match(
      failing[0] as string,
      /account 000000000000 in us-east-1 for the hour from .*KMS calls are still recorded/,
    );
    const metrics = await (await fetch(`${audit.endpoint}/metrics`)).text();
    const count = Number(/^sealdb_audit_digest_failures_total (\d+)/m.exec(metrics)?.[1]);
    assert.ok(count >= 4, `every failed attempt is counted (${count})`);

    rmSync(blocker);
    await audit.sweep();
    assert.ok(
      audit.warnings.some((w) => w.includes('the digests of account 000000000000 in us-east-1 are written again')),
    );
    await audit.close();
    const root = audit.openRoot();
    try {
      const result = await verifyDataDir(audit.dataDir, root);
      assert.deepEqual(result.problems, []);
      assert.equal(result.accounts[0]?.digests, 1);
    } finally {
      root.destroy();
    }
  } finally {
    await audit.close();
    rmSync(audit.scratch, { recursive: true, force: true });
  }
});
