/**
 * The durable trail: per account, region and hour, records are appended (and fsync'd) to an open hour
 * file; when the clock leaves the hour the file becomes CloudTrail's gzip `{"Records":[...]}` log
 * file, and a signed digest chains the hour to the one before. Hours are closed lazily, on append
 * and lookup, and by `closeFinishedHours` (the server's periodic sweep); a restart first finishes
 * whatever a crash interrupted.
 *
 * Crash safety: an hour's log files are each written under a temporary name and renamed before
 * its open hour file is removed, so after a crash either copy may remain but never neither; an
 * open hour file whose hour has log files but no digest yet is the whole source, so those
 * (possibly partial) log files are removed on restart and the hour is closed again.
 *
 * Memory: records are streamed to and from disk, never held per hour. What stays is an index of
 * 32 bytes per record of each open hour (open-hour.ts: 32 MB for a million KMS calls an hour),
 * at most CACHED_LOG_FILES parsed log files of at most LOG_FILE_BYTES each (about 40 MB), and one
 * log file being written while an hour closes.
 */
import { rename } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Clock } from '../core/clock.js';
import { type Scope, scopeKey } from '../core/scope.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import type { DigestLogFile } from './digest.js';
import { type ChainState, chainState, logFileEntry, writeDigest } from './digest-writer.js';
import { removeDurably, syncDirectory } from './durable-fs.js';
import { describeDamage, type FrameScanResult } from './frames.js';
import {
  chunkStart,
  chunkSuffix,
  HOUR_MS,
  hourStart,
  logObjectKey,
  openHourPath,
  parseLogObjectKey,
  SEALED_SUFFIX,
} from './layout.js';
import { LogChunker } from './log-chunks.js';
import { freeName, OpenHourFile, type OpenHourRecovery } from './open-hour.js';
import type { CloudTrailRecord, Delivery } from './record.js';
import { SealError, TrailCipher } from './sealed-file.js';
import { DigestSigner } from './signing-key.js';
import { type DigestFileRef, type OpenHourRef, TrailFiles, TrailFormatError } from './trail-files.js';
import { type HourScan, type RecordVisitor, scanList, type TrailSource, type TrailStore } from './trail-source.js';

export const TRAIL_FOLDER = 'cloudtrail';
/** Closed log files kept parsed for lookups (each at most LOG_FILE_BYTES of JSON). */
const CACHED_LOG_FILES = 4;

export interface DiskTrailStoreOptions {
  readonly dataDir: string;
  readonly root: RootOfTrust;
  readonly clock: Clock;
  /** Told about damage found while running (a quarantined file); defaults to stderr. */
  readonly warn?: (message: string) => void;
  /** The signing key as startup checked it (`DigestSigner.open`); absent: loaded when first needed. */
  readonly signer?: DigestSigner;
  /** Told about each failed attempt to write an hour's digest (the metric); the store also warns. */
  readonly onDigestFailure?: (scope: Scope, error: unknown) => void;
}

interface OpenHour {
  readonly hour: number;
  readonly path: string;
  readonly file: OpenHourFile;
}

/** One account's trail in one region (CloudTrail's `AWSLogs/<account>/CloudTrail/<region>/`). */
interface AccountTrail {
  readonly scope: Scope;
  open: OpenHour | undefined;
  /** Hour → closed log files (object keys) of that hour. */
  readonly closed: Map<number, string[]>;
  /** Undefined until the account's first record starts its chain. */
  chain: ChainState | undefined;
}

export class DiskTrailStore implements TrailStore {
  readonly #root: RootOfTrust;
  readonly #clock: Clock;
  readonly #trailDir: string;
  readonly #cipher: TrailCipher;
  readonly #files: TrailFiles;
  readonly #warn: (message: string) => void;
  /** By scopeKey of account and region. */
  readonly #accounts = new Map<string, AccountTrail>();
  /** Digest entries of log files this process closed, until their digest is written. */
  readonly #entries = new Map<string, DigestLogFile>();
  readonly #cache = new Map<string, CloudTrailRecord[]>();
  #signer: Promise<DigestSigner> | undefined;
  #ready: Promise<void> | undefined;
  /** Serializes everything that changes which files exist (appends only enqueue under it). */
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Scope keys of trails whose digest writing fails, so each streak is reported once. */
  readonly #failingDigests = new Set<string>();
  readonly #onDigestFailure: ((scope: Scope, error: unknown) => void) | undefined;

  constructor(options: DiskTrailStoreOptions) {
    this.#root = options.root;
    this.#clock = options.clock;
    this.#trailDir = join(options.dataDir, TRAIL_FOLDER);
    this.#cipher = new TrailCipher(options.root);
    this.#files = new TrailFiles(this.#trailDir, this.#cipher);
    this.#warn = options.warn ?? ((message) => console.error(`sealdb: audit trail: ${message}`));
    if (options.signer) this.#signer = Promise.resolve(options.signer);
    this.#onDigestFailure = options.onDigestFailure;
  }

