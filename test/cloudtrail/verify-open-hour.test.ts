/**
 * Issue 12, items 4 and 6: the open hour (not yet digested) is checked frame by frame. `sealdb
 * audit verify` fails on a damaged open hour file and on every file recovery set aside, naming
 * the file and the frame; recovery keeps every frame that authenticates and says which it lost;
 * `audit export` carries the open hour up to now, marked as not yet digested.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { GenerateRandomCommand } from '@aws-sdk/client-kms';
import { Command } from 'commander';
import { type AuditCliIo, registerAuditCommands } from '../../src/cli/audit.js';
import { HOUR_MS } from '../../src/cloudtrail/layout.js';
import { exportTrail, trailFolder, verifyDataDir, verifyExport } from '../../src/cloudtrail/offline.js';
import { filesUnder } from '../helpers/files.js';
import { type AuditTestServer, startAuditServer } from './audit-server.js';

async function sealdb(...args: string[]): Promise<{ out: string; code: number }> {
  const lines: string[] = [];
  const io: AuditCliIo = { out: (t) => lines.push(t), err: (t) => lines.push(t) };
  const program = new Command().exitOverride();
  registerAuditCommands(program, io);
  process.exitCode = undefined;
  await program.parseAsync(['audit', ...args], { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out: lines.join('\n'), code };
}

/** A stopped server whose open hour holds `calls` records. */
async function openHourOf(calls: number): Promise<{ server: AuditTestServer; file: string; relative: string }> {
  const server = await startAuditServer();
  const kms = server.kmsClient();
  for (let i = 0; i < calls; i++) await kms.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
  await server.close();
  const trail = trailFolder(server.dataDir);
  const file = filesUnder(trail).find((f) => f.endsWith('.frames')) as string;
  assert.ok(file, 'the open hour is on disk');
  return { server, file, relative: file.slice(trail.length + 1) };
}

/** Byte offsets of the frames of an open hour file: each is a 12-byte header (length at 8), iv, ciphertext, tag. */
function frameOffsets(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let at = 0; at < bytes.length; at += 12 + 12 + bytes.readUInt32BE(at + 8) + 16) out.push(at);
  return out;
}

const flips = {
  'a byte of its ciphertext': (frame: number) => frame + 12 + 12 + 5,
  'its length field': (frame: number) => frame + 9,
};

