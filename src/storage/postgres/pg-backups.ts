/**
 * Backups in the engine, shared by every node. A backup's items are rows of `backup_rows`, sealed
 * under the backup's own data key (wrapped by the source table's key of backup time, as the
 * embedded backup file's) with AAD naming the backup (`backup/<id>` in place of a table id), so a
 * row moved between backups, or between a backup and a table, fails authentication. The copy is
 * one REPEATABLE READ transaction reading the table's item rows in key-hash pages (every write
 * committed before its first read is in it, none after) while requests go on; each page is
 * opened, sealed again and written in a statement of its own. The catalog is `backup_catalog`:
 * a keyed hash of the ARN and the entry sealed under a key derived from the root of trust.
 * Deleting the KMS key leaves these rows unreadable: their data key is wrapped by the table key,
 * which only that KMS key decrypts.
 */
import { createHmac } from 'node:crypto';
import type pg from 'pg';
import type { RootOfTrust } from '../../encryption/root-of-trust.js';
import type {
  BackupCatalogEntry,
  BackupCopy,
  BackupReader,
  BackupRecords,
  BackupStorage,
  LiveTableData,
} from '../backup-storage.js';
import type { StoredItem } from '../table-file.js';
import type { PinnedReader } from '../transfer-storage.js';
import type { Engine } from './engine.js';
import { ITEM_SPACE } from './pg-table-store.js';
import { openBlob, RowSeal, sealBlob } from './row-seal.js';
import type { Fence } from './unit-of-work.js';

/** Rows per page of a copy or a restore's read. */
const PAGE_ROWS = 256;

/** The name a backup's rows are sealed under (never a table id: those are UUIDs). */
const backupSealName = (backupId: string): string => `backup/${backupId}`;

interface SealedEntry {
  readonly arn: string;
  readonly record: unknown;
  readonly wrappedKey: string;
}

/** Where copies of item rows go: a table of the engine and the column naming whose rows they are. */
export interface RowCopies {
  readonly table: string;
  readonly owner: string;
}

const BACKUP_ROWS: RowCopies = { table: 'backup_rows', owner: 'backup' };

interface PageRow {
  readonly pkm: Buffer;
  readonly km: Buffer;
  readonly size: number;
  readonly sealed: Buffer;
}

export class PgBackupStorage<R> implements BackupStorage<R> {
  readonly available = true;
  readonly unfinishedAreOurs = false;
  readonly catalog: BackupRecords<R>;
  /** The tables' pool: copies and restores are background work of the tables. */
  readonly #engine: Engine;

  constructor(engine: Engine, services: Engine, root: RootOfTrust) {
    this.#engine = engine;
    this.catalog = new PgRecordCatalog<R>(services, root);
  }

  startCopy(source: LiveTableData, backupId: string, targetKey: Buffer): BackupCopy {
    const to = new RowSeal(targetKey, backupSealName(backupId));
    const { pinned, done } = startRowCopy(this.#engine, source, BACKUP_ROWS, backupId, to, () => this.remove(backupId));
    return { pinned, done: done.then(({ rows }) => ({ items: rows })) };
  }

  async copySealed(source: { readonly tableId: string }, backupId: string): Promise<boolean> {
    const s = this.#engine.schema;
    // Ciphertext as it is, in one statement (one snapshot): the table's key cannot be used now.
    await this.#engine.pool.query(
      `INSERT INTO ${s}.backup_rows (backup, pkm, km, size, sealed)
       SELECT $1, pkm, km, size, sealed FROM ${s}.rows WHERE tbl = $2 AND space = $3`,
      [backupId, source.tableId, ITEM_SPACE],
    );
    return true;
  }

  open(backupId: string, key: Buffer, sealedAsTable?: string): BackupReader {
    // The backup's rows change no more once it is AVAILABLE: pages need no common snapshot.
    return readItemRows(
      this.#engine,
      BACKUP_ROWS,
      backupId,
      new RowSeal(key, sealedAsTable ?? backupSealName(backupId)),
    );
  }

