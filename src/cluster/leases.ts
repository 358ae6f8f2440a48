/**
 * Leases held in the engine, so each kind of background work (TTL sweeps, stream trimming, …)
 * runs on exactly one node of a cluster at a time, and moves to another node when its holder
 * dies (stops renewing). A lease is a row (name, holder, expires_at, token) of the engine's
 * `leases` table (created with the schema, storage/postgres/engine.ts).
 *
 * Taking and renewing is one `INSERT … ON CONFLICT (name) DO UPDATE … WHERE` in a SERIALIZABLE
 * transaction: it succeeds when the lease is free, expired, or already this node's; no advisory
 * locks, SQL that PostgreSQL, CockroachDB and YugabyteDB all accept. Each change of holder
 * increments the fencing token. A node's own view of its lease ends `ttlMs` after the attempt
 * that last renewed it began (never later than the engine row says), but clocks of nodes differ
 * and a process can pause, so the view alone is not trusted with writes: the work's unit of
 * work carries the fence, and its commit checks the row still names this holder and token in
 * the same SERIALIZABLE transaction (Engine#checkFence), so the work of a holder that lost the
 * lease is rolled back, whatever its clock said.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../core/clock.js';
import type { Engine } from '../storage/postgres/engine.js';
import type { Fence } from '../storage/postgres/unit-of-work.js';

export interface LeaseTiming {
  /** How long a taken or renewed lease stands without renewal (default 15 s). */
  readonly ttlMs: number;
  /** Real milliseconds between renewals (default a third of ttlMs: two renewals may fail in a row). */
  readonly renewMs: number;
}

export const DEFAULT_LEASE_TTL_MS = 15_000;

export interface LeaseKeeperOptions {
  readonly engine: Engine;
  readonly clock: Clock;
  /** The leases this node competes for. */
  readonly names: readonly string[];
  readonly timing?: Partial<LeaseTiming>;
  /** This node's identity in the lease rows (default: host, process id and a random tag). */
  readonly holder?: string;
  /** Told about failed attempts other than serialization failures (the next renewal tries again). */
  readonly onError?: (error: unknown) => void;
}

interface Held {
  readonly token: bigint;
  /** Clock time after which this node no longer considers the lease its own. */
  readonly until: number;
}

/** SQLSTATEs of a lost race between two nodes' attempts: this round is lost, the next may win. */
const CONTENTION = new Set(['40001', '40P01', '23505']);

