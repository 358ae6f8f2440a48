/**
 * Part 1, crash loop: kill -9 a real `sealdb start` at a random moment under concurrent writes
 * (PutItem, DeleteItem, UpdateItem ADD, BatchWriteItem, TransactWriteItems over two tables, a
 * table with a GSI and a stream, KMS calls that are audited), restart it, and check against a
 * journal of what was acknowledged: every acknowledged write is there, nothing unacknowledged is
 * half applied, counters equal their acknowledged increments (plus at most those in flight),
 * the index and the streams agree with the base tables, and `sealdb audit verify` passes.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient, ListStreamsCommand } from '@aws-sdk/client-dynamodb-streams';
import { CreateKeyCommand, GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { verifyDataDir } from '../../src/cloudtrail/offline.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';
import { readStream } from '../streams/stream-helpers.js';
import {
  CREDENTIALS,
  canonical,
  ddbClient,
  errorText,
  type Failure,
  type Log,
  type PartResult,
  Rng,
  scanAll,
  sleep,
} from './common.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = promisify(execFile);

export interface CrashLoopOptions {
  readonly seed: number;
  readonly cycles: number;
  readonly durability: 'process' | 'fsync';
  readonly workers?: number;
  /** Range of real milliseconds of load before each kill. */
  readonly loadMs?: readonly [number, number];
  readonly log?: Log;
}

const KEYS_PER_WORKER = 24;
const COUNTERS = 8;

/** What one key of `Items` went through: its states in order, and how many of them were acknowledged. */
interface KeyHistory {
  /** canonical item, or null for absent; [0] is the state known at the last check. */
  states: (string | null)[];
  acked: number;
}

interface Journal {
  items: Map<string, KeyHistory>;
  counters: Map<string, { acked: number; inFlight: number }>;
  /** Transaction numbers: acknowledged, and attempted without an answer. */
  txAcked: Set<number>;
  txAttempted: Set<number>;
  nextTx: number;
  nextVersion: number;
  ackedOps: number;
  kmsAcked: number;
}

const table = (TableName: string, extra: Record<string, unknown> = {}) =>
  new CreateTableCommand({
    TableName,
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }, ...((extra.defs as []) ?? [])],
    KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    ...(extra.rest as object),
  });

