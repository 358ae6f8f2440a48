/**
 * The audit trail in the engine, behind the same TrailStore the data directory's files implement,
 * so LookupEvents on any node sees every node's KMS calls and one digest chain per account and
 * region covers them all. Tables (engine.ts): `audit_trails` (trail → its account and region,
 * sealed), `audit_hours` (trail, hour → closed), `audit_records` (trail, hour, position → the
 * record's JSON, sealed), `audit_digests` (trail, end → the digest document, its object key and
 * signature, sealed) and `audit_signing_key` (the digest signing key, sealed, its private key
 * also wrapped under the root of trust as on disk). `trail` is an HMAC of (account, region) under
 * a root-derived key; every sealed value is AES-256-GCM under another, its AAD binding it to its
 * row's key, so a record moved to another trail, hour or position fails authentication.
 *
 * Appends and closing an hour meet at the hour's row: an append holds it FOR SHARE (appends do
 * not wait for each other) and goes to the next hour when it is closed; closing takes it
 * exclusively in a transaction of its own, so once that commits no append can still add to the
 * hour, and the digest, written in the next transaction, sees every record the hour got.
 * Positions need no shared counter: (ms into the hour)·2^31 + a random node tag·2^12 + a
 * per-node sequence, unique and ordered by time within an hour.
 *
 * An hour's log files (the digest lists and hashes them) are not stored: they are the hour's
 * records in position order cut into LOG_FILE_BYTES chunks (log-chunks.ts), which verification
 * (`verifyEngineTrail`) makes again byte for byte from the records.
 */

import type { KeyObject } from 'node:crypto';
import { createHmac, randomInt } from 'node:crypto';
import {
  asDigestDocument,
  buildDigest,
  type ChainLink,
  type DigestLogFile,
  serializeDigest,
  sha256Hex,
  signingString,
  verifyDigestSignature,
} from '../../cloudtrail/digest.js';
import { logFileEntry } from '../../cloudtrail/digest-writer.js';
import {
  chunkSuffix,
  digestObjectKey,
  HOUR_MS,
  hourStart,
  isoSeconds,
  logObjectKey,
  TRAIL_BUCKET,
} from '../../cloudtrail/layout.js';
import { type LogChunk, LogChunker } from '../../cloudtrail/log-chunks.js';
import type { CloudTrailRecord, Delivery } from '../../cloudtrail/record.js';
import { DigestSigner } from '../../cloudtrail/signing-key.js';
import type { HourScan, RecordVisitor, TrailSource, TrailStore } from '../../cloudtrail/trail-source.js';
import type { Clock } from '../../core/clock.js';
import { type Scope, scopeKey } from '../../core/scope.js';
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type { Engine } from './engine.js';
import { openBlob, sealBlob } from './row-seal.js';

const SEAL_PURPOSE = 'sealdb/engine-audit-seal/v1';
const MAC_PURPOSE = 'sealdb/engine-audit-mac/v1';
const SCAN_BATCH = 256;
const NODE_TAG_BITS = 19;
const SEQUENCE_BITS = 12;
/** SQLSTATEs after which a transaction is run again: serialization failure, deadlock. */
/** How often a trail write runs again after a serialization failure (Engine.transaction). */
const TRANSACTION_ATTEMPTS = 50;

interface SealedDigest {
  readonly objectKey: string;
  /** The uncompressed digest document, as hashed and signed. */
  readonly document: string;
  readonly signature: string;
}

interface TrailRow {
  readonly trail: Buffer;
  readonly scope: Scope;
  /** Start of the first hour without a digest. */
  readonly nextStart: number;
  readonly previous: ChainLink | undefined;
}

/** How long a node that found another closing the hours leaves them to it before asking again. */
const DIGESTS_ELSEWHERE_RECHECK_MS = 5_000;

export interface PgTrailStoreOptions {
  readonly engine: Engine;
  readonly root: RootOfTrust;
  readonly clock: Clock;
  readonly warn?: (message: string) => void;
  readonly onDigestFailure?: (scope: Scope, error: unknown) => void;
  /**
   * Whether this node closes finished hours now (it holds the audit lease, cluster/leased-work.ts):
   * the others leave the digests to it, and take over when it dies. Absent: always.
   */
  readonly digestsHere?: () => Promise<boolean>;
}

