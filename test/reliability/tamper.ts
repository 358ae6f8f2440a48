/**
 * Part 2, tamper: every kind of file sealdb writes (table files with their stream and index data,
 * their write-ahead logs and commit records, the catalog, the KMS key store, the root check, the
 * audit trail's log files, digests, open hour and keys, backups and their catalog) is damaged on a
 * fresh copy of a data directory, one byte flipped or the file cut short at a random place, and a
 * server started on it. Each case must be detected (an error, a warning or `audit verify` naming
 * the file), must never answer wrong data, must never crash the server, and a damaged table must
 * leave the other tables serving.
 */
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import {
  BatchWriteItemCommand,
  CreateBackupCommand,
  CreateTableCommand,
  DeleteItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  EncryptCommand,
  KMSClient,
} from '@aws-sdk/client-kms';
import { verifyDataDir } from '../../src/cloudtrail/offline.js';
import { ManualClock } from '../../src/core/clock.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { LOCK_FILE } from '../../src/storage/data-dir-lock.js';
import { segmentFolder } from '../../src/storage/record-segments.js';
import { filesUnder } from '../helpers/files.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import {
  CREDENTIALS,
  canonical,
  ddbClient,
  errorText,
  type Failure,
  type Log,
  type PartResult,
  Rng,
} from './common.js';
import { AwsCallError, CLOUDTRAIL, DYNAMODB, DYNAMODB_STREAMS, KMS, WireClient } from './wire.js';

/** One damage: a byte of a file of `kind` flipped (XOR `mask`) at `at`, or the file cut to `at` bytes. */
export interface TamperCase {
  readonly kind: string;
  readonly mode: 'flip' | 'truncate';
  readonly at: number;
  readonly mask?: number;
}

export interface TamperOptions {
  readonly seed: number;
  /** Flips and cuts per file kind (each): 50 in the full run. */
  readonly placesPerKind: number;
  /** Only these kinds (default: all). */
  readonly kinds?: readonly string[];
  /** Cases to run besides the random ones (regression cases found by earlier seeds). */
  readonly extraCases?: readonly TamperCase[];
  /**
   * Cases run at a time, each with its own copy and server (default 4): a case mostly waits
   * (startup, the reads, the shutdown), so a few at once take a fraction of the time.
   */
  readonly concurrency?: number;
  readonly log?: Log;
}

const HOUR = 3600_000;
const DEFAULT_CONCURRENCY = 4;

/** Runs `fn` over `items`, at most `limit` at a time, in order of start. */
async function inPool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/** A kind of file: which golden directory it is taken from and how to find it there. */
interface FileKind {
  readonly kind: string;
  readonly from: 'clean' | 'crashed';
  readonly find: (files: readonly string[], golden: Golden) => string | undefined;
  /** What reading this kind takes beyond the table and key reads every case makes. */
  readonly reads: readonly ('restore' | 'trail')[];
}

interface Golden {
  readonly dir: string;
  readonly rootKeyFile: string;
  readonly alphaFile: string;
  readonly ciphertext: Uint8Array;
  readonly now: number;
}

const endsWith = (suffix: string) => (files: readonly string[]) => files.find((f) => f.endsWith(suffix));
const alpha =
  (suffix = '') =>
  (files: readonly string[], g: Golden) =>
    files.find((f) => f === `${g.alphaFile}${suffix}`);

