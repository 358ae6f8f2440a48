/**
 * Part 6, soak: mixed load on a real `sealdb start` with connection churn (keep-alive clients
 * replaced every few seconds, and one client that opens a connection per request, so table keys
 * are fetched again and again), sampling the server's RSS, open descriptors and latency. Passes
 * when RSS stays under the stated bound, no descriptor leaks once the clients are gone, and the
 * last minute's p99 is within a factor of the first's. Run beside the other parts (the suite's
 * default, to keep it within its 15 minutes), its first minutes share the two cores with them: the
 * latency baseline is then the first whole minute after they finished (`othersDone`), so that a
 * slower last minute still means the server itself slowed down.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';
import { CREDENTIALS, ddbClient, errorText, type Failure, type Log, type PartResult, Rng, sleep } from './common.js';
import { openFds, rssMiB } from './hostile-http.js';

export interface SoakOptions {
  readonly seed: number;
  readonly durationMs: number;
  /** Settles when the parts running beside the soak have finished (absent: it runs alone). */
  readonly othersDone?: Promise<void>;
  readonly log?: Log;
}

/** The bound stated in the README: the server's resident memory during the soak. */
export const SOAK_RSS_BOUND_MIB = 512;
/** The last minute's p99 may be at most this many times the first's (plus a few ms of noise). */
const P99_FACTOR = 3;
const P99_SLACK_MS = 25;
const KEYS = 4000;

const p99 = (values: number[]) => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] as number;
};

