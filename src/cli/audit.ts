/**
 * `sealdb audit …`: verify the trail offline, export it in CloudTrail's plain format, and read
 * events in the terminal, from a data directory (needs its root key) or a running server.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { formatRecord } from '../cloudtrail/display.js';
import { HOUR_MS } from '../cloudtrail/layout.js';
import { NextTokenCodec } from '../cloudtrail/next-token.js';
import { exportTrail, trailFolder, verifyDataDir, verifyExport } from '../cloudtrail/offline.js';
import {
  LOOKUP_KEYS,
  type LookupEventsInput,
  type LookupKey,
  lookupEvents,
} from '../cloudtrail/operations/lookup-events.js';
import type { CloudTrailRecord } from '../cloudtrail/record.js';
import { callCloudTrail, type RemoteCredentials } from '../cloudtrail/remote-client.js';
import { readPublicKeyFile } from '../cloudtrail/signing-key.js';
import { DiskTrailReader } from '../cloudtrail/trail-reader.js';
import type { VerifyProblem, VerifyResult } from '../cloudtrail/verify.js';
import { systemClock } from '../core/clock.js';
import { RootOfTrust } from '../encryption/root-of-trust.js';
import { DEFAULT_ACCOUNT_ID } from '../http/auth.js';
import { resolveConfig } from './config.js';

export interface AuditCliIo {
  out(text: string): void;
  err(text: string): void;
}

const consoleIo: AuditCliIo = { out: (t) => console.log(t), err: (t) => console.error(t) };

interface DataDirFlags {
  dataDir?: string;
  rootKeyFile?: string;
  config?: string;
  region?: string;
}

interface VerifyFlags extends DataDirFlags {
  from?: string;
  to?: string;
  account?: string;
  publicKey?: string;
  export?: string;
  storage?: string;
  json?: boolean;
}

interface ReadFlags extends DataDirFlags {
  endpoint?: string;
  account?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  eventName?: string;
  attribute?: string;
  start?: string;
  end?: string;
  json?: boolean;
}

interface LookupFlags extends ReadFlags {
  max?: string;
}

interface TailFlags extends ReadFlags {
  lines?: string;
  follow?: boolean;
  interval?: string;
}

const RELATIVE = /^(\d+)([smhd])$/;
const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS };

/** ISO 8601, epoch seconds, or a duration ago (`30m`, `2h`, `7d`). */
export function parseTime(text: string, now: number = Date.now()): number {
  const relative = RELATIVE.exec(text);
  if (relative) return now - Number(relative[1]) * (UNIT_MS[relative[2] as string] as number);
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new Error(`not a time: '${text}' (use ISO 8601, epoch seconds, or e.g. 2h for two hours ago)`);
  return ms;
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, not '${text}'`);
  return n;
}

/** Opens a data directory's root of trust without creating anything (unlike `start`). */
function openDataDir(flags: DataDirFlags): { dataDir: string; root: RootOfTrust; region: string } {
  const config = resolveConfig({
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    ...(flags.rootKeyFile !== undefined ? { rootKeyFile: flags.rootKeyFile } : {}),
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(flags.region !== undefined ? { region: flags.region } : {}),
  });
  const dataDir = config.dataDir;
  if (dataDir === undefined) throw new Error('an in-memory server keeps no trail on disk; give --data-dir');
  if (!existsSync(join(dataDir, 'root-check.json'))) throw new Error(`${dataDir} is not a sealdb data directory`);
  if (config.rootKey.kind === 'key-file' && !existsSync(config.rootKey.path)) {
    throw new Error(`the root key file ${config.rootKey.path} does not exist; give --root-key-file`);
  }
  return { dataDir, root: RootOfTrust.open(config.rootKey, dataDir), region: config.region };
}

const KIND_LABEL: Readonly<Record<VerifyProblem['kind'], string>> = {
  missing: 'MISSING',
  modified: 'MODIFIED',
  inserted: 'INSERTED',
  signature: 'RE-SIGNED',
  chain: 'CHAIN',
};

function printVerification(result: VerifyResult, where: string, io: AuditCliIo): void {
  io.out(`audit trail: ${where}`);
  for (const p of result.problems) io.out(`${KIND_LABEL[p.kind].padEnd(10)} ${p.file}\n           ${p.detail}`);
  for (const a of result.accounts) {
    const span = a.from && a.to ? ` from ${a.from} to ${a.to}` : '';
    io.out(`account ${a.accountId} (${a.region}): ${a.digests} digest(s)${span}, ${a.logFiles} log file(s)`);
  }
  if (result.accounts.length === 0 && result.problems.length === 0) io.out('no digests in range');
  io.out(result.ok ? 'OK: every file verifies' : `FAILED: ${result.problems.length} problem(s)`);
}

async function runVerify(flags: VerifyFlags, io: AuditCliIo): Promise<void> {
  const range = {
    ...(flags.from !== undefined ? { from: parseTime(flags.from) } : {}),
    ...(flags.to !== undefined ? { to: parseTime(flags.to) } : {}),
    ...(flags.account !== undefined ? { accountId: flags.account } : {}),
    ...(flags.publicKey !== undefined
      ? { publicKey: await readPublicKeyFile(flags.publicKey, "Pass a trusted copy of the trail's public-key.pem.") }
      : {}),
  };
  let result: VerifyResult;
  let where: string;
  const storage = flags.storage ?? (process.env.SEALDB_STORAGE || undefined);
  if (flags.export === undefined && storage !== undefined && storage !== 'embedded') {
    await runEngineVerify(flags, storage, range.publicKey, io);
    return;
  }
  if (flags.export !== undefined) {
    where = flags.export;
    result = await verifyExport(flags.export, range);
  } else {
    const { dataDir, root } = openDataDir(flags);
    try {
      where = trailFolder(dataDir);
      result = await verifyDataDir(dataDir, root, range);
    } finally {
      root.destroy();
    }
  }
  if (flags.json) io.out(JSON.stringify(result, null, 2));
  else printVerification(result, where, io);
  if (!result.ok) process.exitCode = 1;
}

/** The trail a cluster keeps in its engine (storage/postgres/pg-trail-store.ts), checked with the cluster's root key. */
async function runEngineVerify(
  flags: VerifyFlags,
  storage: string,
  publicKey: KeyObject | undefined,
  io: AuditCliIo,
): Promise<void> {
  const { root } = openDataDir(flags);
  const { EngineBackend } = await import('../storage/postgres/backend.js');
  try {
    const engine = await EngineBackend.open({ url: storage });
    try {
      const result = await engine.trailStore(root, systemClock).verify(publicKey);
      if (flags.json) io.out(JSON.stringify(result, null, 2));
      else {
        io.out(`audit trail: the engine at ${new URL(storage).host}`);
        for (const p of result.problems) io.out(`PROBLEM    ${p}`);
        for (const a of result.accounts) {
          io.out(`account ${a.accountId} (${a.region}): ${a.digests} digest(s), ${a.logFiles} log file(s)`);
        }
        io.out(result.ok ? 'OK: every digest and record verifies' : `FAILED: ${result.problems.length} problem(s)`);
      }
      if (!result.ok) process.exitCode = 1;
    } finally {
      await engine.close();
      await engine.closeServices();
    }
  } finally {
    root.destroy();
  }
}

async function runExport(flags: DataDirFlags & { out: string }, io: AuditCliIo): Promise<void> {
  const { dataDir, root } = openDataDir(flags);
  try {
    const { files, notDigested } = await exportTrail(dataDir, root, flags.out);
    io.out(`exported ${files} file(s) to ${flags.out}; verify with: sealdb audit verify --export ${flags.out}`);
    if (notDigested > 0) {
      io.out(
        `the open hours up to now are in ${notDigested} log file(s) under ${join(flags.out, 'not-yet-digested')} (not yet digested, see its manifest.json)`,
      );
    }
  } finally {
    root.destroy();
  }
}

interface EventPage {
  readonly records: CloudTrailRecord[];
  readonly nextToken?: string;
}

/** One LookupEvents page from a server or a data directory. */
type PageReader = (input: LookupEventsInput) => Promise<EventPage>;

function remoteReader(flags: ReadFlags & { endpoint: string }): PageReader {
  const credentials: RemoteCredentials = {
    accessKeyId: flags.accessKeyId ?? process.env.AWS_ACCESS_KEY_ID ?? 'AKIDLOCAL',
    secretAccessKey: flags.secretAccessKey ?? process.env.AWS_SECRET_ACCESS_KEY ?? 'local-secret',
  };
  const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  return async (input) => {
    const out = await callCloudTrail({ endpoint: flags.endpoint, region, credentials }, 'LookupEvents', { ...input });
    const events = (out.Events ?? []) as { CloudTrailEvent: string }[];
    return {
      records: events.map((e) => JSON.parse(e.CloudTrailEvent) as CloudTrailRecord),
      ...(typeof out.NextToken === 'string' ? { nextToken: out.NextToken } : {}),
    };
  };
}

async function localReader(flags: ReadFlags, io: AuditCliIo): Promise<{ read: PageReader; close(): void }> {
  const { dataDir, root, region } = openDataDir(flags);
  const reader = new DiskTrailReader(dataDir, root, region, (message) => io.err(`sealdb: audit trail: ${message}`));
  const tokens = new NextTokenCodec(root.deriveKey('sealdb/cli-next-token'));
  const accounts = await reader.accounts();
  const accountId =
    flags.account ??
    (accounts.length === 1
      ? (accounts[0] as string)
      : accounts.includes(DEFAULT_ACCOUNT_ID)
        ? DEFAULT_ACCOUNT_ID
        : undefined);
  if (accountId === undefined)
    throw new Error(`the trail holds several accounts (${accounts.join(', ')}); give --account`);
  return {
    async read(input) {
      // Offline, "now" is whichever is later: the wall clock or the trail's newest hour.
      const hours = await reader.hours(accountId);
      const now = Math.max(Date.now(), (hours.at(-1) ?? 0) + HOUR_MS);
      const out = await lookupEvents({ source: reader, tokens, accountId, now }, input);
      return {
        records: out.Events.map((e) => JSON.parse(e.CloudTrailEvent) as CloudTrailRecord),
        ...(out.NextToken !== undefined ? { nextToken: out.NextToken } : {}),
      };
    },
    close() {
      tokens.destroy();
      reader.close();
      root.destroy();
    },
  };
}

async function openReader(flags: ReadFlags, io: AuditCliIo): Promise<{ read: PageReader; close(): void }> {
  if (flags.endpoint !== undefined && flags.dataDir !== undefined)
    throw new Error('give --endpoint or --data-dir, not both');
  if (flags.endpoint !== undefined) return { read: remoteReader({ ...flags, endpoint: flags.endpoint }), close() {} };
  return localReader(flags, io);
}

function lookupInput(flags: ReadFlags): LookupEventsInput {
  let attribute: { AttributeKey: LookupKey; AttributeValue: string } | undefined;
  if (flags.eventName !== undefined) attribute = { AttributeKey: 'EventName', AttributeValue: flags.eventName };
  if (flags.attribute !== undefined) {
    if (attribute) throw new Error('CloudTrail takes one lookup attribute: give --event-name or --attribute');
    const eq = flags.attribute.indexOf('=');
    const key = flags.attribute.slice(0, eq);
    if (eq < 1 || !(LOOKUP_KEYS as readonly string[]).includes(key)) {
      throw new Error(`--attribute takes Key=Value with Key one of ${LOOKUP_KEYS.join(', ')}`);
    }
    attribute = { AttributeKey: key as LookupKey, AttributeValue: flags.attribute.slice(eq + 1) };
  }
  return {
    ...(attribute ? { LookupAttributes: [attribute] } : {}),
    ...(flags.start !== undefined ? { StartTime: parseTime(flags.start) / 1000 } : {}),
    ...(flags.end !== undefined ? { EndTime: parseTime(flags.end) / 1000 } : {}),
  };
}

/** Up to `max` records, newest first. */
async function collect(read: PageReader, input: LookupEventsInput, max: number): Promise<CloudTrailRecord[]> {
  const out: CloudTrailRecord[] = [];
  let token: string | undefined;
  do {
    const page = await read({
      ...input,
      MaxResults: Math.min(50, max - out.length),
      ...(token ? { NextToken: token } : {}),
    });
    out.push(...page.records);
    token = page.nextToken;
  } while (token && out.length < max);
  return out.slice(0, max);
}

function print(records: readonly CloudTrailRecord[], json: boolean | undefined, io: AuditCliIo): void {
  for (const r of records) io.out(json ? JSON.stringify(r) : formatRecord(r));
}

async function runLookup(flags: LookupFlags, io: AuditCliIo): Promise<void> {
  const max = flags.max !== undefined ? positiveInt(flags.max, '--max') : 50;
  const input = lookupInput(flags);
  const reader = await openReader(flags, io);
  try {
    const records = await collect(reader.read, input, max);
    print(records, flags.json, io);
    if (!flags.json) io.out(`${records.length} event(s)`);
  } finally {
    reader.close();
  }
}

async function runTail(flags: TailFlags, io: AuditCliIo): Promise<void> {
  const lines = flags.lines !== undefined ? positiveInt(flags.lines, '--lines') : 10;
  const interval = flags.interval !== undefined ? positiveInt(flags.interval, '--interval') : 1000;
  const input = lookupInput(flags);
  const reader = await openReader(flags, io);
  try {
    const first = await collect(reader.read, input, lines);
    print([...first].reverse(), flags.json, io);
    if (!flags.follow) return;
    const seen = new Set(first.map((r) => r.eventID));
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, interval));
      // Newest first: read back until an event already shown, then print the new ones oldest first.
      const fresh: CloudTrailRecord[] = [];
      let token: string | undefined;
      scan: do {
        const page = await reader.read({ ...input, ...(token ? { NextToken: token } : {}) });
        for (const r of page.records) {
          if (seen.has(r.eventID)) break scan;
          fresh.push(r);
        }
        token = page.nextToken;
      } while (token);
      for (const r of fresh) seen.add(r.eventID);
      print(fresh.reverse(), flags.json, io);
    }
  } finally {
    reader.close();
  }
}

function dataDirOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data directory (default ./sealdb-data; env SEALDB_DATA_DIR)')
    .option('--root-key-file <file>', 'root key file of the data directory (env SEALDB_ROOT_KEY_FILE)')
    .option('--config <file>', 'JSON config file, as for start (env SEALDB_CONFIG)')
    .option('--region <region>', 'region of the trail (default us-east-1; env SEALDB_REGION)');
}

function readOptions(command: Command): Command {
  return dataDirOptions(command)
    .option('--endpoint <url>', 'read from a running server instead of a data directory')
    .option('--access-key-id <id>', 'with --endpoint (default env AWS_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'with --endpoint (default env AWS_SECRET_ACCESS_KEY)')
    .option('--account <id>', 'with --data-dir: the account whose trail to read')
    .option('--event-name <name>', 'only events of this name, e.g. Decrypt')
    .option('--attribute <Key=Value>', `one lookup attribute (${LOOKUP_KEYS.join(', ')})`)
    .option('--start <time>', 'events at or after (ISO 8601, epoch seconds, or e.g. 2h ago)')
    .option('--end <time>', 'events at or before')
    .option('--json', 'print each event as its CloudTrail JSON record');
}

/** Adds `sealdb audit verify|export|lookup|tail`. */
export function registerAuditCommands(program: Command, io: AuditCliIo = consoleIo): void {
  const audit = program.command('audit').description('the CloudTrail-compatible audit trail of KMS calls');

  dataDirOptions(audit.command('verify'))
    .description('check digests, signatures and log files offline; exits non-zero on any problem')
    .option('--from <time>', 'check hours from (ISO 8601, epoch seconds, or e.g. 24h ago)')
    .option('--to <time>', 'check hours before')
    .option('--account <id>', 'only this account')
    .option('--public-key <pem>', 'a trusted copy of public-key.pem (default: the one in the trail)')
    .option('--export <dir>', 'verify an exported trail (needs no root key)')
    .option('--storage <url>', 'verify the trail a cluster keeps in its engine (postgres://…; env SEALDB_STORAGE)')
    .option('--json', 'print the result as JSON')
    .action((flags: VerifyFlags) => runVerify(flags, io));

  dataDirOptions(audit.command('export'))
    .description("write the trail in CloudTrail's plain format (gzip JSON logs and digests), e.g. for an auditor")
    .requiredOption('--out <dir>', 'folder to write AWSLogs/… and public-key.pem into')
    .action((flags: DataDirFlags & { out: string }) => runExport(flags, io));

  readOptions(audit.command('lookup'))
    .description('print events, newest first')
    .option('--max <n>', 'at most this many events (default 50)')
    .action((flags: LookupFlags) => runLookup(flags, io));

  readOptions(audit.command('tail'))
    .description('print the latest events, oldest first; --follow keeps printing new ones')
    .option('-n, --lines <n>', 'how many events to start with (default 10)')
    .option('-f, --follow', 'keep polling for new events')
    .option('--interval <ms>', 'polling interval with --follow (default 1000)')
    .action((flags: TailFlags) => runTail(flags, io));
}