  async remove(backupId: string): Promise<void> {
    await this.#engine.pool.query(`DELETE FROM ${this.#engine.schema}.backup_rows WHERE backup = $1`, [backupId]);
  }
}

/**
 * Starts `copyItemRows` from a live table: `pinned` settles once its snapshot is fixed, `done`
 * once it is copied; a failed copy leaves nothing (`remove` takes what it wrote).
 */
export function startRowCopy(
  engine: Engine,
  source: LiveTableData,
  target: RowCopies,
  owner: string,
  to: RowSeal,
  remove: () => Promise<void>,
): { readonly pinned: Promise<void>; readonly done: Promise<{ rows: number; bytes: number }> } {
  let pinnedResolve: () => void = () => undefined;
  let pinnedReject: (error: unknown) => void = () => undefined;
  const pinned = new Promise<void>((resolve, reject) => {
    pinnedResolve = resolve;
    pinnedReject = reject;
  });
  pinned.catch(() => undefined);
  const from = new RowSeal(source.dataKey, source.tableId);
  const done = copyItemRows(engine, source.tableId, target, owner, from, to, pinnedResolve).catch(
    async (error: unknown) => {
      pinnedReject(error);
      await remove().catch(() => undefined);
      throw error;
    },
  );
  return { pinned, done };
}

/**
 * A table's item rows in key-hash pages, every page of one REPEATABLE READ snapshot (every write
 * committed before the first page's read is in it, none after), read on a connection of its own
 * while requests go on. `pinned` settles once the snapshot is fixed.
 */
export class PinnedRows {
  readonly pinned: Promise<void>;
  readonly #engine: Engine;
  readonly #tableId: string;
  readonly #client: Promise<pg.PoolClient>;
  #first: Promise<PageRow[]> | undefined;
  #after: PageRow | undefined;
  #done = false;

  constructor(engine: Engine, tableId: string) {
    this.#engine = engine;
    this.#tableId = tableId;
    this.#client = engine.pool.connect();
    this.#first = this.#client.then(async (client) => {
      // One snapshot for the whole read; its first statement fixes it.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return this.#page(client);
    });
    this.pinned = this.#first.then(() => undefined);
    this.pinned.catch(() => undefined);
  }

  /** The next page (empty: every row was read). */
  async next(): Promise<PageRow[]> {
    const first = this.#first;
    if (first) {
      this.#first = undefined;
      return first;
    }
    if (this.#done) return [];
    return this.#page(await this.#client);
  }

  /** Ends the snapshot's transaction, releasing its connection. */
  async close(): Promise<void> {
    const client = await this.#client.catch(() => undefined);
    if (!client) return;
    await client.query('ROLLBACK').then(
      () => client.release(),
      (error: unknown) => client.release(error instanceof Error ? error : true),
    );
  }

  async #page(client: pg.PoolClient): Promise<PageRow[]> {
    const s = this.#engine.schema;
    const after = this.#after;
    const page = await client.query<PageRow>(
      after
        ? `SELECT pkm, km, size, sealed FROM ${s}.rows WHERE tbl = $1 AND space = $2 AND (pkm, km) > ($3, $4)
           ORDER BY pkm, km LIMIT ${PAGE_ROWS}`
        : `SELECT pkm, km, size, sealed FROM ${s}.rows WHERE tbl = $1 AND space = $2 ORDER BY pkm, km LIMIT ${PAGE_ROWS}`,
      after ? [this.#tableId, ITEM_SPACE, after.pkm, after.km] : [this.#tableId, ITEM_SPACE],
    );
    this.#after = page.rows[page.rows.length - 1] ?? after;
    if (page.rows.length < PAGE_ROWS) this.#done = true;
    return page.rows;
  }
}

/**
 * Copies a table's item rows into `target` under `owner`, opened with `from` and sealed again
 * with `to`: read as PinnedRows (`pinned` is called once the snapshot is fixed); each page is
 * written in a statement of its own. Returns the rows and sealed bytes copied.
 */
