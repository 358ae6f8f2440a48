/** `sealdb audit verify|export|lookup|tail`, run in process through commander as the binary runs them. */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, test } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { Command } from 'commander';
import { type AuditCliIo, parseTime, registerAuditCommands } from '../../src/cli/audit.js';
import { HOUR_MS, SEALED_SUFFIX } from '../../src/cloudtrail/layout.js';
import { trailFolder } from '../../src/cloudtrail/offline.js';
import { filesUnder } from '../helpers/files.js';
import { type AuditTestServer, startAuditServer } from './audit-server.js';

let server: AuditTestServer;
const CONTEXT = { 'aws:dynamodb:tableName': 'Books', 'aws:dynamodb:subscriberId': '000000000000' };

async function sealdb(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const io: AuditCliIo = { out: (t) => lines.push(t), err: (t) => errors.push(t) };
  const program = new Command().exitOverride();
  registerAuditCommands(program, io);
  process.exitCode = undefined;
  await program.parseAsync(['audit', ...args], { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out: lines.join('\n'), err: errors.join('\n'), code };
}

const dirFlags = () => ['--data-dir', server.dataDir, '--root-key-file', server.rootKeyFile];

before(async () => {
  server = await startAuditServer();
  const kms = server.kmsClient();
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'cli' }));
  const enc = await kms.send(
    new EncryptCommand({ KeyId: KeyMetadata?.KeyId, Plaintext: Buffer.from('x'), EncryptionContext: CONTEXT }),
  );
  await kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: CONTEXT }));
  server.clock.advance(HOUR_MS);
  await kms.send(new DescribeKeyCommand({ KeyId: KeyMetadata?.KeyId }));
  server.clock.advance(HOUR_MS);
  await server.sweep();
});
after(() => server.cleanup());
afterEach(() => {
  process.exitCode = undefined;
});

test('verify passes on an untouched trail, then fails naming a deleted log file', async () => {
  const ok = await sealdb('verify', ...dirFlags());
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /OK: every file verifies/);
  assert.match(ok.out, /account 000000000000 \(us-east-1\): 2 digest\(s\) from .* to .*, 2 log file\(s\)/);

  const scratch = mkdtempSync(join(server.scratch, 'export-'));
  const exported = await sealdb('export', ...dirFlags(), '--out', scratch);
  assert.match(exported.out, /exported 4 file\(s\)/);
  assert.equal((await sealdb('verify', '--export', scratch)).code, 0);

  // Tampering happens on a copy, so the other tests keep an intact trail.
  const copy = mkdtempSync(join(server.scratch, 'copy-'));
  cpSync(server.dataDir, copy, { recursive: true });
  const copyFlags = ['--data-dir', copy, '--root-key-file', server.rootKeyFile];
  const log = filesUnder(trailFolder(copy)).find(
    (f) => f.endsWith(`.json.gz${SEALED_SUFFIX}`) && f.includes('/CloudTrail/'),
  ) as string;
  rmSync(log);
  const failed = await sealdb('verify', ...copyFlags);
  assert.equal(failed.code, 1);
  assert.match(failed.out, /FAILED: 1 problem\(s\)/);
  const name = log.slice(trailFolder(copy).length + 1);
  assert.ok(failed.out.includes(`MISSING    ${name}`), failed.out);
  const json = JSON.parse((await sealdb('verify', ...copyFlags, '--json')).out);
  assert.equal(json.ok, false);
  assert.deepEqual(
    json.problems.map((p: { kind: string; file: string }) => [p.kind, p.file]),
    [['missing', name]],
  );
});

test('lookup prints events from a running server or its data directory', async () => {
  const remote = await sealdb('lookup', '--endpoint', server.endpoint, '--max', '2');
  assert.match(remote.out, /^\S+Z {2}DescribeKey/);
  assert.match(remote.out, /2 event\(s\)$/);
  const local = await sealdb('lookup', ...dirFlags(), '--event-name', 'Encrypt');
  assert.match(local.out, /Encrypt +ok\n {4}by root 000000000000 \(AKIDLOCAL\) from 127\.0\.0\.1/);
  assert.match(local.out, /context aws:dynamodb:tableName=Books, aws:dynamodb:subscriberId=000000000000/);
  assert.match(local.out, /1 event\(s\)$/);
  const json = await sealdb('lookup', '--endpoint', server.endpoint, '--attribute', 'ReadOnly=false', '--json');
  assert.deepEqual(
    json.out.split('\n').map((l) => JSON.parse(l).eventName),
    ['CreateKey'],
  );
});

test('tail prints the latest events oldest first', async () => {
  const tail = await sealdb('tail', '--endpoint', server.endpoint, '-n', '2');
  const names = [...tail.out.matchAll(/Z {2}(\w+)/g)].map((m) => m[1]);
  assert.deepEqual(names, ['Decrypt', 'DescribeKey']);
});

test('times are ISO 8601, epoch seconds or durations ago', () => {
  assert.equal(parseTime('2024-01-02T03:04:05Z'), Date.UTC(2024, 0, 2, 3, 4, 5));
  assert.equal(parseTime('1700000000'), 1_700_000_000_000);
  assert.equal(parseTime('2h', 10 * HOUR_MS), 8 * HOUR_MS);
  assert.throws(() => parseTime('yesterday'), /not a time/);
});