export class LeaseKeeper {
  readonly holder: string;
  readonly timing: LeaseTiming;
  readonly #engine: Engine;
  readonly #clock: Clock;
  readonly #names: readonly string[];
  readonly #onError: (error: unknown) => void;
  readonly #held = new Map<string, Held>();
  /** Leases of this node's own jobs (held from their start to their end), renewed with the others. */
  readonly #jobs = new Set<string>();
  /** The attempt in flight per lease: callers share it. */
  readonly #attempts = new Map<string, Promise<Fence | undefined>>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: LeaseKeeperOptions) {
    this.#engine = options.engine;
    this.#clock = options.clock;
    this.#names = options.names;
    this.#onError = options.onError ?? (() => undefined);
    const ttlMs = options.timing?.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.timing = { ttlMs, renewMs: options.timing?.renewMs ?? Math.max(1, Math.floor(ttlMs / 3)) };
    if (!(this.timing.renewMs < ttlMs)) throw new RangeError('a lease must be renewed more often than it expires');
    this.holder = options.holder ?? `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  }

  /** Takes what is free now, then renews (and takes over expired leases) every renewMs. */
  async start(): Promise<void> {
    await this.renewAll();
    const next = () => {
      if (this.#stopped) return;
      this.#timer = setTimeout(() => {
        this.renewAll().then(next, next);
      }, this.timing.renewMs);
      this.#timer.unref();
    };
    next();
  }

  /** One round: every lease taken or renewed if it can be. */
  async renewAll(): Promise<void> {
    await Promise.all([...this.#names, ...this.#jobs].map((name) => this.#attempt(name)));
  }

  /**
   * Takes a lease of one job (a new job's name, or an interrupted job's whose node stopped
   * renewing it) and keeps renewing it until `release`. undefined: another node holds it.
   */
  async hold(name: string): Promise<Fence | undefined> {
    this.#jobs.add(name);
    const fence = await this.#attempt(name);
    if (!fence) this.#jobs.delete(name);
    return fence;
  }

  /** A job's lease given up for good: its row goes (no other node needs it once the job ended). */
  async release(name: string): Promise<void> {
    this.#jobs.delete(name);
    await this.#attempts.get(name)?.catch(() => undefined);
    this.#held.delete(name);
    await this.#engine.pool.query(`DELETE FROM ${this.#engine.schema}.leases WHERE name = $1 AND holder = $2`, [
      name,
      this.holder,
    ]);
  }

  /** The fence of a lease this node holds now by its own view, else undefined (no engine call). */
  held(name: string): Fence | undefined {
    const held = this.#held.get(name);
    if (!held || this.#clock.now() >= held.until) return undefined;
    return { name, holder: this.holder, token: held.token };
  }

  /**
   * The lease's fence for work about to start: held by this node's view, or taken / renewed now
   * (a clock moved forward by a test, a renewal timer that has not run yet). undefined: another
   * node holds it.
   */
  async ensure(name: string): Promise<Fence | undefined> {
    const held = this.#held.get(name);
    // Renewed ahead of the timer once less than one renewal interval is left.
    if (held && this.#clock.now() < held.until - this.timing.renewMs) return this.held(name);
    return this.#attempt(name);
  }

  /** Stops renewing and gives the leases up, so another node takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.allSettled([...this.#attempts.values()]);
    const names = [...this.#held.keys()];
    this.#held.clear();
    this.#jobs.clear();
    if (names.length === 0) return;
    await this.#engine.pool
      .query(`UPDATE ${this.#engine.schema}.leases SET expires_at = 0 WHERE holder = $1 AND name = ANY($2::text[])`, [
        this.holder,
        names,
      ])
      .catch((error: unknown) => this.#onError(error));
  }

  #attempt(name: string): Promise<Fence | undefined> {
    const running = this.#attempts.get(name);
    if (running) return running;
    const attempt = this.#acquire(name).finally(() => this.#attempts.delete(name));
    this.#attempts.set(name, attempt);
    return attempt;
  }

  async #acquire(name: string): Promise<Fence | undefined> {
    if (this.#stopped) return undefined;
    const began = this.#clock.now();
    const client = await this.#engine.pool.connect().catch((error: unknown) => {
      this.#onError(error);
      return undefined;
    });
    if (!client) return this.held(name);
    let token: bigint | undefined;
    try {
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      // Free, expired, or ours: (re)taken with a new expiry. A new holder gets the next token;
      // the same holder keeps its token (no one else held the lease in between).
      const result = await client.query<{ token: string }>(
        `INSERT INTO ${this.#engine.schema}.leases AS l (name, holder, expires_at, token) VALUES ($1, $2, $3, 1)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
           token = CASE WHEN l.holder = excluded.holder THEN l.token ELSE l.token + 1 END
         WHERE l.holder = excluded.holder OR l.expires_at <= $4
         RETURNING token`,
        [name, this.holder, began + this.timing.ttlMs, began],
      );
      await client.query('COMMIT');
      client.release();
      const row = result.rows[0];
      token = row ? BigInt(row.token) : undefined;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release(true);
      if (!CONTENTION.has((error as { code?: string }).code ?? '')) this.#onError(error);
      // Not known either way: the view stands until it lapses (the fence protects the work).
      return this.held(name);
    }
    if (token === undefined) this.#held.delete(name);
    else if (!this.#stopped) this.#held.set(name, { token, until: began + this.timing.ttlMs });
    return this.held(name);
  }
}