export async function copyItemRows(
  engine: Engine,
  tableId: string,
  target: RowCopies,
  owner: string,
  from: RowSeal,
  to: RowSeal,
  pinned: () => void,
): Promise<{ rows: number; bytes: number }> {
  const s = engine.schema;
  const source = new PinnedRows(engine, tableId);
  let rows = 0;
  let bytes = 0;
  try {
    for (;;) {
      const page = await source.next();
      if (rows === 0) pinned();
      if (page.length === 0) break;
      const values: unknown[] = [];
      const tuples = page.map((row) => {
        const opened = from.open(ITEM_SPACE, row.pkm, row.km, row.sealed);
        const pkm = to.partition(ITEM_SPACE, opened.pk);
        const km = to.key(ITEM_SPACE, opened.pk, opened.sk, opened.tk);
        const sealed = to.seal(ITEM_SPACE, pkm, km, opened);
        bytes += sealed.length;
        values.push(owner, pkm, km, row.size, sealed);
        const n = values.length;
        return `($${n - 4}, $${n - 3}::bytea, $${n - 2}::bytea, $${n - 1}::int, $${n}::bytea)`;
      });
      // On a connection of its own: the snapshot's transaction only reads.
      await engine.pool.query(
        `INSERT INTO ${s}.${target.table} (${target.owner}, pkm, km, size, sealed) VALUES ${tuples.join(', ')}`,
        values,
      );
      rows += page.length;
    }
    pinned();
    return { rows, bytes };
  } finally {
    await source.close();
    from.destroy();
    to.destroy();
  }
}

/** A live table's items as of now (an export's), read as PinnedRows and opened with its data key. */
export function liveItemRows(engine: Engine, source: LiveTableData): PinnedReader {
  const seal = new RowSeal(source.dataKey, source.tableId);
  const rows = new PinnedRows(engine, source.tableId);
  const buffered: StoredItem[] = [];
  let closed = false;
  return {
    pinned: rows.pinned,
    async read(max: number): Promise<StoredItem[]> {
      if (closed) throw new Error('reader closed');
      // Pages of PAGE_ROWS: a reader asking for fewer gets the rest at its next read.
      const out = buffered.splice(0, max);
      while (out.length < max) {
        const page = await rows.next();
        if (page.length === 0) break;
        for (const row of page) buffered.push(openItem(seal, row));
        out.push(...buffered.splice(0, max - out.length));
      }
      return out;
    },
    close() {
      if (closed) return;
      closed = true;
      seal.destroy();
      void rows.close();
    },
  };
}

const openItem = (seal: RowSeal, row: PageRow): StoredItem => {
  const opened = seal.open(ITEM_SPACE, row.pkm, row.km, row.sealed);
  return { hash: opened.hash, pk: opened.pk, sk: opened.sk, body: opened.body, size: row.size };
};

/** Reads copied item rows of `owner` in key-hash pages, opened with `seal` (destroyed at close). */
export function readItemRows(engine: Engine, target: RowCopies, owner: string, seal: RowSeal): BackupReader {
  const s = engine.schema;
  let after: PageRow | undefined;
  let closed = false;
  return {
    async read(max: number): Promise<StoredItem[]> {
      if (closed) throw new Error('reader closed');
      const limit = Math.max(1, Math.min(max, PAGE_ROWS));
      const page = await engine.pool.query<PageRow>(
        after
          ? `SELECT pkm, km, size, sealed FROM ${s}.${target.table} WHERE ${target.owner} = $1 AND (pkm, km) > ($2, $3)
             ORDER BY pkm, km LIMIT ${limit}`
          : `SELECT pkm, km, size, sealed FROM ${s}.${target.table} WHERE ${target.owner} = $1 ORDER BY pkm, km LIMIT ${limit}`,
        after ? [owner, after.pkm, after.km] : [owner],
      );
      after = page.rows[page.rows.length - 1] ?? after;
      return page.rows.map((row) => openItem(seal, row));
    },
    close() {
      closed = true;
      seal.destroy();
    },
  };
}

/** A catalog of records in the engine: its table and the purposes of its keys (and AAD). */
export interface RecordCatalogNames {
  readonly table: string;
  /** `sealdb/engine-<name>-catalog`: the keys are `<purpose>-seal/v1` and `<purpose>-mac/v1`. */
  readonly purpose: string;
}