export class PgTrailStore implements TrailStore {
  readonly #engine: Engine;
  readonly #root: RootOfTrust;
  readonly #clock: Clock;
  readonly #key: Buffer;
  readonly #macKey: Buffer;
  readonly #warn: (message: string) => void;
  readonly #onDigestFailure: ((scope: Scope, error: unknown) => void) | undefined;
  readonly #digestsHere: () => Promise<boolean>;
  /** Another node closes the hours: not asked again before this clock time. */
  #othersUntil: number | undefined;
  readonly #nodeTag = randomInt(2 ** NODE_TAG_BITS);
  readonly #knownTrails = new Set<string>();
  readonly #failing = new Set<string>();
  /** The trail and hour this node last appended to (its row exists). */
  #knownHours: string | undefined;
  #sequence = 0;
  #lastMs = -1;
  /** Every trail's digests were written up to this hour (nothing to close before the clock leaves it). */
  #closedThrough: number | undefined;
  #closing: Promise<void> | undefined;
  #signer: Promise<DigestSigner> | undefined;
  #closed = false;

  constructor(options: PgTrailStoreOptions) {
    this.#engine = options.engine;
    this.#root = options.root;
    this.#clock = options.clock;
    this.#key = options.root.deriveKey(SEAL_PURPOSE);
    this.#macKey = options.root.deriveKey(MAC_PURPOSE);
    this.#warn = options.warn ?? ((message) => console.error(`sealdb: audit trail: ${message}`));
    this.#onDigestFailure = options.onDigestFailure;
    this.#digestsHere = options.digestsHere ?? (async () => true);
  }