async function createTables(ddb: DynamoDBClient, kms: KMSClient): Promise<string> {
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'crash loop' }))).KeyMetadata?.KeyId as string;
  const sse = { SSESpecification: { Enabled: true, SSEType: 'KMS' as const, KMSMasterKeyId: keyId } };
  await ddb.send(table('Counters', { rest: sse }));
  await ddb.send(
    table('Items', {
      defs: [
        { AttributeName: 'grp', AttributeType: 'S' },
        { AttributeName: 'seq', AttributeType: 'N' },
      ],
      rest: {
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byGroup',
            KeySchema: [
              { AttributeName: 'grp', KeyType: 'HASH' },
              { AttributeName: 'seq', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        ...sse,
      },
    }),
  );
  await ddb.send(
    table('Orders', { rest: { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } }),
  );
  await ddb.send(table('Ledger'));
  return keyId;
}

type Item = Record<string, AttributeValue>;

/** One worker's writes; it owns its `Items` keys, so their order is the order it sends them. */
async function worker(
  w: number,
  rng: Rng,
  ddb: DynamoDBClient,
  kms: KMSClient,
  keyId: string,
  journal: Journal,
  state: { killed: boolean },
  refused: (detail: string) => void,
): Promise<void> {
  const ownKey = () => `k${w}-${rng.int(0, KEYS_PER_WORKER - 1)}`;
  const history = (id: string): KeyHistory => {
    let h = journal.items.get(id);
    if (!h) {
      h = { states: [null], acked: 1 };
      journal.items.set(id, h);
    }
    return h;
  };
  const newItem = (id: string): Item => {
    const v = journal.nextVersion++;
    const item: Item = { id: { S: id }, v: { N: String(v) }, pad: { S: 'p'.repeat(rng.int(0, 300)) } };
    if (rng.next() < 0.8) {
      item.grp = { S: `g${rng.int(0, 3)}` };
      item.seq = { N: String(v) };
    }
    return item;
  };
  while (!state.killed) {
    const kind = rng.int(0, 99);
    try {
      if (kind < 30) {
        const id = ownKey();
        const item = newItem(id);
        const h = history(id);
        h.states.push(canonical(item));
        await ddb.send(new PutItemCommand({ TableName: 'Items', Item: item }));
        h.acked = h.states.length;
      } else if (kind < 38) {
        const id = ownKey();
        const h = history(id);
        h.states.push(null);
        await ddb.send(new DeleteItemCommand({ TableName: 'Items', Key: { id: { S: id } } }));
        h.acked = h.states.length;
      } else if (kind < 58) {
        const id = `c${rng.int(0, COUNTERS - 1)}`;
        const by = rng.int(1, 9);
        let c = journal.counters.get(id);
        if (!c) {
          c = { acked: 0, inFlight: 0 };
          journal.counters.set(id, c);
        }
        c.inFlight += by;
        await ddb.send(
          new UpdateItemCommand({
            TableName: 'Counters',
            Key: { id: { S: id } },
            UpdateExpression: 'ADD n :by',
            ExpressionAttributeValues: { ':by': { N: String(by) } },
          }),
        );
        c.inFlight -= by;
        c.acked += by;
      } else if (kind < 75) {
        const ids = [...new Set(Array.from({ length: rng.int(2, 12) }, ownKey))];
        const puts = ids.map((id) => ({ id, item: newItem(id) }));
        for (const p of puts) history(p.id).states.push(canonical(p.item));
        const out = await ddb.send(
          new BatchWriteItemCommand({ RequestItems: { Items: puts.map((p) => ({ PutRequest: { Item: p.item } })) } }),
        );
        const unprocessed = new Set(
          (out.UnprocessedItems?.Items ?? []).map((r) => r.PutRequest?.Item?.id?.S as string),
        );
        for (const p of puts) {
          const h = history(p.id);
          if (unprocessed.has(p.id)) h.states.pop();
          else h.acked = h.states.length;
        }
      } else if (kind < 95) {
        const n = journal.nextTx++;
        journal.txAttempted.add(n);
        const order: Item = { id: { S: `o${n}` }, n: { N: String(n) }, by: { N: String(w) } };
        await ddb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: 'Orders', Item: order } },
              { Put: { TableName: 'Ledger', Item: { ...order, amount: { N: String(rng.int(1, 999)) } } } },
              {
                Update: {
                  TableName: 'Counters',
                  Key: { id: { S: 'tx' } },
                  UpdateExpression: 'ADD n :one',
                  ExpressionAttributeValues: { ':one': { N: '1' } },
                },
              },
            ],
          }),
        );
        journal.txAcked.add(n);
      } else {
        await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
        journal.kmsAcked++;
      }
      journal.ackedOps++;
    } catch (error) {
      if (state.killed) return;
      refused(`worker ${w}, op kind ${kind}: ${errorText(error)}`);
      await sleep(20);
    }
  }
}

interface CheckOutcome {
  lostWrites: number;
  problems: string[];
}

