/** Prometheus metrics served at GET /metrics: KMS calls, table-key cache, tables by encryption state. */
import { Counter, Gauge, Registry } from 'prom-client';

export interface TableSummary {
  readonly sseType: string;
  readonly status: string;
}

export class Metrics {
  readonly registry = new Registry();
  readonly #kmsCalls: Counter<'operation' | 'outcome'>;
  readonly #cache: Counter<'result'>;
  readonly #walSyncs: Counter;
  readonly #damagedFiles: Gauge<'file' | 'kind'>;
  readonly #auditDigestFailures: Counter;
  readonly #ttlDeleted: Counter;

  constructor(tables: () => readonly TableSummary[]) {
    this.#kmsCalls = new Counter({
      name: 'sealdb_kms_calls_total',
      help: 'KMS calls by operation and outcome, whether made by clients or by DynamoDB for a table',
      labelNames: ['operation', 'outcome'],
      registers: [this.registry],
    });
    this.#cache = new Counter({
      name: 'sealdb_table_key_cache_total',
      help: 'Table-key lookups answered from the cache (hit) or by a KMS Decrypt (miss)',
      labelNames: ['result'],
      registers: [this.registry],
    });
    this.#walSyncs = new Counter({
      name: 'sealdb_wal_syncs_total',
      help: 'Flushes of table write-ahead logs to stable storage (--durability fsync; one per group commit)',
      registers: [this.registry],
    });
    this.#damagedFiles = new Gauge({
      name: 'sealdb_damaged_files',
      help: 'Files found damaged (1) since the start: a table file (that table refuses every call) or the catalog',
      labelNames: ['file', 'kind'],
      registers: [this.registry],
    });
    this.#auditDigestFailures = new Counter({
      name: 'sealdb_audit_digest_failures_total',
      help: "Failed attempts to write an audit hour's signed digest (retried until written; KMS calls go on being recorded)",
      registers: [this.registry],
    });
    this.#ttlDeleted = new Counter({
      name: 'sealdb_ttl_deleted_items_total',
      help: 'Items deleted by Time to Live because their TTL attribute had passed (all tables)',
      registers: [this.registry],
    });
    new Gauge({
      name: 'sealdb_tables',
      help: 'Tables by key type (OWNED, MANAGED, CUSTOMER) and table status',
      labelNames: ['sse_type', 'status'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const table of tables()) this.inc({ sse_type: table.sseType, status: table.status });
      },
    });
  }

  kmsCall(operation: string, outcome: 'success' | 'failure'): void {
    this.#kmsCalls.inc({ operation, outcome });
  }

  readonly cacheStats = {
    hit: () => this.#cache.inc({ result: 'hit' }),
    miss: () => this.#cache.inc({ result: 'miss' }),
  };

  readonly walSync = (): void => this.#walSyncs.inc();

  readonly damagedFile = (file: string, kind: string): void => this.#damagedFiles.set({ file, kind }, 1);
  readonly auditDigestFailure = (): void => this.#auditDigestFailures.inc();
  readonly ttlDeleted = (count: number): void => this.#ttlDeleted.inc(count);

  /**
   * sealdb_pitr_bytes{table,part}: the disk point-in-time recovery costs each table, its change
   * log in the table file (part="log", its records' bytes; an unopened table counts 0) and its
   * snapshot files (part="snapshots"). DynamoDB reports no such figure (DescribeTable and
   * DescribeContinuousBackups have no field for it), so it is a metric.
   */
  pitrBytes(
    source: () => readonly { readonly table: string; readonly log: number; readonly snapshots: number }[],
  ): void {
    new Gauge({
      name: 'sealdb_pitr_bytes',
      help: 'Bytes of point-in-time recovery history per table ARN: part="log" (change log), part="snapshots"',
      labelNames: ['table', 'part'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { table, log, snapshots } of source()) {
          this.set({ table, part: 'log' }, log);
          this.set({ table, part: 'snapshots' }, snapshots);
        }
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