  /** The signing key (kept in the engine, made by the first node that needs one); undefined while there is none. */
  async signer(): Promise<DigestSigner | undefined> {
    if (this.#signer) return this.#signer;
    const stored = await this.#readSigner();
    if (stored) this.#signer = Promise.resolve(stored);
    return stored;
  }

  inRegion(region: string): TrailSource {
    return {
      hours: (accountId) => this.#hours({ accountId, region }),
      scanHour: (accountId, hour, scan, visit) => this.#scanHour({ accountId, region }, hour, scan, visit),
    };
  }

  async append(deliveries: readonly Delivery[]): Promise<void> {
    if (this.#closed) throw new Error('the audit trail is closed');
    await this.closeFinishedHours();
    const now = this.#clock.now();
    for (const { accountId, record } of deliveries) {
      const scope = { accountId, region: record.awsRegion };
      const trail = this.#trailMac(scope);
      if (!this.#knownTrails.has(trail.toString('hex'))) {
        // The signing key exists before anything it will vouch for (as on disk).
        await this.#getSigner();
        await this.#engine.pool.query(
          `INSERT INTO ${this.#engine.schema}.audit_trails (trail, sealed) VALUES ($1, $2) ON CONFLICT (trail) DO NOTHING`,
          [trail, sealBlob(this.#key, aad('t', trail), Buffer.from(JSON.stringify(scope), 'utf8'))],
        );
        this.#knownTrails.add(trail.toString('hex'));
      }
      const json = Buffer.from(JSON.stringify(record), 'utf8');
      await this.#engine.transaction('READ COMMITTED', TRANSACTION_ATTEMPTS, async (client) => {
        const s = this.#engine.schema;
        for (let hour = hourStart(now); ; hour += HOUR_MS) {
          // Rows are never removed: an hour this node saw once needs no INSERT again.
          const slot = `${trail.toString('hex')}|${hour}`;
          if (this.#knownHours !== slot) {
            await client.query(
              `INSERT INTO ${s}.audit_hours (trail, hour, closed) VALUES ($1, $2, false) ON CONFLICT (trail, hour) DO NOTHING`,
              [trail, hour],
            );
          }
          const state = await client.query<{ closed: boolean }>(
            `SELECT closed FROM ${s}.audit_hours WHERE trail = $1 AND hour = $2 FOR SHARE`,
            [trail, hour],
          );
          if (state.rows[0]?.closed) continue;
          this.#knownHours = slot;
          const pos = this.#position(now, hour);
          await client.query(`INSERT INTO ${s}.audit_records (trail, hour, pos, sealed) VALUES ($1, $2, $3, $4)`, [
            trail,
            hour,
            pos,
            sealBlob(this.#key, recordAad(trail, hour, pos), json),
          ]);
          return;
        }
      });
    }
  }

  /** Closes the hours the clock has left, on every trail, and writes their digests. */
  async closeFinishedHours(): Promise<void> {
    if (this.#closed || this.#closedThrough === hourStart(this.#clock.now())) return;
    const at = this.#clock.now();
    if (this.#othersUntil !== undefined && at < this.#othersUntil) return;
    if (!(await this.#digestsHere())) {
      // Asked again a little later (it may die), not on every KMS call meanwhile.
      this.#othersUntil = at + DIGESTS_ELSEWHERE_RECHECK_MS;
      return;
    }
    this.#othersUntil = undefined;
    await this.#closeFinished();
  }

  #closeFinished(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    const now = hourStart(this.#clock.now());
    if (this.#closedThrough === now) return Promise.resolve();
    this.#closing ??= this.#closeAll(now).finally(() => {
      this.#closing = undefined;
    });
    return this.#closing;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    // Whichever node: a stopping node has given its leases up, and the first digest written wins.
    await this.#closeFinished().catch(() => undefined);
    this.#closed = true;
    this.#key.fill(0);
    this.#macKey.fill(0);
  }

  async #closeAll(now: number): Promise<void> {
    let settled = true;
    for (const trail of await this.#trails()) {
      const key = scopeKey(trail.scope);
      const where = `account ${trail.scope.accountId} in ${trail.scope.region}`;
      try {
        await this.#digestUntil(trail, now);
        if (this.#failing.delete(key)) this.#warn(`the digests of ${where} are written again`);
      } catch (error) {
        // As on disk: a digest only vouches for records already stored, so failing one fails no KMS call.
        settled = false;
        this.#onDigestFailure?.(trail.scope, error);
        if (!this.#failing.has(key)) {
          this.#failing.add(key);
          this.#warn(
            `could not write the digest of ${where}: ${(error as Error).message}. KMS calls are still recorded; the digest is retried on every KMS call, lookup and sweep until it is written`,
          );
        }
      }
    }
    if (settled) this.#closedThrough = now;
  }

  /** Every trail with where its chain stands. */
  async #trails(): Promise<TrailRow[]> {
    const s = this.#engine.schema;
    const result = await this.#engine.pool.query<{ trail: Buffer; sealed: Buffer; first: string | null }>(
      `SELECT t.trail, t.sealed, (SELECT min(h.hour) FROM ${s}.audit_hours h WHERE h.trail = t.trail) AS first
       FROM ${s}.audit_trails t`,
    );
    const out: TrailRow[] = [];
    for (const row of result.rows) {
      const scope = JSON.parse(openBlob(this.#key, aad('t', row.trail), row.sealed).toString('utf8')) as Scope;
      const chain = await this.#chainOf(row.trail);
      const first = row.first === null ? undefined : Number(row.first);
      if (!chain && first === undefined) continue;
      out.push({
        trail: row.trail,
        scope,
        nextStart: chain?.end ?? (first as number),
        previous: chain?.link,
      });
    }
    return out;
  }

  /** The trail's newest digest, as the next one names it. */
  async #chainOf(trail: Buffer): Promise<{ end: number; link: ChainLink } | undefined> {
    const result = await this.#engine.pool.query<{ end_ms: string; sealed: Buffer }>(
      `SELECT end_ms, sealed FROM ${this.#engine.schema}.audit_digests WHERE trail = $1 ORDER BY end_ms DESC LIMIT 1`,
      [trail],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    const end = Number(row.end_ms);
    const digest = this.#openDigest(trail, end, row.sealed);
    return {
      end,
      link: {
        s3Bucket: TRAIL_BUCKET,
        s3Object: digest.objectKey,
        hashValue: sha256Hex(Buffer.from(digest.document, 'utf8')),
        signature: digest.signature,
      },
    };
  }

  /** Writes the digest of every finished hour since the chain's last one, empty hours included. */
  async #digestUntil(trail: TrailRow, now: number): Promise<void> {
    let start = trail.nextStart;
    let previous = trail.previous;
    const s = this.#engine.schema;
    while (start + HOUR_MS <= now) {
      // No append adds to the hour once this commits: it waits for those holding the hour's row.
      await this.#engine.transaction('READ COMMITTED', TRANSACTION_ATTEMPTS, (client) =>
        client.query(
          `INSERT INTO ${s}.audit_hours (trail, hour, closed) VALUES ($1, $2, true)
           ON CONFLICT (trail, hour) DO UPDATE SET closed = true`,
          [trail.trail, start],
        ),
      );
      const end = start + HOUR_MS;
      const logFiles: DigestLogFile[] = [];
      for (const chunk of await this.#chunks(trail.trail, start)) {
        const objectKey = logObjectKey({ ...trail.scope, hour: start, unique: chunkSuffix(chunk.first) });
        logFiles.push(logFileEntry(objectKey, chunk.content, chunk.records));
      }
      const signer = await this.#getSigner();
      const objectKey = digestObjectKey({ accountId: trail.scope.accountId, region: trail.scope.region, end });
      const doc = buildDigest({
        accountId: trail.scope.accountId,
        start: isoSeconds(start),
        end: isoSeconds(end),
        bucket: TRAIL_BUCKET,
        objectKey,
        fingerprint: signer.fingerprint,
        logFiles,
        previous,
      });
      const bytes = serializeDigest(doc);
      const hashValue = sha256Hex(bytes);
      const signature = signer.sign(signingString(doc, hashValue));
      const sealed: SealedDigest = { objectKey, document: bytes.toString('utf8'), signature };
      const inserted = await this.#engine.pool.query(
        `INSERT INTO ${s}.audit_digests (trail, end_ms, sealed) VALUES ($1, $2, $3) ON CONFLICT (trail, end_ms) DO NOTHING`,
        [trail.trail, end, sealBlob(this.#key, digestAad(trail.trail, end), Buffer.from(JSON.stringify(sealed)))],
      );
      if (inserted.rowCount === 1) previous = { s3Bucket: TRAIL_BUCKET, s3Object: objectKey, hashValue, signature };
      else {
        // Another node wrote this hour's digest first: the chain goes on from its one.
        const chain = await this.#chainOf(trail.trail);
        if (!chain) throw new Error('a digest written by another node is not there');
        previous = chain.link;
        start = chain.end;
        continue;
      }
      start = end;
    }
  }