/** Compares the restarted server with the journal, then makes what it found the new base line. */
async function check(ddb: DynamoDBClient, streams: DynamoDBStreamsClient, journal: Journal): Promise<CheckOutcome> {
  const problems: string[] = [];
  let lostWrites = 0;
  const base = new Map((await scanAll(ddb, 'Items')).map((i) => [i.id?.S as string, i]));
  for (const [id, h] of journal.items) {
    const found = base.get(id);
    const now = found ? canonical(found) : null;
    const at = h.states.lastIndexOf(now);
    if (at < 0) problems.push(`Items ${id} holds ${now}, which was never written`);
    else if (at < h.acked - 1) {
      lostWrites++;
      problems.push(`Items ${id}: acknowledged state ${h.states[h.acked - 1]} lost, found ${now}`);
    }
    h.states = [now];
    h.acked = 1;
  }
  for (const id of base.keys()) if (!journal.items.has(id)) problems.push(`Items ${id} was never written`);

  // The index holds exactly the base items that have its key attributes.
  const indexed = (await scanAll(ddb, 'Items', 'byGroup')).map(canonical).sort();
  const expected = [...base.values()]
    .filter((i) => i.grp && i.seq)
    .map(canonical)
    .sort();
  if (indexed.join('\n') !== expected.join('\n')) {
    const a = new Set(indexed);
    const b = new Set(expected);
    problems.push(
      `index byGroup disagrees with Items: ${indexed.filter((x) => !b.has(x)).length} extra, ${expected.filter((x) => !a.has(x)).length} missing`,
    );
  }

  const counters = new Map((await scanAll(ddb, 'Counters')).map((i) => [i.id?.S as string, Number(i.n?.N ?? 0)]));
  for (const [id, c] of journal.counters) {
    const value = counters.get(id) ?? 0;
    if (value < c.acked) {
      lostWrites++;
      problems.push(`counter ${id} = ${value}, below its acknowledged ${c.acked}`);
    } else if (value > c.acked + c.inFlight) {
      problems.push(`counter ${id} = ${value}, above acknowledged ${c.acked} + in flight ${c.inFlight}`);
    }
    c.acked = value;
    c.inFlight = 0;
  }

  const orders = new Set((await scanAll(ddb, 'Orders')).map((i) => Number(String(i.id?.S).slice(1))));
  const ledger = new Set((await scanAll(ddb, 'Ledger')).map((i) => Number(String(i.id?.S).slice(1))));
  for (const n of journal.txAcked) {
    if (!orders.has(n) || !ledger.has(n)) {
      lostWrites++;
      problems.push(`acknowledged transaction ${n} lost (Orders ${orders.has(n)}, Ledger ${ledger.has(n)})`);
    }
  }
  for (const n of orders) if (!ledger.has(n)) problems.push(`transaction ${n} half applied: in Orders only`);
  for (const n of ledger) if (!orders.has(n)) problems.push(`transaction ${n} half applied: in Ledger only`);
  for (const n of orders) if (!journal.txAttempted.has(n)) problems.push(`transaction ${n} was never sent`);
  const txCounter = counters.get('tx') ?? 0;
  if (txCounter !== orders.size) problems.push(`tx counter ${txCounter} but ${orders.size} orders`);
  journal.txAcked = new Set(orders);
  journal.txAttempted = new Set(orders);

  // Each stream, folded key by key, ends where its table is.
  for (const [TableName, rows] of [
    ['Items', base],
    ['Orders', null],
  ] as const) {
    const arn = (await streams.send(new ListStreamsCommand({ TableName }))).Streams?.[0]?.StreamArn;
    if (!arn) {
      problems.push(`no stream for ${TableName}`);
      continue;
    }
    const last = new Map<string, string | null>();
    for (const r of await readStream(streams, arn)) {
      const id = r.dynamodb?.Keys?.id?.S as string;
      last.set(id, r.eventName === 'REMOVE' ? null : canonical(r.dynamodb?.NewImage));
    }
    const now = rows ?? new Map((await scanAll(ddb, TableName)).map((i) => [i.id?.S as string, i]));
    let disagree = 0;
    for (const [id, item] of now) if (last.get(id) !== canonical(item)) disagree++;
    for (const [id, image] of last) if (image !== null && !now.has(id)) disagree++;
    if (disagree > 0) problems.push(`stream of ${TableName} disagrees with the table on ${disagree} key(s)`);
  }
  return { lostWrites, problems };
}