export async function runSoak(options: SoakOptions): Promise<PartResult> {
  const started = Date.now();
  const part = 'soak';
  const log = options.log ?? (() => {});
  const rng = new Rng(options.seed);
  const failures: Failure[] = [];
  const fail = (where: string, detail: string) => failures.push({ part, seed: options.seed, where, detail });
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-soak-'));
  let server: SealdbProcess | undefined;
  const figures: Record<string, number | string | boolean> = {};
  let ops = 0;
  let errors = 0;
  try {
    server = await startSealdbProcess([
      '--data-dir',
      join(scratch, 'data'),
      '--root-key-file',
      join(scratch, 'root.key'),
    ]);
    const pid = server.child.pid as number;
    const endpoint = server.endpoint;
    const setup = ddbClient(endpoint, 2);
    const kms = new KMSClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId as string;
    await setup.send(
      new CreateTableCommand({
        TableName: 'Soak',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId },
      }),
    );
    setup.destroy();
    const fdStart = openFds(pid);
    const rssStart = rssMiB(pid);
    const deadline = Date.now() + options.durationMs;
    const minuteMs = Math.min(60_000, Math.max(5000, Math.floor(options.durationMs / 5)));
    const latencies = new Map<number, number[]>();
    let othersDoneAt: number | undefined;
    void options.othersDone?.then(() => {
      othersDoneAt = Date.now();
    });
    let maxRss = rssStart;
    let maxFds = fdStart;
    const clients: DynamoDBClient[] = Array.from({ length: 4 }, () => ddbClient(endpoint, 4));
    const perRequest = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: false, maxSockets: 1 }) }),
    });
    const item = (r: Rng) => ({
      pk: { S: `p${r.int(0, KEYS / 20 - 1)}` },
      sk: { N: String(r.int(0, 19)) },
      body: { S: 'b'.repeat(r.int(10, 800)) },
    });
    const oneOp = async (r: Rng, client: DynamoDBClient) => {
      const kind = r.int(0, 99);
      if (kind < 45)
        await client.send(new GetItemCommand({ TableName: 'Soak', Key: { pk: item(r).pk, sk: item(r).sk } }));
      else if (kind < 70) await client.send(new PutItemCommand({ TableName: 'Soak', Item: item(r) }));
      else if (kind < 80) {
        await client.send(
          new QueryCommand({
            TableName: 'Soak',
            KeyConditionExpression: 'pk = :p',
            ExpressionAttributeValues: { ':p': item(r).pk },
            Limit: 10,
          }),
        );
      } else if (kind < 92) {
        await client.send(
          new UpdateItemCommand({
            TableName: 'Soak',
            Key: { pk: item(r).pk, sk: item(r).sk },
            UpdateExpression: 'ADD hits :one',
            ExpressionAttributeValues: { ':one': { N: '1' } },
          }),
        );
      } else if (kind < 98) {
        const seen = new Set<string>();
        const puts = Array.from({ length: 10 }, () => item(r)).filter((i) => {
          const k = `${i.pk.S}/${i.sk.N}`;
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
        await client.send(
          new BatchWriteItemCommand({ RequestItems: { Soak: puts.map((Item) => ({ PutRequest: { Item } })) } }),
        );
      } else await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    };
    const worker = async (w: number) => {
      const r = rng.fork();
      while (Date.now() < deadline) {
        const client = w === 0 ? perRequest : (clients[w % clients.length] as DynamoDBClient);
        const t0 = performance.now();
        try {
          await oneOp(r, client);
          ops++;
          const minute = Math.floor((Date.now() - started) / minuteMs);
          let bucket = latencies.get(minute);
          if (!bucket) {
            bucket = [];
            latencies.set(minute, bucket);
          }
          bucket.push(performance.now() - t0);
        } catch (error) {
          // A client being replaced under a request may fail it; anything else is a failure.
          if (!String(errorText(error)).match(/destroyed|socket hang up|ECONNRESET/)) {
            errors++;
            if (errors <= 5) fail('load', errorText(error));
          }
        }
      }
    };
    const churn = (async () => {
      while (Date.now() < deadline) {
        await sleep(2000);
        const at = rng.int(0, clients.length - 1);
        const old = clients[at] as DynamoDBClient;
        clients[at] = ddbClient(endpoint, 4);
        setTimeout(() => old.destroy(), 1000);
      }
    })();
    const sampler = (async () => {
      let lastLog = Date.now();
      while (Date.now() < deadline) {
        await sleep(2000);
        if (server?.child.exitCode !== null) return;
        maxRss = Math.max(maxRss, rssMiB(pid));
        maxFds = Math.max(maxFds, openFds(pid));
        if (Date.now() - lastLog > 60_000) {
          lastLog = Date.now();
          log(`soak: ${ops} ops, RSS ${Math.round(rssMiB(pid))} MiB, ${openFds(pid)} fds`);
        }
      }
    })();
    await Promise.all([...Array.from({ length: 8 }, (_, w) => worker(w)), churn, sampler]);
    for (const c of clients) c.destroy();
    perRequest.destroy();
    kms.destroy();
    await sleep(3000);
    const fdEnd = openFds(pid);
    const minutes = [...latencies.keys()].sort((x, y) => x - y);
    // The first and last full windows (the last one may be cut short by the deadline).
    const first = p99(latencies.get(minutes[0] as number) ?? []);
    const lastKey = minutes.length > 2 ? (minutes.at(-2) as number) : (minutes.at(-1) as number);
    const last = p99(latencies.get(lastKey) ?? []);
    // The baseline: the first window that began once the other parts were done, if one came
    // before the last; else the first (alone, or the others outlasted the soak).
    const quietKey = othersDoneAt === undefined ? undefined : Math.ceil((othersDoneAt - started) / minuteMs);
    const baselineKey = quietKey !== undefined && quietKey < lastKey ? quietKey : (minutes[0] as number);
    const baseline = p99(latencies.get(baselineKey) ?? []);
    Object.assign(figures, {
      durationS: Math.round(options.durationMs / 1000),
      windowS: Math.round(minuteMs / 1000),
      ops,
      errors,
      opsPerSecond: Math.round(ops / (options.durationMs / 1000)),
      rssStartMiB: Math.round(rssStart),
      rssMaxMiB: Math.round(maxRss),
      rssBoundMiB: SOAK_RSS_BOUND_MIB,
      fdStart,
      fdMax: maxFds,
      fdEnd,
      p99FirstWindowMs: Math.round(first * 10) / 10,
      p99LastWindowMs: Math.round(last * 10) / 10,
      ...(othersDoneAt !== undefined ? { othersDoneAtS: Math.round((othersDoneAt - started) / 1000) } : {}),
      p99BaselineWindow: baselineKey,
      p99BaselineWindowMs: Math.round(baseline * 10) / 10,
    });
    if (maxRss > SOAK_RSS_BOUND_MIB)
      fail('memory', `RSS reached ${Math.round(maxRss)} MiB (bound ${SOAK_RSS_BOUND_MIB})`);
    if (fdEnd > fdStart + 10) fail('file descriptors', `${fdStart} at the start, ${fdEnd} after the clients left`);
    if (last > baseline * P99_FACTOR + P99_SLACK_MS) {
      fail(
        'latency',
        `p99 ${last.toFixed(1)} ms in the last window, ${baseline.toFixed(1)} ms in window ${baselineKey} (the baseline)`,
      );
    }
    if (server.child.exitCode !== null) fail('server', 'the server exited during the soak');
    await server.stop('SIGTERM');
  } catch (error) {
    fail('run', `soak stopped: ${errorText(error)}`);
  } finally {
    if (server && server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
    rmSync(scratch, { recursive: true, force: true });
  }
  return { part, seed: options.seed, cases: ops, durationMs: Date.now() - started, figures, failures };
}