  /** An hour's log files, made from its records in position order (as when it was digested). */
  async #chunks(trail: Buffer, hour: number): Promise<LogChunk[]> {
    const chunks: LogChunk[] = [];
    const chunker = new LogChunker(async (chunk) => {
      chunks.push(chunk);
    });
    for await (const { json } of this.#records(trail, hour, undefined, 'ASC')) await chunker.add(json);
    await chunker.finish();
    return chunks;
  }

  async *#records(
    trail: Buffer,
    hour: number,
    before: number | undefined,
    order: 'ASC' | 'DESC',
  ): AsyncGenerator<{ pos: number; json: Buffer }> {
    let bound = before;
    for (;;) {
      const values: unknown[] = [trail, hour];
      let condition = '';
      if (bound !== undefined) {
        values.push(bound);
        condition = order === 'DESC' ? 'AND pos < $3' : 'AND pos > $3';
      }
      const result = await this.#engine.pool.query<{ pos: string; sealed: Buffer }>(
        `SELECT pos, sealed FROM ${this.#engine.schema}.audit_records WHERE trail = $1 AND hour = $2 ${condition}
         ORDER BY pos ${order} LIMIT ${SCAN_BATCH}`,
        values,
      );
      for (const row of result.rows) {
        const pos = Number(row.pos);
        yield { pos, json: openBlob(this.#key, recordAad(trail, hour, pos), row.sealed) };
        bound = pos;
      }
      if (result.rows.length < SCAN_BATCH) return;
    }
  }

  async #hours(scope: Scope): Promise<readonly number[]> {
    const result = await this.#engine.pool.query<{ hour: string }>(
      `SELECT DISTINCT hour FROM ${this.#engine.schema}.audit_records WHERE trail = $1 ORDER BY hour`,
      [this.#trailMac(scope)],
    );
    return result.rows.map((r) => Number(r.hour));
  }

  async #scanHour(scope: Scope, hour: number, scan: HourScan, visit: RecordVisitor): Promise<void> {
    for await (const { pos, json } of this.#records(this.#trailMac(scope), hour, scan.before, 'DESC')) {
      if (!visit(JSON.parse(json.toString('utf8')) as CloudTrailRecord, pos)) return;
    }
  }

  /** Unique within the hour on this node, and ordered by time across nodes. */
  #position(now: number, hour: number): number {
    const offset = Math.min(Math.max(now - hour, 0), HOUR_MS - 1);
    if (offset !== this.#lastMs) {
      this.#lastMs = offset;
      this.#sequence = 0;
    }
    const sequence = this.#sequence++;
    // 4096 records in one ms on one node: the rest go to the next ms.
    if (sequence >= 2 ** SEQUENCE_BITS) {
      this.#lastMs = Math.min(offset + 1, HOUR_MS - 1);
      this.#sequence = 1;
      return (this.#lastMs * 2 ** NODE_TAG_BITS + this.#nodeTag) * 2 ** SEQUENCE_BITS;
    }
    return (offset * 2 ** NODE_TAG_BITS + this.#nodeTag) * 2 ** SEQUENCE_BITS + sequence;
  }

  #trailMac(scope: Scope): Buffer {
    return createHmac('sha256', this.#macKey).update(scopeKey(scope), 'utf8').digest();
  }

  #openDigest(trail: Buffer, end: number, sealed: Buffer): SealedDigest {
    return JSON.parse(openBlob(this.#key, digestAad(trail, end), sealed).toString('utf8')) as SealedDigest;
  }

  #getSigner(): Promise<DigestSigner> {
    this.#signer ??= (async () => {
      const existing = await this.#readSigner();
      if (existing) return existing;
      const { stored } = DigestSigner.generate(this.#root, this.#clock.now());
      // Two nodes may make one at once: the first stored is everybody's.
      await this.#engine.pool.query(
        `INSERT INTO ${this.#engine.schema}.audit_signing_key (id, stored) VALUES (0, $1) ON CONFLICT (id) DO NOTHING`,
        [sealBlob(this.#key, aad('k', Buffer.alloc(0)), Buffer.from(stored, 'utf8'))],
      );
      const kept = await this.#readSigner();
      if (!kept) throw new Error('the signing key just stored in the engine is not there');
      return kept;
    })().catch((error: unknown) => {
      this.#signer = undefined;
      throw error;
    });
    return this.#signer;
  }

  async #readSigner(): Promise<DigestSigner | undefined> {
    const result = await this.#engine.pool.query<{ stored: Buffer }>(
      `SELECT stored FROM ${this.#engine.schema}.audit_signing_key WHERE id = 0`,
    );
    const row = result.rows[0];
    if (!row) return undefined;
    const text = openBlob(this.#key, aad('k', Buffer.alloc(0)), row.stored).toString('utf8');
    return DigestSigner.fromStored(text, this.#root, 'the engine signing key (audit_signing_key)');
  }

  /**
   * Checks every trail in the engine as `sealdb audit verify` checks a trail folder: each digest
   * signed by the signing key and chained to the one before, each hour's records hashing as its
   * digest lists them, no records in an hour without a digest before the chain's end, every
   * sealed row authentic where it lies.
   */
  async verify(publicKey?: KeyObject): Promise<EngineVerifyResult> {
    const problems: string[] = [];
    const accounts: EngineVerifyResult['accounts'][number][] = [];
    const key = publicKey ?? (await this.signer())?.publicKey;
    const s = this.#engine.schema;
    const trails = await this.#engine.pool.query<{ trail: Buffer; sealed: Buffer }>(
      `SELECT trail, sealed FROM ${s}.audit_trails`,
    );
    for (const { trail, sealed } of trails.rows) {
      const scope = JSON.parse(openBlob(this.#key, aad('t', trail), sealed).toString('utf8')) as Scope;
      const where = `${scope.accountId}/${scope.region}`;
      const digests = await this.#engine.pool.query<{ end_ms: string; sealed: Buffer }>(
        `SELECT end_ms, sealed FROM ${s}.audit_digests WHERE trail = $1 ORDER BY end_ms`,
        [trail],
      );
      let previous: { link: ChainLink; end: number } | undefined;
      let logFiles = 0;
      for (const row of digests.rows) {
        const end = Number(row.end_ms);
        let digest: SealedDigest;
        try {
          digest = this.#openDigest(trail, end, row.sealed);
        } catch {
          problems.push(`${where}: the digest ending ${isoSeconds(end)} does not authenticate (modified)`);
          previous = undefined;
          continue;
        }
        const doc = asDigestDocument(JSON.parse(digest.document));
        const hash = sha256Hex(Buffer.from(digest.document, 'utf8'));
        if (!doc) {
          problems.push(`${where}: ${digest.objectKey} is not a digest`);
          continue;
        }
        if (!key || !verifyDigestSignature(key, doc, hash, digest.signature)) {
          problems.push(`${where}: ${digest.objectKey}: the signature does not verify`);
        }
        if (previous) {
          const link = previous.link;
          if (
            previous.end !== end - HOUR_MS ||
            doc.previousDigestS3Object !== link.s3Object ||
            doc.previousDigestHashValue !== link.hashValue ||
            doc.previousDigestSignature !== link.signature
          ) {
            problems.push(`${where}: ${digest.objectKey} does not chain to the digest before it`);
          }
        }
        const chunks = await this.#chunks(trail, end - HOUR_MS).catch((error: unknown) => {
          problems.push(
            `${where}: a record of the hour before ${isoSeconds(end)} does not authenticate (${(error as Error).message})`,
          );
          return undefined;
        });
        if (chunks) {
          const hashes = chunks.map((c) => sha256Hex(c.content));
          const listed = doc.logFiles.map((f) => f.hashValue);
          if (hashes.length !== listed.length || hashes.some((h, i) => h !== listed[i])) {
            problems.push(
              `${where}: the records of the hour before ${isoSeconds(end)} are not those its digest lists (modified, missing or inserted)`,
            );
          }
        }
        logFiles += doc.logFiles.length;
        previous = {
          link: { s3Bucket: TRAIL_BUCKET, s3Object: digest.objectKey, hashValue: hash, signature: digest.signature },
          end,
        };
      }
      const last = previous?.end;
      if (last !== undefined) {
        const stray = await this.#engine.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${s}.audit_records r WHERE r.trail = $1 AND r.hour < $2
             AND NOT EXISTS (SELECT 1 FROM ${s}.audit_digests d WHERE d.trail = r.trail AND d.end_ms = r.hour + ${HOUR_MS})`,
          [trail, last],
        );
        if (Number(stray.rows[0]?.n ?? 0) > 0) problems.push(`${where}: records in hours no digest covers (inserted)`);
      }
      accounts.push({ accountId: scope.accountId, region: scope.region, digests: digests.rows.length, logFiles });
    }
    return { ok: problems.length === 0, problems, accounts };
  }
}

export interface EngineVerifyResult {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly accounts: readonly { accountId: string; region: string; digests: number; logFiles: number }[];
}

function aad(kind: string, key: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`sealdb/engine-audit/${kind}|`, 'latin1'), key]);
}

function recordAad(trail: Buffer, hour: number, pos: number): Buffer {
  return Buffer.concat([aad('r', trail), Buffer.from(`|${hour}|${pos}`, 'latin1')]);
}

function digestAad(trail: Buffer, end: number): Buffer {
  return Buffer.concat([aad('d', trail), Buffer.from(`|${end}`, 'latin1')]);
}
