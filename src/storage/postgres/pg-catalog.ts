/**
 * The table catalog in the engine, shared by every node. Each entry is one row: a keyed hash of
 * (account, region, table name) and the whole entry (definition, wrapped data key) sealed under a
 * key derived from the root of trust, which every node of a cluster is started with. A node keeps
 * the whole catalog in memory while the engine's catalog epoch (bumped by every change, in the
 * changing transaction) stands; each unit of work reads the epoch once.
 */
import { createHmac } from 'node:crypto';
import { type Scope, scopeKey } from '../../core/scope.js';
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type { CatalogEntry, TableCatalog } from '../catalog.js';
import type { Engine } from './engine.js';
import { openBlob, sealBlob } from './row-seal.js';
import { currentUnit, hex, Miss, type UnitOfWork } from './unit-of-work.js';

interface SealedEntry {
  readonly account: string;
  readonly region: string;
  readonly name: string;
  readonly id: string;
  readonly definition: unknown;
  readonly wrappedKey: string;
}

export class PgCatalog<D> implements TableCatalog<D> {
  readonly file = 'the engine catalog';
  readonly #engine: Engine;
  readonly #key: Buffer;
  readonly #macKey: Buffer;
  /** Every entry by slot, as of `#epoch`. */
  #entries = new Map<string, CatalogEntry<D>>();
  #epoch: bigint | undefined;

  constructor(engine: Engine, root: RootOfTrust) {
    this.#engine = engine;
    this.#key = root.deriveKey('sealdb/engine-catalog-seal/v1');
    this.#macKey = root.deriveKey('sealdb/engine-catalog-mac/v1');
  }

  get(scope: Scope, name: string): CatalogEntry<D> | undefined {
    const slot = slotOf(scope, name);
    const unit = this.#fresh();
    if (unit?.catalogOverlay.has(slot)) return (unit.catalogOverlay.get(slot) as CatalogEntry<D> | null) ?? undefined;
    return this.#entries.get(slot);
  }

  list(scope: Scope, exclusiveStartName: string, limit: number): CatalogEntry<D>[] {
    const wanted = scopeKey(scope);
    return this.all()
      .filter((e) => scopeKey(e.scope) === wanted && e.name > exclusiveStartName)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .slice(0, limit);
  }

  all(): CatalogEntry<D>[] {
    const unit = this.#fresh();
    const entries = new Map(this.#entries);
    for (const [slot, entry] of unit?.catalogOverlay ?? []) {
      if (entry) entries.set(slot, entry as CatalogEntry<D>);
      else entries.delete(slot);
    }
    return [...entries.values()];
  }

  put(entry: CatalogEntry<D>): void {
    const unit = currentUnit();
    this.#fresh();
    const slot = slotOf(entry.scope, entry.name);
    const km = this.#mac(slot);
    const plain: SealedEntry = {
      account: entry.scope.accountId,
      region: entry.scope.region,
      name: entry.name,
      id: entry.id,
      definition: entry.definition,
      wrappedKey: entry.wrappedKey.toString('base64'),
    };
    const sealed = sealBlob(this.#key, aad(km), Buffer.from(JSON.stringify(plain), 'utf8'));
    unit.catalogWrites.set(hex(km), { km, sealed });
    unit.catalogOverlay.set(slot, entry);
    // The epoch moves with this unit's commit: the next unit reloads rather than retries.
    this.#epoch = undefined;
  }

  delete(scope: Scope, name: string): void {
    const unit = currentUnit();
    this.#fresh();
    const slot = slotOf(scope, name);
    const km = this.#mac(slot);
    unit.catalogWrites.set(hex(km), { km });
    unit.catalogOverlay.set(slot, null);
    this.#epoch = undefined;
  }

  close(): void {
    this.#key.fill(0);
    this.#macKey.fill(0);
  }

  /**
   * The unit running now, once its view of the catalog is current (throws Miss to read the
   * epoch, and the whole catalog when it moved). Outside a unit (metrics) the node's last view.
   */
  #fresh(): UnitOfWork | undefined {
    let unit: UnitOfWork;
    try {
      unit = currentUnit();
    } catch {
      return undefined;
    }
    if (unit.catalogEpoch !== undefined || unit.catalogUnchecked) return unit;
    const cached = this.#epoch;
    if (cached !== undefined) {
      // Served from the node's copy; the engine checks its epoch with the unit's first read.
      unit.catalogUnchecked = {
        expected: cached,
        stale: () => {
          if (this.#epoch === cached) this.#epoch = undefined;
        },
      };
      return unit;
    }
    throw new Miss(async (u) => {
      const s = this.#engine.schema;
      const epoch = await this.#engine.query<{ n: string }>(u, `SELECT n FROM ${s}.catalog_epoch WHERE id = 0`, []);
      const n = BigInt(epoch.rows[0]?.n ?? 0);
      if (n !== this.#epoch) {
        const rows = await this.#engine.query<{ km: Buffer; sealed: Buffer }>(
          u,
          `SELECT km, sealed FROM ${s}.catalog`,
          [],
        );
        const entries = new Map<string, CatalogEntry<D>>();
        for (const row of rows.rows) {
          const e = JSON.parse(openBlob(this.#key, aad(row.km), row.sealed).toString('utf8')) as SealedEntry;
          const scope = { accountId: e.account, region: e.region };
          entries.set(slotOf(scope, e.name), {
            scope,
            name: e.name,
            id: e.id,
            definition: e.definition as D,
            wrappedKey: Buffer.from(e.wrappedKey, 'base64'),
          });
        }
        this.#entries = entries;
        this.#epoch = n;
      }
      u.catalogEpoch = n;
    });
  }

  #mac(slot: string): Buffer {
    return createHmac('sha256', this.#macKey).update(slot, 'utf8').digest();
  }
}

const slotOf = (scope: Scope, name: string): string => `${scopeKey(scope)}\u0000${name}`;
const aad = (km: Buffer): Buffer => Buffer.concat([Buffer.from('sealdb/engine-catalog/v1|', 'latin1'), km]);