export async function runCrashLoop(options: CrashLoopOptions): Promise<PartResult> {
  const started = Date.now();
  const part = `crash-loop/${options.durability}`;
  const log = options.log ?? (() => {});
  const rng = new Rng(options.seed);
  const failures: Failure[] = [];
  const fail = (where: string, detail: string) => failures.push({ part, seed: options.seed, where, detail });
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-crashloop-'));
  const dataDir = join(scratch, 'data');
  const rootKey = join(scratch, 'root.key');
  const args = ['--data-dir', dataDir, '--root-key-file', rootKey, '--durability', options.durability];
  const [loadMin, loadMax] = options.loadMs ?? [300, 1500];
  const journal: Journal = {
    items: new Map(),
    counters: new Map(),
    txAcked: new Set(),
    txAttempted: new Set(),
    nextTx: 0,
    nextVersion: 1,
    ackedOps: 0,
    kmsAcked: 0,
  };
  const restartMs: number[] = [];
  const verifyMs: number[] = [];
  let lostWrites = 0;
  let server: SealdbProcess | undefined;
  const clients = (endpoint: string) => ({
    ddb: ddbClient(endpoint),
    kms: new KMSClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 }),
    streams: new DynamoDBStreamsClient({ endpoint, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 }),
  });
  try {
    server = await startSealdbProcess(args);
    let c = clients(server.endpoint);
    const keyId = await createTables(c.ddb, c.kms);
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      const loadFor = rng.int(loadMin, loadMax);
      const workers = options.workers ?? 6;
      const state = { killed: false };
      const tasks = Array.from({ length: workers }, (_, w) =>
        worker(w, rng.fork(), c.ddb, c.kms, keyId, journal, state, (d) => fail(`cycle ${cycle}`, `refused: ${d}`)),
      );
      await sleep(loadFor);
      state.killed = true;
      await server.stop('SIGKILL');
      await Promise.all(tasks);
      for (const client of Object.values(c)) client.destroy();

      // The trail as the crash left it must verify: by `sealdb audit verify` itself in the last
      // cycle, by the function it runs in the others (a node start that loads all of sealdb for
      // each of 40 checks was a tenth of the part's CPU).
      const v0 = Date.now();
      if (cycle === options.cycles) {
        try {
          await run(process.execPath, [CLI, 'audit', 'verify', '--data-dir', dataDir, '--root-key-file', rootKey]);
        } catch (error) {
          const out = error as { stdout?: string; stderr?: string };
          fail(`cycle ${cycle}`, `sealdb audit verify failed: ${out.stdout ?? ''}${out.stderr ?? errorText(error)}`);
        }
      } else {
        const root = RootOfTrust.open({ kind: 'key-file', path: rootKey }, dataDir);
        try {
          const verdict = await verifyDataDir(dataDir, root);
          if (!verdict.ok) {
            const problems = verdict.problems.map((p) => `${p.kind} ${p.file}: ${p.detail}`).join('; ');
            fail(`cycle ${cycle}`, `audit verify failed: ${problems}`);
          }
        } catch (error) {
          fail(`cycle ${cycle}`, `audit verify failed: ${errorText(error)}`);
        } finally {
          root.destroy();
        }
      }
      verifyMs.push(Date.now() - v0);

      const t0 = Date.now();
      server = await startSealdbProcess(args);
      c = clients(server.endpoint);
      restartMs.push(Date.now() - t0);
      const outcome = await check(c.ddb, c.streams, journal);
      lostWrites += outcome.lostWrites;
      for (const p of outcome.problems) fail(`cycle ${cycle}`, p);
      log(
        `${part} cycle ${cycle}/${options.cycles}: killed after ${loadFor} ms, ${journal.ackedOps} ops acknowledged so far, restart ${restartMs.at(-1)} ms, ${outcome.problems.length} problem(s)`,
      );
    }
    for (const client of Object.values(c)) client.destroy();
    await server.stop('SIGTERM');
  } catch (error) {
    fail(
      'run',
      `crash loop stopped: ${errorText(error)}${server ? `\nserver output:\n${server.output().slice(-2000)}` : ''}`,
    );
    if (server && server.child.exitCode === null && server.child.signalCode === null) await server.stop('SIGKILL');
  } finally {
    // A server that was still starting when the run stopped may write a moment longer: the
    // failure above must still be reported, so a directory that will not go is left behind.
    try {
      rmSync(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
    } catch (error) {
      fail('cleanup', `could not remove ${scratch}: ${errorText(error)}`);
    }
  }
  const sorted = [...restartMs].sort((a, b) => a - b);
  return {
    part,
    seed: options.seed,
    cases: options.cycles,
    durationMs: Date.now() - started,
    figures: {
      cycles: options.cycles,
      durability: options.durability,
      acknowledgedOps: journal.ackedOps,
      acknowledgedTransactions: journal.txAcked.size,
      acknowledgedKmsCalls: journal.kmsAcked,
      lostWrites,
      restartMsMedian: sorted[Math.floor(sorted.length / 2)] ?? 0,
      restartMsMax: sorted.at(-1) ?? 0,
      auditVerifyMsMax: Math.max(0, ...verifyMs),
    },
    failures,
  };
}
