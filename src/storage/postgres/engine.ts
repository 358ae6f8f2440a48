/**
 * The connection to a PostgreSQL-compatible engine (PostgreSQL, CockroachDB, YugabyteDB): a
 * `pg` pool, the schema, and the runner of units of work (unit-of-work.ts). The SQL is kept to
 * what all three accept: SERIALIZABLE transactions retried on serialization failures (40001),
 * INSERT … ON CONFLICT, BYTEA, row-value IN lists, SELECT … FOR UPDATE (accepted by all three;
 * used only for a record log's head as the first statement of a unit holding the log's turn,
 * node-turns.ts, never in the order a request reads: see PgTableStore#point); no extensions, no
 * advisory locks, no engine-specific types.
 */
import pg from 'pg';
import { NodeTurns } from './node-turns.js';
import {
  type CatalogWrite,
  type Fence,
  FenceLost,
  Miss,
  type PendingRow,
  runWithUnit,
  StaleCatalog,
  type TurnStart,
  type UnitMode,
  UnitOfWork,
  workFence,
} from './unit-of-work.js';

/** SQLSTATEs after which the whole unit is run again: serialization failure, deadlock. */
const RETRY_CODES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 100;
/** A unit that keeps asking for rows is a bug, not contention: it stops instead of looping. */
const MAX_MISSES = 10_000;

export interface EngineOptions {
  /** `postgres://user:pass@host:port/db`; `?schema=name` keeps sealdb's tables in that schema. */
  readonly url: string;
  readonly poolSize?: number;
}

/** What a unit-aware backend answers when the engine refuses for good (not a client mistake). */
export class EngineError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EngineError';
  }
}

export class Engine {
  readonly pool: pg.Pool;
  /** Quoted schema name, prefixed to every table. */
  readonly schema: string;
  /** Statistics for tests and benchmarks. */
  readonly counters = { units: 0, reruns: 0, retries: 0, queries: 0, turnRestarts: 0 };
  readonly #turns = new NodeTurns();