  /** The signing key (created with the first record); undefined while the trail is empty. */
  async signer(): Promise<DigestSigner | undefined> {
    return this.#exclusive(async () => {
      await this.#ensureReady();
      return this.#accounts.size > 0 ? this.#getSigner() : undefined;
    });
  }

  async append(deliveries: readonly Delivery[]): Promise<void> {
    if (this.#closed) throw new Error('the audit trail is closed');
    const writes = await this.#exclusive(async () => {
      await this.#ensureReady();
      const now = hourStart(this.#clock.now());
      await this.#closeHoursBefore(now);
      const out: Promise<void>[] = [];
      for (const { accountId, record } of deliveries) {
        const trail = this.#account({ accountId, region: record.awsRegion });
        // Never append to an hour that already has its digest, even if the clock stepped back.
        const hour = Math.max(now, trail.chain?.nextStart ?? now, trail.open?.hour ?? now);
        const open = await this.#openHour(trail, hour);
        out.push(
          open.file.append(record).catch((error: unknown) => {
            this.#discard(trail, open);
            throw error;
          }),
        );
      }
      return out;
    });
    await Promise.all(writes);
  }

  async closeFinishedHours(): Promise<void> {
    if (this.#closed) return;
    await this.#exclusive(async () => {
      await this.#ensureReady();
      await this.#closeHoursBefore(hourStart(this.#clock.now()));
    });
  }

  inRegion(region: string): TrailSource {
    return {
      hours: (accountId) => this.#hours({ accountId, region }),
      scanHour: (accountId, hour, scan, visit) => this.#scanHour({ accountId, region }, hour, scan, visit),
    };
  }

  async #hours(scope: Scope): Promise<readonly number[]> {
    return this.#exclusive(async () => {
      await this.#ensureReady();
      const trail = this.#accounts.get(scopeKey(scope));
      if (!trail) return [];
      const hours = [...trail.closed.keys()];
      if (trail.open) hours.push(trail.open.hour);
      return [...new Set(hours)].sort((a, b) => a - b);
    });
  }

  async #scanHour(scope: Scope, hour: number, scan: HourScan, visit: RecordVisitor): Promise<void> {
    const closed = await this.#exclusive(async () => {
      await this.#ensureReady();
      const trail = this.#accounts.get(scopeKey(scope));
      if (!trail) return [];
      if (trail.open?.hour === hour) {
        const path = trail.open.path;
        await trail.open.file.scan(scan, visit, (position) =>
          this.#warn(
            `open hour file ${path}: the record at position ${position} no longer authenticates (the file was changed on disk); run sealdb audit verify`,
          ),
        );
        return undefined;
      }
      return [...(trail.closed.get(hour) ?? [])];
    });
    // Closed log files never change: they are read outside the queue, so appends go on meanwhile.
    if (!closed) return;
    const files = closed
      .map((objectKey) => ({ objectKey, first: chunkStart(parseLogObjectKey(objectKey)?.unique ?? '') }))
      .sort((a, b) => b.first - a.first);
    for (const { objectKey, first } of files) {
      if (scan.before !== undefined && first >= scan.before) continue;
      let records: CloudTrailRecord[];
      try {
        records = await this.#readLog(objectKey);
      } catch (error) {
        if (!isDamage(error)) throw error;
        this.#warn(`log file ${objectKey} cannot be read (${(error as Error).message}); run sealdb audit verify`);
        continue;
      }
      if (!scanList(records, first, scan, visit)) return;
    }
  }

  /** Closes the hours the clock has left; the current hour stays open on disk for the next start. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#exclusive(async () => {
        if (!this.#ready) return;
        await this.#ready;
        await this.#closeHoursBefore(hourStart(this.#clock.now()));
        for (const trail of this.#accounts.values()) {
          await trail.open?.file.close();
          trail.open = undefined;
        }
      });
    } finally {
      this.#cipher.destroy();
    }
  }

  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #ensureReady(): Promise<void> {
    this.#ready ??= this.#recover();
    return this.#ready;
  }

  #getSigner(): Promise<DigestSigner> {
    // A failed load is not remembered: the next digest tries again.
    this.#signer ??= DigestSigner.loadOrCreate(this.#trailDir, this.#root, this.#clock.now(), this.#warn).catch(
      (error: unknown) => {
        this.#signer = undefined;
        throw error;
      },
    );
    return this.#signer;
  }

  #account(scope: Scope): AccountTrail {
    const key = scopeKey(scope);
    let trail = this.#accounts.get(key);
    if (!trail) {
      trail = {
        scope: { accountId: scope.accountId, region: scope.region },
        open: undefined,
        closed: new Map(),
        chain: undefined,
      };
      this.#accounts.set(key, trail);
    }
    return trail;
  }

  /**
   * Rebuilds the state from the files: closed logs, each chain's newest digest, open hours, of
   * every region (each file's name says its account and region).
   */
  async #recover(): Promise<void> {
    const listing = await this.#files.list();
    for (const log of listing.logs) {
      const closed = this.#account(log.key).closed;
      closed.set(log.key.hour, [...(closed.get(log.key.hour) ?? []), log.objectKey]);
    }
    const newest = new Map<string, DigestFileRef>();
    for (const digest of listing.digests) {
      const current = newest.get(scopeKey(digest.key));
      if (!current || digest.key.end > current.key.end) newest.set(scopeKey(digest.key), digest);
    }
    for (const digest of newest.values()) this.#account(digest.key).chain = await this.#chainAfter(digest);
    for (const ref of await this.#files.openHours()) await this.#adopt(ref);
    for (const trail of this.#accounts.values()) {
      if (trail.chain) continue;
      const hours = [...trail.closed.keys(), ...(trail.open ? [trail.open.hour] : [])];
      if (hours.length > 0) trail.chain = { nextStart: Math.min(...hours), previous: undefined };
    }
  }

  /**
   * The chain continues from the newest digest. If that digest is damaged, a new chain starts
   * after it (verify reports the damage); refusing to record anything more would be worse.
   */
  async #chainAfter(newest: DigestFileRef): Promise<ChainState> {
    try {
      return await chainState(this.#files, newest);
    } catch (error) {
      if (!isDamage(error)) throw error;
      this.#warn(`digest ${newest.objectKey} is damaged (${(error as Error).message}); starting a new chain after it`);
      return { nextStart: newest.key.end, previous: undefined };
    }
  }

  /** Takes over an open hour file left by an earlier run. */
  async #adopt(ref: OpenHourRef): Promise<void> {
    const trail = this.#account(ref);
    if (trail.open) await this.#finalize(trail);
    const written = trail.closed.get(ref.hour);
    if (written) {
      if (trail.chain && trail.chain.nextStart > ref.hour) {
        // The hour is closed and digested: the run that closed it stopped before removing its source.
        await removeDurably(this.#files.path(ref.path));
        return;
      }
      // A run stopped while closing the hour: its log files may be partial, and no digest lists them.
      for (const objectKey of written) await removeDurably(this.#files.path(objectKey + SEALED_SUFFIX));
      trail.closed.delete(ref.hour);
    }
    trail.open = { hour: ref.hour, path: ref.path, file: await this.#openFile(ref.path) };
  }

  /** Opens an open hour file; damage found in it is reported, with what was lost and kept. */
  async #openFile(path: string): Promise<OpenHourFile> {
    const { file, recovery, cutTailBytes } = await OpenHourFile.open(this.#files.path(path), path, this.#cipher, {
      asideSuffix: `.damaged-${this.#clock.now()}`,
    });
    if (recovery) this.#reportRecovery(path, recovery);
    // A crash in an append leaves such a tail (never acknowledged); so does a file cut short, which
    // loses acknowledged records: the operator is told either way (reliability suite, tamper part).
    if (cutTailBytes !== undefined) {
      this.#warn(
        `open hour file ${path} ended in an incomplete frame (${cutTailBytes} byte(s) after its last whole record), ` +
          'which was cut off: an append a crash interrupted, or damage to the file if sealdb was not stopped abruptly',
      );
    }
    return file;
  }

  #reportRecovery(path: string, recovery: OpenHourRecovery): void {
    const aside = relative(this.#trailDir, recovery.aside).split('\\').join('/');
    this.#warn(
      `open hour file ${path} is damaged: lost ${describeDamage(recovery.damage)}; kept its ${recovery.kept} intact record(s); ` +
        `the damaged file is kept as ${aside} (sealdb audit verify reports it until it is removed)`,
    );
  }

  async #openHour(trail: AccountTrail, hour: number): Promise<OpenHour> {
    if (trail.open?.hour === hour) return trail.open;
    if (trail.open) await this.#finalize(trail);
    if (!trail.chain) {
      trail.chain = { nextStart: hour, previous: undefined };
      // The public key is exported as soon as there is something it will vouch for.
      await this.#getSigner();
    }
    const path = openHourPath(trail.scope.accountId, trail.scope.region, hour);
    trail.open = { hour, path, file: await this.#openFile(path) };
    return trail.open;
  }

  /** After a failed write the next append reopens the file, which cuts off any torn tail. */
  #discard(trail: AccountTrail, open: OpenHour): void {
    if (trail.open !== open) return;
    trail.open = undefined;
    open.file.close().catch(() => undefined);
  }

  async #closeHoursBefore(hour: number): Promise<void> {
    for (const trail of this.#accounts.values()) {
      if (trail.open && trail.open.hour < hour) await this.#finalize(trail);
      await this.#digestOrReport(trail, hour);
    }
  }

  /**
   * A digest only vouches for records already durable in their log files, so failing to write one
   * must not fail the KMS call at hand (which would take KMS down at every hour change): it is
   * reported (warning and metric) and retried at every later append, lookup and sweep, and at the
   * next start, until it is written.
   */
  async #digestOrReport(trail: AccountTrail, hour: number): Promise<void> {
    const key = scopeKey(trail.scope);
    const where = `account ${trail.scope.accountId} in ${trail.scope.region}`;
    try {
      await this.#digestUntil(trail, hour);
    } catch (error) {
      this.#onDigestFailure?.(trail.scope, error);
      if (!this.#failingDigests.has(key)) {
        this.#failingDigests.add(key);
        const from = trail.chain ? new Date(trail.chain.nextStart).toISOString() : 'its first hour';
        this.#warn(
          `could not write the digest of ${where} for the hour from ${from}: ${(error as Error).message}. ` +
            'KMS calls are still recorded; the digest is retried on every KMS call, lookup and sweep until it is written',
        );
      }
      return;
    }
    if (this.#failingDigests.delete(key)) this.#warn(`the digests of ${where} are written again`);
  }

  /** Turns the account's open hour into its CloudTrail log files (none for an empty hour). */
  async #finalize(trail: AccountTrail): Promise<void> {
    const open = trail.open;
    if (!open) return;
    trail.open = undefined;
    await open.file.close();
    const absolute = this.#files.path(open.path);
    const keys: string[] = [];
    let scan: FrameScanResult;
    if (trail.closed.has(open.hour)) {
      await removeDurably(absolute);
      return;
    }
    try {
      const chunker = new LogChunker(async (chunk) => {
        const objectKey = logObjectKey({ ...trail.scope, hour: open.hour, unique: chunkSuffix(chunk.first) });
        await this.#files.writeClosed(objectKey, gzipSync(chunk.content));
        this.#entries.set(objectKey, logFileEntry(objectKey, chunk.content, chunk.records));
        keys.push(objectKey);
      });
      scan = await OpenHourFile.read(absolute, open.path, this.#cipher, (frame) => chunker.add(frame.content));
      await chunker.finish();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#warn(`open hour file ${open.path} disappeared before it was closed`);
        return;
      }
      throw error;
    }
    if (keys.length > 0) trail.closed.set(open.hour, keys);
    if (scan.damage.length === 0) {
      await removeDurably(absolute);
      return;
    }
    // Changed on disk while open: every intact record is in the log files, the file stays as evidence.
    const aside = await freeName(`${absolute}.damaged-${this.#clock.now()}`);
    await rename(absolute, aside);
    await syncDirectory(join(absolute, '..'));
    this.#reportRecovery(open.path, { damage: scan.damage, aside, kept: scan.frames });
  }

  /** Writes the digest of every finished hour since the chain's last one, empty hours included. */
  async #digestUntil(trail: AccountTrail, hour: number): Promise<void> {
    while (trail.chain && trail.chain.nextStart + HOUR_MS <= hour) {
      const start = trail.chain.nextStart;
      const logFiles: DigestLogFile[] = [];
      for (const key of trail.closed.get(start) ?? []) {
        const known = this.#entries.get(key);
        if (known) logFiles.push(known);
        else {
          // Only after a crash between closing a log file and writing its digest.
          try {
            const { content, records } = await this.#files.readLog(key);
            logFiles.push(logFileEntry(key, content, records));
          } catch (error) {
            if (!isDamage(error)) throw error;
            this.#warn(`log file ${key} is damaged (${(error as Error).message}); its digest leaves it out`);
          }
        }
      }
      trail.chain = await writeDigest(this.#files, await this.#getSigner(), {
        ...trail.scope,
        start,
        logFiles,
        chain: trail.chain,
      });
      for (const file of logFiles) this.#entries.delete(file.s3Object);
    }
  }

  async #readLog(objectKey: string): Promise<CloudTrailRecord[]> {
    const cached = this.#cache.get(objectKey);
    if (cached) {
      this.#cache.delete(objectKey);
      this.#cache.set(objectKey, cached);
      return cached;
    }
    const { records } = await this.#files.readLog(objectKey);
    this.#remember(objectKey, records);
    return records;
  }

  #remember(objectKey: string, records: CloudTrailRecord[]): void {
    this.#cache.set(objectKey, records);
    if (this.#cache.size > CACHED_LOG_FILES) this.#cache.delete(this.#cache.keys().next().value as string);
  }
}

/** Errors that mean a file is not what sealdb wrote (as opposed to I/O trouble). */
function isDamage(error: unknown): boolean {
  return error instanceof SealError || error instanceof TrailFormatError || error instanceof SyntaxError;
}