export const FILE_KINDS: readonly FileKind[] = [
  // Free pages (of deleted and moved rows) are never read by SQLite: the full page check at open
  // (src/storage/page-auth.ts) authenticates them (7 of 100 flips went unreported before it).
  { kind: 'table file', from: 'clean', find: alpha(), reads: [] },
  { kind: 'table write-ahead log', from: 'crashed', find: alpha('-wal'), reads: [] },
  // Verified byte for byte at open (src/storage/commit-counter.ts): 100 of 100 went unreported before.
  { kind: 'table commit record', from: 'crashed', find: alpha('-commits'), reads: [] },
  // The bodies of the stream's records, sealed per chunk outside the table file
  // (src/storage/record-segments.ts): authenticated as the stream is read.
  {
    kind: 'table record segment',
    from: 'clean',
    find: (files, g) => files.find((f) => f.startsWith(`${segmentFolder(g.alphaFile)}/`)),
    reads: [],
  },
  { kind: 'catalog', from: 'clean', find: endsWith('catalog.db'), reads: [] },
  { kind: 'catalog write-ahead log', from: 'crashed', find: endsWith('catalog.db-wal'), reads: [] },
  { kind: 'catalog key', from: 'clean', find: endsWith('catalog.key'), reads: [] },
  { kind: 'KMS key store', from: 'clean', find: endsWith('keystore.db'), reads: [] },
  { kind: 'KMS key store write-ahead log', from: 'crashed', find: endsWith('keystore.db-wal'), reads: [] },
  // Refused unless it is exactly the text sealdb writes (whitespace changes went unreported before).
  { kind: 'root check', from: 'clean', find: endsWith('root-check.json'), reads: [] },
  {
    kind: 'audit log file',
    from: 'clean',
    find: (f) => f.find((x) => x.includes('/CloudTrail/') && x.endsWith('.json.gz.enc')),
    reads: ['trail'],
  },
  {
    kind: 'audit digest',
    from: 'clean',
    find: (f) => f.find((x) => x.includes('/CloudTrail-Digest/')),
    reads: ['trail'],
  },
  { kind: 'audit open hour', from: 'crashed', find: endsWith('.frames'), reads: ['trail'] },
  { kind: 'audit signing key', from: 'clean', find: endsWith('signing-key.json'), reads: ['trail'] },
  { kind: 'audit public key', from: 'clean', find: endsWith('public-key.pem'), reads: ['trail'] },
  // The pages a restore does not read (index entries, stream records, free pages) are checked by
  // the full page check the restore waits for.
  {
    kind: 'backup file',
    from: 'clean',
    find: (f) => f.find((x) => x.includes('/backups/') && x.endsWith('.db')),
    reads: ['restore'],
  },
  { kind: 'backup catalog', from: 'clean', find: endsWith('backups.db'), reads: ['restore'] },
  { kind: 'backup catalog key', from: 'clean', find: endsWith('backups.key'), reads: ['restore'] },
];

const item = (id: string, n: number) => ({
  id: { S: id },
  n: { N: String(n) },
  grp: { S: `g${n % 3}` },
  body: { S: `${id}-${'z'.repeat(120 + (n % 7) * 40)}` },
  tags: { SS: [`t${n % 5}`, 'all'] },
});