  private constructor(pool: pg.Pool, schema: string) {
    this.pool = pool;
    this.schema = schema;
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const url = new URL(options.url);
    const schemaName = url.searchParams.get('schema') ?? 'sealdb';
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schemaName)) throw new Error(`Not a schema name: '${schemaName}'`);
    url.searchParams.delete('schema');
    const pool = new pg.Pool({ connectionString: url.toString(), max: options.poolSize ?? 16 });
    // An idle client's error (the engine restarted) must not crash the node: the next query reconnects.
    pool.on('error', () => undefined);
    const engine = new Engine(pool, `"${schemaName}"`);
    try {
      await engine.#createSchema(schemaName);
    } catch (error) {
      await pool.end();
      throw error;
    }
    return engine;
  }

  async #createSchema(schemaName: string): Promise<void> {
    const s = this.schema;
    const client = await this.pool.connect();
    try {
      // Two nodes starting at once may both create: the loser's duplicate is no error.
      for (const sql of [
        `CREATE SCHEMA IF NOT EXISTS ${s}`,
        // Items (space -2^31) and every secondary keyspace of every table. pkm = keyed hash of the
        // partition key, km = keyed hash of the whole key; sealed = AES-256-GCM (row-seal.ts).
        `CREATE TABLE IF NOT EXISTS ${s}.rows (
          tbl TEXT NOT NULL, space INT NOT NULL, pkm BYTEA NOT NULL, km BYTEA NOT NULL,
          size INT NOT NULL, sealed BYTEA NOT NULL, PRIMARY KEY (tbl, space, pkm, km))`,
        `CREATE TABLE IF NOT EXISTS ${s}.catalog (km BYTEA PRIMARY KEY, sealed BYTEA NOT NULL)`,
        // Bumped by every catalog change: a node's cached catalog is good while the epoch stands.
        `CREATE TABLE IF NOT EXISTS ${s}.catalog_epoch (id INT PRIMARY KEY, n BIGINT NOT NULL)`,
        `INSERT INTO ${s}.catalog_epoch (id, n) VALUES (0, 0) ON CONFLICT (id) DO NOTHING`,
        // Leases of background work (src/cluster/leases.ts): one holder at a time, fenced by token.
        `CREATE TABLE IF NOT EXISTS ${s}.leases (
          name TEXT PRIMARY KEY, holder TEXT NOT NULL, expires_at BIGINT NOT NULL, token BIGINT NOT NULL)`,
        // The audit trail (pg-trail-store.ts): trail = keyed hash of (account, region).
        `CREATE TABLE IF NOT EXISTS ${s}.audit_trails (trail BYTEA PRIMARY KEY, sealed BYTEA NOT NULL)`,
        `CREATE TABLE IF NOT EXISTS ${s}.audit_hours (
          trail BYTEA NOT NULL, hour BIGINT NOT NULL, closed BOOLEAN NOT NULL, PRIMARY KEY (trail, hour))`,
        `CREATE TABLE IF NOT EXISTS ${s}.audit_records (
          trail BYTEA NOT NULL, hour BIGINT NOT NULL, pos BIGINT NOT NULL, sealed BYTEA NOT NULL,
          PRIMARY KEY (trail, hour, pos))`,
        `CREATE TABLE IF NOT EXISTS ${s}.audit_digests (
          trail BYTEA NOT NULL, end_ms BIGINT NOT NULL, sealed BYTEA NOT NULL, PRIMARY KEY (trail, end_ms))`,
        `CREATE TABLE IF NOT EXISTS ${s}.audit_signing_key (id INT PRIMARY KEY, stored BYTEA NOT NULL)`,
        // Backups (pg-backups.ts): their items sealed under each backup's own data key, and their catalog.
        `CREATE TABLE IF NOT EXISTS ${s}.backup_rows (
          backup TEXT NOT NULL, pkm BYTEA NOT NULL, km BYTEA NOT NULL, size INT NOT NULL, sealed BYTEA NOT NULL,
          PRIMARY KEY (backup, pkm, km))`,
        `CREATE TABLE IF NOT EXISTS ${s}.backup_catalog (km BYTEA PRIMARY KEY, sealed BYTEA NOT NULL)`,
        // Exports' and imports' records (pg-transfers.ts), sealed as the backups' are.
        `CREATE TABLE IF NOT EXISTS ${s}.transfer_catalog (km BYTEA PRIMARY KEY, sealed BYTEA NOT NULL)`,
        // Point-in-time recovery's snapshots (pg-pitr.ts): items sealed under each snapshot's derived key.
        `CREATE TABLE IF NOT EXISTS ${s}.pitr_rows (
          snapshot TEXT NOT NULL, pkm BYTEA NOT NULL, km BYTEA NOT NULL, size INT NOT NULL, sealed BYTEA NOT NULL,
          PRIMARY KEY (snapshot, pkm, km))`,
      ]) {
        try {
          await client.query(sql);
        } catch (error) {
          if (!isDuplicateObject(error)) throw error;
        }
      }
    } finally {
      client.release();
    }
    void schemaName;
  }

  /**
   * Runs `fn` (a request, or a step of background work) as one unit of work: again after each
   * Miss, from the start after a serialization failure, and commits its buffered writes.
   * `read` units fetch without a transaction (each fetch is one statement); `write` units hold
   * one SERIALIZABLE transaction from their first fetch to their commit.
   */
  async run<T>(fn: () => Promise<T>, mode: UnitMode): Promise<T> {
    this.counters.units++;
    const unit = new UnitOfWork(mode);
    unit.fence = workFence();
    let misses = 0;
    for (let attempt = 1; ; ) {
      try {
        let result: T;
        for (;;) {
          try {
            result = await runWithUnit(unit, fn);
            break;
          } catch (error) {
            if (!(error instanceof Miss)) throw error;
            if (++misses > MAX_MISSES) throw new EngineError('a unit of work kept asking for rows');
            this.counters.reruns++;
            unit.discardWrites();
            await error.load(unit);
          }
        }
        await this.#commit(unit);
        for (const effect of unit.afterCommit.splice(0)) effect();
        return result;
      } catch (thrown) {
        let error = thrown;
        // An answer given from the cached catalog (ResourceNotFound, a validation against an old
        // definition) stands only if the catalog had not changed.
        if (!isRetryable(error) && unit.catalogUnchecked && unit.catalogEpoch === undefined) {
          error = await this.#checkEpochNow(unit).then(
            () => thrown,
            (checkError: unknown) => checkError,
          );
        }
        await this.#rollback(unit);
        if (!isRetryable(error) || attempt >= MAX_ATTEMPTS) {
          for (const work of unit.afterRollback.splice(0)) await work();
          throw error;
        }
        attempt++;
        this.counters.retries++;
        unit.reset();
        // Contending units back off by a random few milliseconds, growing with the attempts.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
      }
    }
  }

  /** One statement of a unit: inside its transaction (a write unit) or on any pooled connection. */
  async query<R extends pg.QueryResultRow>(
    unit: UnitOfWork,
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    const unchecked = unit.catalogUnchecked;
    if (unchecked && unit.catalogEpoch === undefined && /^SELECT /.test(text)) {
      // The catalog epoch rides along with the unit's first read: one round trip, not two.
      const result = await this.#send<R & { __epoch: string; __present: number | null }>(
        unit,
        `WITH e AS (SELECT n FROM ${this.schema}.catalog_epoch WHERE id = 0)
         SELECT e.n AS __epoch, q.* FROM e LEFT JOIN (SELECT 1 AS __present, ${text.slice(7)}) q ON true`,
        values,
      );
      this.#checkEpoch(unit, BigInt(result.rows[0]?.__epoch ?? -1));
      return { ...result, rows: result.rows.filter((r) => r.__present !== null) };
    }
    return this.#send<R>(unit, text, values);
  }

  async #checkEpochNow(unit: UnitOfWork): Promise<void> {
    const epoch = await this.#send<{ n: string }>(unit, `SELECT n FROM ${this.schema}.catalog_epoch WHERE id = 0`, []);
    this.#checkEpoch(unit, BigInt(epoch.rows[0]?.n ?? -1));
  }

  #checkEpoch(unit: UnitOfWork, epoch: bigint): void {
    const unchecked = unit.catalogUnchecked;
    if (!unchecked) return;
    if (epoch !== unchecked.expected) {
      unchecked.stale();
      throw new StaleCatalog();
    }
    unit.catalogEpoch = epoch;
  }

  async #send<R extends pg.QueryResultRow>(
    unit: UnitOfWork,
    text: string,
    values: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    this.counters.queries++;
    if (unit.mode === 'read') return this.pool.query<R>(text, values as unknown[]);
    if (!unit.client) {
      const turns = [...unit.turns].sort(([a], [b]) => (a < b ? -1 : 1));
      if (turns.length > 0 && !unit.heldTurns) {
        const names = new Set(turns.map(([name]) => name));
        unit.heldTurns = { names, release: await this.#turns.take(names) };
      }
      const client = await this.pool.connect();
      unit.client = client;
      await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      for (const [name, start] of turns) if (unit.holdsTurn(name)) await start(unit);
    }
    return unit.client.query<R>(text, values as unknown[]);
  }

  async #commit(unit: UnitOfWork): Promise<void> {
    // A unit that read nothing but the cached catalog has its epoch checked now.
    if (unit.catalogUnchecked && unit.catalogEpoch === undefined) await this.#checkEpochNow(unit);
    if (unit.writes.size > 0 || unit.catalogWrites.size > 0 || unit.dropTables.length > 0) {
      // A read that wrote after all (a table found inaccessible is marked so): in a transaction of its own.
      if (unit.mode === 'read') unit.mode = 'write';
      if (unit.fence) await this.#checkFence(unit, unit.fence);
      for (const tbl of unit.dropTables)
        await this.query(unit, `DELETE FROM ${this.schema}.rows WHERE tbl = $1`, [tbl]);
      // In key order: two units writing the same rows lock them in the same order, never in a cycle.
      await this.#writeRows(unit, [...unit.writes.values()].sort(compareRowKeys));
      await this.#writeCatalog(unit, [...unit.catalogWrites.values()]);
    }
    const client = unit.client;
    if (!client) return;
    unit.client = undefined;
    try {
      await client.query('COMMIT');
    } finally {
      client.release();
      unit.releaseTurns();
    }
  }

  /**
   * Ends the unit's transaction and runs it again from the start holding `turn` (node-turns.ts),
   * taken before its next transaction begins: what it read so far may predate the last holder's
   * commit. Given as the load of a Miss, so it passes every place that lets Miss through.
   */
  async restartHolding(unit: UnitOfWork, turn: string, start: TurnStart): Promise<void> {
    this.counters.turnRestarts++;
    unit.turns.set(turn, start);
    await this.#rollback(unit);
    unit.reset();
  }

  /**
   * In the unit's transaction: a lease taken over since (its row changed) makes this read
   * conflict with the taker's write under SERIALIZABLE, so at most one holder's work commits.
   */
  async #checkFence(unit: UnitOfWork, fence: Fence): Promise<void> {
    await this.checkFence((text, values) => this.query(unit, text, values), fence);
  }

  /** FenceLost unless the lease row still names the fence's holder and token, read with `query` (the caller's transaction). */
  async checkFence(
    query: (text: string, values: readonly unknown[]) => Promise<pg.QueryResult>,
    fence: Fence,
  ): Promise<void> {
    const held = await query(`SELECT 1 FROM ${this.schema}.leases WHERE name = $1 AND holder = $2 AND token = $3`, [
      fence.name,
      fence.holder,
      fence.token.toString(),
    ]);
    if (held.rows.length === 0) throw new FenceLost(fence.name);
  }

  /**
   * `fn` in a transaction of its own on a pooled connection (work outside units of work: the
   * audit trail's, a fenced record write), run again after a random few milliseconds, growing,
   * on a serialization failure or deadlock, at most `attempts` times.
   */
  async transaction<T>(
    isolation: 'SERIALIZABLE' | 'READ COMMITTED',
    attempts: number,
    fn: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
        const result = await fn(client);
        await client.query('COMMIT');
        client.release();
        return result;
      } catch (error) {
        await client.query('ROLLBACK').then(
          () => client.release(),
          () => client.release(true),
        );
        // Engines that run READ COMMITTED as SERIALIZABLE (CockroachDB by default) ask for a retry too.
        if (!isSerializationFailure(error) || attempt >= attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * attempt)));
      }
    }
  }

  async #rollback(unit: UnitOfWork): Promise<void> {
    const client = unit.client;
    // Taken before a connection, so let go even when none was got.
    if (!client) {
      unit.releaseTurns();
      return;
    }
    unit.client = undefined;
    try {
      await client.query('ROLLBACK');
      client.release();
    } catch (error) {
      // A broken connection is dropped from the pool rather than reused.
      client.release(error instanceof Error ? error : true);
    } finally {
      unit.releaseTurns();
    }
  }

  /** Upserts in one multi-row INSERT … ON CONFLICT, deletes in one DELETE: two statements per commit at most. */
  async #writeRows(unit: UnitOfWork, rows: readonly PendingRow[]): Promise<void> {
    const s = this.schema;
    const puts = rows.filter((r) => r.sealed !== undefined);
    const deletes = rows.filter((r) => r.sealed === undefined);
    for (let i = 0; i < deletes.length; i += 500) {
      const slice = deletes.slice(i, i + 500);
      const values: unknown[] = [];
      const tuples = slice.map((r) => {
        values.push(r.tbl, r.space, r.pkm, r.km);
        const n = values.length;
        return `($${n - 3}, $${n - 2}::int, $${n - 1}::bytea, $${n}::bytea)`;
      });
      await this.query(unit, `DELETE FROM ${s}.rows WHERE (tbl, space, pkm, km) IN (${tuples.join(', ')})`, values);
    }
    for (let i = 0; i < puts.length; i += 500) {
      const slice = puts.slice(i, i + 500);
      const values: unknown[] = [];
      const tuples = slice.map((r) => {
        values.push(r.tbl, r.space, r.pkm, r.km, r.size, r.sealed);
        const n = values.length;
        return `($${n - 5}, $${n - 4}::int, $${n - 3}::bytea, $${n - 2}::bytea, $${n - 1}::int, $${n}::bytea)`;
      });
      await this.query(
        unit,
        `INSERT INTO ${s}.rows (tbl, space, pkm, km, size, sealed) VALUES ${tuples.join(', ')}
         ON CONFLICT (tbl, space, pkm, km) DO UPDATE SET size = excluded.size, sealed = excluded.sealed`,
        values,
      );
    }
  }

  async #writeCatalog(unit: UnitOfWork, writes: readonly CatalogWrite[]): Promise<void> {
    if (writes.length === 0) return;
    const s = this.schema;
    for (const write of writes) {
      if (write.sealed) {
        await this.query(
          unit,
          `INSERT INTO ${s}.catalog (km, sealed) VALUES ($1, $2) ON CONFLICT (km) DO UPDATE SET sealed = excluded.sealed`,
          [write.km, write.sealed],
        );
      } else await this.query(unit, `DELETE FROM ${s}.catalog WHERE km = $1`, [write.km]);
    }
    await this.query(unit, `UPDATE ${s}.catalog_epoch SET n = n + 1 WHERE id = 0`, []);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function compareRowKeys(a: PendingRow, b: PendingRow): number {
  return (
    (a.tbl < b.tbl ? -1 : a.tbl > b.tbl ? 1 : 0) ||
    a.space - b.space ||
    Buffer.compare(a.pkm, b.pkm) ||
    Buffer.compare(a.km, b.km)
  );
}

function isRetryable(error: unknown): boolean {
  return error instanceof StaleCatalog || isSerializationFailure(error);
}

function isSerializationFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRY_CODES.has(code);
}

/** 42P06 duplicate schema, 42P07 duplicate table, 23505 a concurrent CREATE's catalog row. */
function isDuplicateObject(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '42P06' || code === '42P07' || code === '23505';
}