for (const [where, offsetIn] of Object.entries(flips)) {
  test(`a frame changed in ${where}: verify fails naming it, a restart keeps the other frames and says which was lost`, async () => {
    const { server, file, relative } = await openHourOf(5);
    let again: AuditTestServer | undefined;
    try {
      const bytes = readFileSync(file);
      const frames = frameOffsets(bytes);
      assert.equal(frames.length, 5);
      const at = offsetIn(frames[2] as number);
      bytes[at] = (bytes[at] as number) ^ 0x40;
      writeFileSync(file, bytes);

      const root = server.openRoot();
      try {
        const result = await verifyDataDir(server.dataDir, root);
        assert.equal(result.ok, false);
        assert.equal(result.problems.length, 1, JSON.stringify(result.problems));
        assert.equal(result.problems[0]?.kind, 'modified');
        assert.equal(result.problems[0]?.file, relative);
        assert.match(result.problems[0]?.detail ?? '', /lost frame 2 \(bytes \d+-\d+\)/);
      } finally {
        root.destroy();
      }
      const cli = await sealdb('verify', '--data-dir', server.dataDir, '--root-key-file', server.rootKeyFile);
      assert.equal(cli.code, 1, cli.out);
      assert.ok(cli.out.includes(relative), cli.out);
      // Reading the trail offline shows every intact record and says what it could not read.
      const lookup = await sealdb(
        'lookup',
        '--data-dir',
        server.dataDir,
        '--root-key-file',
        server.rootKeyFile,
        '--json',
      );
      assert.equal(lookup.code, 0);
      assert.equal(lookup.out.split('\n').filter((l) => l.startsWith('{')).length, 4, lookup.out);
      assert.ok(lookup.out.includes(`open hour file ${relative} is damaged: frame 2`), lookup.out);

      again = await startAuditServer({ reuse: server });
      const { Events } = await again.trailClient().send(new LookupEventsCommand({}));
      assert.equal(Events?.length, 4, 'every frame that authenticates is kept');
      assert.equal(again.warnings.length, 1, again.warnings.join('\n'));
      assert.match(again.warnings[0] as string, /lost frame 2 \(bytes \d+-\d+\); kept its 4 intact record\(s\)/);
      assert.ok((again.warnings[0] as string).includes(relative));
      // Appending goes on after the recovered frames.
      await again.kmsClient().send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
      assert.equal((await again.trailClient().send(new LookupEventsCommand({}))).Events?.length, 5);

      // The damaged copy stays reported until the operator removes it; the open hour itself is clean.
      const check = again.openRoot();
      try {
        const result = await verifyDataDir(again.dataDir, check);
        assert.equal(result.ok, false);
        assert.deepEqual(
          result.problems.map((p) => p.kind),
          ['modified'],
        );
        assert.ok(result.problems[0]?.file.startsWith(`${relative}.damaged-`), result.problems[0]?.file);
        assert.match(result.problems[0]?.detail ?? '', /set aside after damage \(lost frame 2/);
      } finally {
        check.destroy();
      }
    } finally {
      await again?.close();
      await server.cleanup();
    }
  });
}

test('a damaged open hour found while closing it: its intact records become the log file, the rest is reported', async () => {
  const { server, file } = await openHourOf(4);
  // 4 records, then one more after the restart; frame 1 is damaged.
  let again: AuditTestServer | undefined;
  try {
    again = await startAuditServer({ reuse: server });
    // The server opens the hour (lazily, on its first call), then the file is damaged under it.
    await again.kmsClient().send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
    const bytes = readFileSync(file);
    const at = (frameOffsets(bytes)[1] as number) + 30;
    bytes[at] = (bytes[at] as number) ^ 1;
    writeFileSync(file, bytes);
    const { Events } = await again.trailClient().send(new LookupEventsCommand({}));
    assert.equal(Events?.length, 4, 'the lookup skips the damaged record');
    assert.ok(
      again.warnings.some((w) => /position 1 no longer authenticates/.test(w)),
      again.warnings.join('\n'),
    );
    again.clock.advance(HOUR_MS);
    await again.sweep();
    assert.ok(
      again.warnings.some((w) => /lost frame 1 \(bytes/.test(w)),
      again.warnings.join('\n'),
    );
    assert.equal((await again.trailClient().send(new LookupEventsCommand({}))).Events?.length, 4);
    const root = again.openRoot();
    try {
      const result = await verifyDataDir(again.dataDir, root);
      assert.deepEqual(
        result.problems.map((p) => p.kind),
        ['modified'],
      );
      assert.match(result.problems[0]?.file ?? '', /\.frames\.damaged-\d+$/);
    } finally {
      root.destroy();
    }
  } finally {
    await again?.close();
    await server.cleanup();
  }
});

test('export carries the open hour up to now, marked as not yet digested', async () => {
  const { server } = await openHourOf(3);
  try {
    const out = join(server.scratch, 'export');
    const root = server.openRoot();
    try {
      await exportTrail(server.dataDir, root, out);
    } finally {
      root.destroy();
    }
    const manifestPath = join(out, 'not-yet-digested', 'manifest.json');
    assert.ok(existsSync(manifestPath), 'the open hour is exported');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    assert.match(manifest.note, /no digest/);
    assert.equal(manifest.hours.length, 1);
    assert.equal(manifest.hours[0].records, 3);
    const [log] = manifest.hours[0].logFiles as string[];
    const content = JSON.parse(
      gunzipSync(readFileSync(join(out, 'not-yet-digested', ...(log as string).split('/')))).toString(),
    );
    assert.deepEqual(
      content.Records.map((r: { eventName: string }) => r.eventName),
      ['GenerateRandom', 'GenerateRandom', 'GenerateRandom'],
    );
    // The digested tree beside it still verifies with the public key alone.
    assert.equal((await verifyExport(out)).ok, true);
  } finally {
    await server.cleanup();
  }
});