/** Writes a data directory with something in every kind of file; `crashed` is a snapshot of it live. */
async function buildGolden(scratch: string): Promise<{ clean: Golden; crashed: Golden }> {
  const clock = new ManualClock();
  const before = process.env.SEALDB_TEST_PAUSE_CHECKPOINTS;
  // Everything stays in the logs, as right after the writes of a process that is then killed.
  process.env.SEALDB_TEST_PAUSE_CHECKPOINTS = '1';
  const server = await startTestServer({ scratch: join(scratch, 'golden'), clock });
  const ddb = ddbClient(server.endpoint, 4);
  const kms = new KMSClient(server.clientConfig());
  const keyId = (await kms.send(new CreateKeyCommand({ Description: 'tamper' }))).KeyMetadata?.KeyId as string;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/tamper', TargetKeyId: keyId }));
  await kms.send(
    new CreateGrantCommand({
      KeyId: keyId,
      GranteePrincipal: 'arn:aws:iam::000000000000:user/x',
      Operations: ['Decrypt'],
    }),
  );
  const alphaId = (
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Alpha',
        AttributeDefinitions: [
          { AttributeName: 'id', AttributeType: 'S' },
          { AttributeName: 'grp', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: 'byGrp',
            KeySchema: [
              { AttributeName: 'grp', KeyType: 'HASH' },
              { AttributeName: 'id', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        SSESpecification: { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: keyId },
      }),
    )
  ).TableDescription?.TableId as string;
  await ddb.send(
    new CreateTableCommand({
      TableName: 'Beta',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  const put = async (TableName: string, from: number, count: number) => {
    for (let n = from; n < from + count; n += 25) {
      const batch = Array.from({ length: Math.min(25, from + count - n) }, (_, i) => ({
        PutRequest: { Item: item(`${TableName[0]}${n + i}`, n + i) },
      }));
      await ddb.send(new BatchWriteItemCommand({ RequestItems: { [TableName]: batch } }));
    }
  };
  await put('Alpha', 0, 120);
  await put('Beta', 0, 30);
  for (let n = 0; n < 10; n++) {
    await ddb.send(
      new UpdateItemCommand({
        TableName: 'Alpha',
        Key: { id: { S: `A${n}` } },
        UpdateExpression: 'ADD n :d',
        ExpressionAttributeValues: { ':d': { N: '1000' } },
      }),
    );
    await ddb.send(new DeleteItemCommand({ TableName: 'Alpha', Key: { id: { S: `A${n + 50}` } } }));
  }
  const ciphertext = (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('tamper-probe') })))
    .CiphertextBlob as Uint8Array;
  await ddb.send(new CreateBackupCommand({ TableName: 'Alpha', BackupName: 'alpha-backup' }));
  // Close an hour of the trail (a log file and digests), then leave calls in the open hour.
  clock.advance(2 * HOUR);
  await server.sweep();
  await kms.send(new DescribeKeyCommand({ KeyId: 'alias/tamper' }));
  await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('open-hour') }));
  await put('Alpha', 200, 30);
  await ddb.send(
    new CreateTableCommand({
      TableName: 'Gamma',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await put('Gamma', 0, 5);
  await kms.send(new CreateKeyCommand({ Description: 'in the log' }));
  ddb.destroy();
  kms.destroy();
  const crashedDir = join(scratch, 'crashed');
  cpSync(server.dataDir, crashedDir, { recursive: true });
  rmSync(join(crashedDir, LOCK_FILE), { force: true });
  await server.close();
  if (before === undefined) delete process.env.SEALDB_TEST_PAUSE_CHECKPOINTS;
  else process.env.SEALDB_TEST_PAUSE_CHECKPOINTS = before;
  const alphaFile = (dir: string) => join(dir, 'tables', `${alphaId}.db`);
  const common = { rootKeyFile: server.rootKeyFile, ciphertext, now: clock.now() };
  return {
    clean: { dir: server.dataDir, alphaFile: alphaFile(server.dataDir), ...common },
    crashed: { dir: crashedDir, alphaFile: alphaFile(crashedDir), ...common },
  };
}

/** What a server on a (maybe damaged) copy answers: each read's canonical answer or its error. */
/** Wall time per probe read, summed over a run (where the probe's time goes). */
const readMs: Record<string, number> = {};

type Answers = Map<string, { ok: true; value: string } | { ok: false; error: string; status?: number }>;

type Item = Record<string, unknown>;
type Page = Record<string, unknown>;

/** Every item of a table (or index), by a consistent Scan over all pages. */
async function scanWire(wire: WireClient, TableName: string, IndexName?: string): Promise<Item[]> {
  const items: Item[] = [];
  let ExclusiveStartKey: unknown;
  do {
    const page = await wire.call<Page>(DYNAMODB, 'Scan', {
      TableName,
      ...(IndexName ? { IndexName } : { ConsistentRead: true }),
      ExclusiveStartKey,
    });
    items.push(...((page.Items as Item[] | undefined) ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

async function waitActive(wire: WireClient, TableName: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const table = (await wire.call<Page>(DYNAMODB, 'DescribeTable', { TableName })).Table as Page | undefined;
    if (table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${TableName} never became ACTIVE`);
}

/** Every record of a stream: shards with their parents first, each read from TRIM_HORIZON to its end. */
async function readStreamWire(wire: WireClient, StreamArn: string): Promise<Item[]> {
  const shards: { ShardId: string; ParentShardId?: string }[] = [];
  let start: unknown;
  do {
    const d = (await wire.call<Page>(DYNAMODB_STREAMS, 'DescribeStream', { StreamArn, ExclusiveStartShardId: start }))
      .StreamDescription as Page | undefined;
    shards.push(...((d?.Shards as typeof shards | undefined) ?? []));
    start = d?.LastEvaluatedShardId;
  } while (start);
  const ids = new Set(shards.map((s) => s.ShardId));
  const done = new Set<string>();
  const records: Item[] = [];
  while (done.size < shards.length) {
    const ready = shards.filter(
      (s) => !done.has(s.ShardId) && (!s.ParentShardId || !ids.has(s.ParentShardId) || done.has(s.ParentShardId)),
    );
    if (ready.length === 0) throw new Error('shard parents form a cycle');
    for (const { ShardId } of ready) {
      let iterator = (
        await wire.call<Page>(DYNAMODB_STREAMS, 'GetShardIterator', {
          StreamArn,
          ShardId,
          ShardIteratorType: 'TRIM_HORIZON',
        })
      ).ShardIterator;
      while (iterator) {
        const page = await wire.call<Page>(DYNAMODB_STREAMS, 'GetRecords', { ShardIterator: iterator });
        const got = (page.Records as Item[] | undefined) ?? [];
        records.push(...got);
        if (got.length === 0) break;
        iterator = page.NextShardIterator;
      }
      done.add(ShardId);
    }
  }
  return records;
}

/**
 * Every read of a case, as raw signed requests on keep-alive connections (what the SDK clients
 * sent, without their per-request and per-client CPU): the answers are compared as canonical
 * text with the same probe's answers on the undamaged copy, so only consistency matters.
 */
async function probe(server: TestServer, golden: Golden, reads: FileKind['reads']): Promise<Answers> {
  const answers: Answers = new Map();
  const wire = new WireClient(server.port, CREDENTIALS, server.region);
  const read = async (name: string, fn: () => Promise<unknown>) => {
    const started = performance.now();
    try {
      answers.set(name, { ok: true, value: canonical(await fn()) });
    } catch (error) {
      const status = error instanceof AwsCallError ? error.status : undefined;
      answers.set(name, { ok: false, error: errorText(error), ...(status ? { status } : {}) });
    }
    readMs[name] = (readMs[name] ?? 0) + performance.now() - started;
  };
  const sorted = (items: unknown[]) => items.map(canonical).sort();
  try {
    await read('ListTables', async () => (await wire.call<Page>(DYNAMODB, 'ListTables', {})).TableNames);
    for (const t of ['Alpha', 'Beta', 'Gamma']) await read(`Scan ${t}`, async () => sorted(await scanWire(wire, t)));
    await read('Scan Alpha byGrp', async () => sorted(await scanWire(wire, 'Alpha', 'byGrp')));
    await read('Stream Alpha', async () => {
      const streams = (await wire.call<Page>(DYNAMODB_STREAMS, 'ListStreams', { TableName: 'Alpha' })).Streams as
        | Page[]
        | undefined;
      const records = await readStreamWire(wire, streams?.[0]?.StreamArn as string);
      return records.map((r) => {
        const d = r.dynamodb as Page | undefined;
        return [r.eventName, d?.Keys, d?.NewImage, d?.OldImage];
      });
    });
    await read('Decrypt', async () => {
      const out = await wire.call<Page>(KMS, 'Decrypt', {
        CiphertextBlob: Buffer.from(golden.ciphertext).toString('base64'),
      });
      return Buffer.from(String(out.Plaintext), 'base64').toString();
    });
    await read('DescribeKey', async () => {
      const m = (await wire.call<Page>(KMS, 'DescribeKey', { KeyId: 'alias/tamper' })).KeyMetadata as Page | undefined;
      return [m?.KeyId, m?.KeyState, m?.Description];
    });
    if (reads.includes('restore')) {
      await read('Restore', async () => {
        const backups = ((await wire.call<Page>(DYNAMODB, 'ListBackups', {})).BackupSummaries as Page[]) ?? [];
        const arn = backups.find((b) => b.BackupName === 'alpha-backup')?.BackupArn;
        await wire.call(DYNAMODB, 'RestoreTableFromBackup', { BackupArn: arn, TargetTableName: 'Restored' });
        await waitActive(wire, 'Restored');
        return [backups.length, sorted(await scanWire(wire, 'Restored'))];
      });
    }
    if (reads.includes('trail')) {
      await read('LookupEvents', async () => {
        const events: string[] = [];
        let NextToken: unknown;
        do {
          // Epoch seconds, as the SDK sends a timestamp in this protocol.
          const page = await wire.call<Page>(CLOUDTRAIL, 'LookupEvents', {
            NextToken,
            EndTime: golden.now / 1000,
            MaxResults: 50,
          });
          for (const e of (page.Events as Page[] | undefined) ?? [])
            events.push(canonical([e.EventId, e.EventName, e.CloudTrailEvent]));
          NextToken = page.NextToken;
        } while (NextToken);
        return events;
      });
    }
  } finally {
    wire.destroy();
  }
  return answers;
}

/** A clock that runs from `at` on (the golden server's clock had moved ahead). */
function clockAt(at: number): ManualClock {
  const clock = new ManualClock();
  clock.advance(Math.max(0, at - clock.now()));
  return clock;
}

/** Every event of `got` (canonical JSON lists) is one of `want`'s, unchanged. */
function subsetOf(got: string, want: string): boolean {
  const all = new Set(JSON.parse(want) as string[]);
  return (JSON.parse(got) as string[]).every((e) => all.has(e));
}

/**
 * Where the copies go: a memory file system when there is one (SEALDB_TAMPER_SCRATCH overrides).
 * Each case copies a 7 MB data directory and deletes it again, and the server fsyncs its lock and
 * commit records: on this VM's ext4 (mounted with `discard`) the copy, the delete and the fsyncs
 * were ~60 ms of each case's wall time, most of it in the kernel. The server's code path is the same
 * on either file system; only a power loss (which no case simulates) would tell them apart.
 */
function scratchRoot(): string {
  const given = process.env.SEALDB_TAMPER_SCRATCH;
  if (given) return given;
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

type Outcome = 'detected' | 'wrong data' | 'crash' | 'undetected' | 'unclear error';

/** How a file is named in the messages about it (a log and a commit record by their database's name). */
const namesOf = (file: string) => {
  const name = basename(file);
  return [name, name.replace(/-(wal|commits)$/, '').replace(/\.enc$/, '')];
};

export async function runTamper(options: TamperOptions): Promise<PartResult> {
  const started = Date.now();
  const part = 'tamper';
  const log = options.log ?? (() => {});
  const failures: Failure[] = [];
  const scratch = mkdtempSync(join(scratchRoot(), 'sealdb-tamper-'));
  const counts: Record<Outcome, number> = {
    detected: 0,
    'wrong data': 0,
    crash: 0,
    undetected: 0,
    'unclear error': 0,
  };
  const perKind: Record<string, Record<string, number>> = {};
  // Any crash while cases run counts against each case running then (they run a few at a time).
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  let cases = 0;
  /** Wall time per phase of a case, summed (cases overlap): where a run's time goes. */
  const phaseMs: Record<string, number> = {};
  /** CPU of this process (its servers run in it) over the cases, the golden build left out. */
  let casesCpu: NodeJS.CpuUsage | undefined;
  try {
    const golden = await buildGolden(scratch);
    const cpuBefore = process.cpuUsage();
    // What an undamaged copy answers, per golden directory and set of reads.
    const expected = new Map<string, Answers>();
    let caseNo = 0;
    const startOn = async (dir: string, g: Golden, warnings: string[]) =>
      startTestServer({
        scratch: dir,
        dataDir: join(dir, 'data'),
        rootKeyFile: g.rootKeyFile,
        clock: clockAt(g.now + 60_000),
        onAuditWarning: (m) => warnings.push(m),
      });
    const kinds = FILE_KINDS.filter((k) => !options.kinds || options.kinds.includes(k.kind));
    for (const kind of kinds) {
      const g = golden[kind.from];
      const target = kind.find(filesUnder(g.dir), g);
      if (!target) {
        failures.push({ part, seed: options.seed, where: kind.kind, detail: 'no such file in the data directory' });
        continue;
      }
      const rel = relative(g.dir, target);
      const key = `${kind.from}/${kind.reads.join(',')}`;
      if (!expected.has(key)) {
        const dir = join(scratch, `control-${expected.size}`);
        cpSync(g.dir, join(dir, 'data'), { recursive: true });
        const server = await startOn(dir, g, []);
        const answers = await probe(server, g, kind.reads);
        await server.pageChecks();
        await server.close();
        // The undamaged copy must raise no alarm (a false one would count every case detected).
        for (const error of server.internalErrors) {
          failures.push({
            part,
            seed: options.seed,
            where: `control ${key}`,
            detail: `false alarm: ${errorText(error)}`,
          });
        }
        rmSync(dir, { recursive: true, force: true });
        for (const [name, a] of answers) {
          if (!a.ok)
            failures.push({ part, seed: options.seed, where: `control ${key}`, detail: `${name}: ${a.error}` });
        }
        expected.set(key, answers);
      }
      const want = expected.get(key) as Answers;
      const tally: Record<string, number> = {};
      perKind[kind.kind] = tally;
      const size = statSync(target).size;
      // Each kind draws from its own generator (the seed and the kind's place in the list), so
      // one kind can be replayed alone with --part tamper and the same seed.
      const krng = new Rng(options.seed + 7919 * FILE_KINDS.indexOf(kind));
      const planned: TamperCase[] = [];
      for (let i = 0; i < options.placesPerKind * 2; i++) {
        const mode = i < options.placesPerKind ? 'flip' : 'truncate';
        planned.push({ kind: kind.kind, mode, at: krng.int(0, Math.max(0, size - 1)), mask: krng.int(1, 255) });
      }
      planned.push(...(options.extraCases ?? []).filter((c) => c.kind === kind.kind && c.at < size));
      const runCase = async ({ mode, at, mask = 1 }: TamperCase, caseNo: number): Promise<void> => {
        const where = `${kind.kind} ${rel}: ${mode} at ${at}${mode === 'flip' ? ` ^0x${mask.toString(16)}` : ''}`;
        cases++;
        const dir = join(scratch, `case-${caseNo}`);
        let mark = performance.now();
        const phase = (name: string) => {
          const now = performance.now();
          phaseMs[name] = (phaseMs[name] ?? 0) + (now - mark);
          mark = now;
        };
        cpSync(g.dir, join(dir, 'data'), { recursive: true });
        const file = join(dir, 'data', rel);
        const bytes = readFileSync(file);
        if (mode === 'flip') bytes[at] = (bytes[at] as number) ^ mask;
        writeFileSync(file, mode === 'flip' ? bytes : bytes.subarray(0, at));
        const crashesBefore = crashes.length;
        const warnings: string[] = [];
        const said: string[] = [];
        let wrong: string[] = [];
        /** Reads that left out what a damaged file held (every record returned intact). */
        const partial: string[] = [];
        let server: TestServer | undefined;
        try {
          phase('copy');
          server = await startOn(dir, g, warnings);
        } catch (error) {
          said.push(errorText(error));
        }
        if (server) {
          phase('start');
          const got = await probe(server, g, kind.reads);
          for (const [name, a] of got) {
            const w = want.get(name);
            if (a.ok && w?.ok && a.value !== w.value && !(name === 'LookupEvents' && subsetOf(a.value, w.value))) {
              wrong.push(name);
            } else if (name === 'LookupEvents' && a.ok && w?.ok && a.value !== w.value) {
              partial.push(name);
            } else if (a.ok && !w?.ok) wrong.push(`${name} (answered where the control failed)`);
            else if (!a.ok) said.push(`${name}: ${a.error}`);
          }
          phase('probe');
          try {
            // Damage found by the background full page check is reported by the time it ends.
            await server.pageChecks();
            await server.close();
          } catch (error) {
            said.push(`close: ${errorText(error)}`);
          }
          // After close: a restore that fails in the background reports once its job has ended.
          said.push(...server.internalErrors.map(errorText));
        }
        phase('close');
        said.push(...warnings);
        if (kind.reads.includes('trail') && existsSync(join(dir, 'data', 'root-check.json'))) {
          const root = RootOfTrust.open({ kind: 'key-file', path: g.rootKeyFile }, join(dir, 'data'));
          try {
            const verdict = await verifyDataDir(join(dir, 'data'), root);
            for (const p of verdict.problems) said.push(`audit verify: ${p.kind} ${p.file}: ${p.detail}`);
          } catch (error) {
            said.push(`audit verify: ${errorText(error)}`);
          } finally {
            root.destroy();
          }
        }
        const names = namesOf(file);
        const named = said.filter((s) => names.some((n) => s.includes(n)));
        // A table that is not damaged must go on serving when only a table's own files are.
        if (kind.kind.startsWith('table') && said.some((s) => /^Scan (Beta|Gamma):/.test(s))) {
          wrong = [...wrong, 'another table stopped serving'];
        }
        let outcome: Outcome;
        const crashed = crashes.slice(crashesBefore);
        if (crashed.length > 0) outcome = 'crash';
        else if (wrong.length > 0) outcome = 'wrong data';
        // The trail keeps serving what is intact of a damaged file, and says so: not wrong data
        // as long as the operator was told, naming the file.
        else if (partial.length > 0 && named.length === 0) outcome = 'wrong data';
        else if (named.length > 0) outcome = 'detected';
        else if (said.length > 0) outcome = 'unclear error';
        else outcome = 'undetected';
        counts[outcome]++;
        tally[outcome] = (tally[outcome] ?? 0) + 1;
        if (outcome !== 'detected') {
          failures.push({
            part,
            seed: options.seed,
            where,
            detail: `${outcome}${wrong.length ? `: ${wrong.join(', ')}` : ''}${crashed.length ? `: ${crashed.map(errorText).join('; ')}` : ''}${said.length ? ` | said: ${said.slice(0, 3).join(' | ').slice(0, 600)}` : ''}`,
          });
        }
        phase('verify');
        rmSync(dir, { recursive: true, force: true });
      };
      await inPool(planned, options.concurrency ?? DEFAULT_CONCURRENCY, (c) => runCase(c, ++caseNo));
      log(`tamper ${kind.kind} (${rel}): ${JSON.stringify(tally)}`);
    }
    casesCpu = process.cpuUsage(cpuBefore);
  } catch (error) {
    failures.push({ part, seed: options.seed, where: 'run', detail: `tamper stopped: ${errorText(error)}` });
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
    rmSync(scratch, { recursive: true, force: true });
  }
  const rate = cases === 0 ? 0 : counts.detected / cases;
  return {
    part,
    seed: options.seed,
    cases,
    durationMs: Date.now() - started,
    figures: {
      fileKinds: Object.keys(perKind).length,
      cases,
      detected: counts.detected,
      detectionRate: Number((rate * 100).toFixed(2)),
      wrongData: counts['wrong data'],
      crashes: counts.crash,
      undetected: counts.undetected,
      unclearErrors: counts['unclear error'],
      cpuMsPerCase: casesCpu && cases > 0 ? Math.round((casesCpu.user + casesCpu.system) / 1000 / cases) : 0,
      perKind: JSON.stringify(perKind),
      readMs: JSON.stringify(Object.fromEntries(Object.entries(readMs).map(([k, v]) => [k, Math.round(v)]))),
      phaseMs: JSON.stringify(Object.fromEntries(Object.entries(phaseMs).map(([k, v]) => [k, Math.round(v)]))),
    },
    failures,
  };
}

/** For the slice test: the file kinds by name. */
export const fileKindNames = (): string[] => FILE_KINDS.map((k) => k.kind);