const BACKUP_CATALOG: RecordCatalogNames = { table: 'backup_catalog', purpose: 'sealdb/engine-backup-catalog' };

/** How often a fenced record write runs again after a serialization failure (Engine.transaction). */
const FENCED_WRITE_ATTEMPTS = 20;

/**
 * Records in the engine (backups', exports' and imports'): a keyed hash of the ARN and the entry
 * sealed under a key derived from the root of trust. Read from the engine at each call (records
 * are few, and every node must see another's at once); each statement is one consistent read
 * or write.
 */
export class PgRecordCatalog<R> implements BackupRecords<R> {
  readonly #engine: Engine;
  readonly #names: RecordCatalogNames;
  readonly #key: Buffer;
  readonly #macKey: Buffer;
  readonly #aad: Buffer;

  constructor(engine: Engine, root: RootOfTrust, names: RecordCatalogNames = BACKUP_CATALOG) {
    this.#engine = engine;
    this.#names = names;
    this.#key = root.deriveKey(`${names.purpose}-seal/v1`);
    this.#macKey = root.deriveKey(`${names.purpose}-mac/v1`);
    this.#aad = Buffer.from(`${names.purpose}/v1|`, 'latin1');
  }

  async get(arn: string): Promise<BackupCatalogEntry<R> | undefined> {
    const km = this.#mac(arn);
    const result = await this.#engine.pool.query<{ sealed: Buffer }>(
      `SELECT sealed FROM ${this.#table} WHERE km = $1`,
      [km],
    );
    const row = result.rows[0];
    return row ? this.#open(km, row.sealed) : undefined;
  }

  async all(): Promise<BackupCatalogEntry<R>[]> {
    const result = await this.#engine.pool.query<{ km: Buffer; sealed: Buffer }>(
      `SELECT km, sealed FROM ${this.#table}`,
    );
    return result.rows.map((row) => this.#open(row.km, row.sealed));
  }

  async put(entry: BackupCatalogEntry<R>, fence?: Fence): Promise<void> {
    const km = this.#mac(entry.arn);
    const plain: SealedEntry = {
      arn: entry.arn,
      record: entry.record,
      wrappedKey: entry.wrappedKey.toString('base64'),
    };
    const sealed = sealBlob(this.#key, this.#aadOf(km), Buffer.from(JSON.stringify(plain), 'utf8'));
    const upsert = `INSERT INTO ${this.#table} (km, sealed) VALUES ($1, $2)
       ON CONFLICT (km) DO UPDATE SET sealed = excluded.sealed`;
    if (!fence) {
      await this.#engine.pool.query(upsert, [km, sealed]);
      return;
    }
    // The lease row read in the write's SERIALIZABLE transaction: a taker's write conflicts with it.
    await this.#engine.transaction('SERIALIZABLE', FENCED_WRITE_ATTEMPTS, async (client) => {
      await this.#engine.checkFence((text, values) => client.query(text, values as unknown[]), fence);
      await client.query(upsert, [km, sealed]);
    });
  }

  async delete(arn: string): Promise<void> {
    await this.#engine.pool.query(`DELETE FROM ${this.#table} WHERE km = $1`, [this.#mac(arn)]);
  }

  close(): void {
    this.#key.fill(0);
    this.#macKey.fill(0);
  }

  get #table(): string {
    return `${this.#engine.schema}.${this.#names.table}`;
  }

  #open(km: Buffer, sealed: Buffer): BackupCatalogEntry<R> {
    // The AAD names the ARN's keyed hash: an entry moved to another ARN's row fails here.
    const entry = JSON.parse(openBlob(this.#key, this.#aadOf(km), sealed).toString('utf8')) as SealedEntry;
    return { arn: entry.arn, record: entry.record as R, wrappedKey: Buffer.from(entry.wrappedKey, 'base64') };
  }

  #mac(arn: string): Buffer {
    return createHmac('sha256', this.#macKey).update(arn, 'utf8').digest();
  }

  #aadOf(km: Buffer): Buffer {
    return Buffer.concat([this.#aad, km]);
  }
}
