#!/usr/bin/env node
// Audit trail soak (issue 12, item 5): runs the real `sealdb start` with a data directory, makes
// many KMS calls over keep-alive HTTP (each one is audited and fsync'd), and reports the server's
// RSS before, during and after, plus LookupEvents times over the hour that holds them all.
// Not part of `npm test`. Usage: npm run soak:audit [-- --calls 200000 --concurrency 32]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateKeyCommand, EncryptCommand, GenerateRandomCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    calls: { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '32' },
  },
});
const CALLS = Number(opts.calls);
const CONCURRENCY = Number(opts.concurrency);

const scratch = mkdtempSync(path.join(tmpdir(), 'sealdb-soak-audit-'));
const child = spawn(
  process.execPath,
  [
    path.join(repo, 'dist/src/cli/main.js'),
    'start',
    '--port',
    '0',
    '--data-dir',
    path.join(scratch, 'data'),
    '--root-key-file',
    path.join(scratch, 'root.key'),
    '--auth',
    'local',
  ],
  { stdio: ['ignore', 'pipe', 'pipe'] },
);
let output = '';
child.stdout.on('data', (d) => {
  output += d;
});
child.stderr.on('data', (d) => {
  output += d;
});

function rssMb() {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

try {
  const endpoint = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sealdb did not start:\n${output}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)[\s\S]*\nauth: /.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`sealdb exited with ${code}:\n${output}`)));
  });
  const config = {
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }) }),
  };
  const kms = new KMSClient(config);
  const trail = new CloudTrailClient(config);
  const key = await kms.send(new CreateKeyCommand({}));
  await new Promise((r) => setTimeout(r, 500));
  const samples = [{ calls: 0, rssMb: rssMb() }];
  console.log(
    `server pid ${child.pid}, RSS before: ${samples[0].rssMb} MB; ${CALLS} KMS calls, ${CONCURRENCY} at a time`,
  );
  const started = Date.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < CALLS) {
      const i = next++;
      // Mostly GenerateRandom, some Encrypt with a context, so records vary.
      if (i % 4 === 0) {
        await kms.send(
          new EncryptCommand({
            KeyId: key.KeyMetadata.KeyId,
            Plaintext: Buffer.from('x'),
            EncryptionContext: { n: String(i) },
          }),
        );
      } else await kms.send(new GenerateRandomCommand({ NumberOfBytes: 16 }));
      done++;
      if (done % 20000 === 0) {
        samples.push({ calls: done, rssMb: rssMb() });
        console.log(
          `${done} calls, ${Math.round(done / ((Date.now() - started) / 1000))}/s, server RSS ${samples.at(-1).rssMb} MB`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (Date.now() - started) / 1000;
  const timed = async (label, input) => {
    const t = Date.now();
    const out = await trail.send(new LookupEventsCommand(input));
    const ms = Date.now() - t;
    console.log(`LookupEvents ${label}: ${out.Events?.length ?? 0} event(s) in ${ms} ms`);
    return { label, events: out.Events?.length ?? 0, ms };
  };
  const lookups = [
    await timed('newest page', {}),
    await timed('EventName=Encrypt', { LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Encrypt' }] }),
    await timed('EventName=Decrypt (no match: scans the whole hour)', {
      LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: 'Decrypt' }],
    }),
  ];
  await new Promise((r) => setTimeout(r, 2000));
  const after = rssMb();
  console.log(
    JSON.stringify(
      {
        calls: CALLS,
        seconds: Math.round(seconds),
        perSecond: Math.round(CALLS / seconds),
        rssBeforeMb: samples[0].rssMb,
        rssAfterMb: after,
        samples,
        lookups,
      },
      null,
      2,
    ),
  );
  kms.destroy();
  trail.destroy();
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(scratch, { recursive: true, force: true });
}
