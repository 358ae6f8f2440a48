/**
 * Plaintext table keys, cached as DynamoDB caches them: per client connection,
 * refreshed with one KMS Decrypt once every 5 minutes while the connection has
 * traffic (scope `connection`), or shared per table with single-flight refresh
 * (scope `table`). Evicted keys are zeroed.
 */
import type { Clock } from '../core/clock.js';

export type KeyCacheScope = 'connection' | 'table';

export const TABLE_KEY_REFRESH_MS = 5 * 60 * 1000;

interface Entry {
  readonly key: Buffer;
  readonly fetchedAt: number;
  readonly connectionId: number;
  readonly tableId: string;
}

export interface CacheStats {
  hit(): void;
  miss(): void;
}

export class TableKeyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #inFlight = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly scope: KeyCacheScope,
    private readonly clock: Clock,
    private readonly stats?: CacheStats,
  ) {}

  /**
   * The cached key for this connection (or table) and key generation, or the result of
   * `fetch` (one KMS Decrypt) when there is none or it is 5 minutes old. The cache owns the
   * returned buffer: use it synchronously and do not keep it.
   */
  async get(connectionId: number, tableId: string, generation: number, fetch: () => Promise<Buffer>): Promise<Buffer> {
    const slot = this.scope === 'table' ? `t|${tableId}|${generation}` : `c|${connectionId}|${tableId}|${generation}`;
    const entry = this.#entries.get(slot);
    if (entry && this.clock.now() - entry.fetchedAt < TABLE_KEY_REFRESH_MS) {
      this.stats?.hit();
      return entry.key;
    }
    const pending = this.#inFlight.get(slot);
    if (pending) {
      this.stats?.hit();
      return pending;
    }
    this.stats?.miss();
    const fetching = fetch().then(
      (key) => {
        this.#inFlight.delete(slot);
        this.#evict(slot);
        this.#entries.set(slot, { key, fetchedAt: this.clock.now(), connectionId, tableId });
        return key;
      },
      (error: unknown) => {
        this.#inFlight.delete(slot);
        throw error;
      },
    );
    // Single flight: concurrent requests for the same slot share one KMS call.
    this.#inFlight.set(slot, fetching);
    return fetching;
  }

  /** A closed connection's keys are zeroed at once. */
  evictConnection(connectionId: number): void {
    for (const [slot, entry] of this.#entries)
      if (entry.connectionId === connectionId && slot.startsWith('c|')) this.#evict(slot);
  }

  /** Every cached key of a table (key switched, table inaccessible or deleted). */
  evictTable(tableId: string): void {
    for (const [slot, entry] of this.#entries) if (entry.tableId === tableId) this.#evict(slot);
  }

  /** Drops keys past their refresh time, so idle connections hold no key material. */
  evictExpired(): void {
    const now = this.clock.now();
    for (const [slot, entry] of this.#entries) if (now - entry.fetchedAt >= TABLE_KEY_REFRESH_MS) this.#evict(slot);
  }

  clear(): void {
    for (const slot of [...this.#entries.keys()]) this.#evict(slot);
  }

  get size(): number {
    return this.#entries.size;
  }

  #evict(slot: string): void {
    const entry = this.#entries.get(slot);
    if (!entry) return;
    entry.key.fill(0);
    this.#entries.delete(slot);
  }
}
