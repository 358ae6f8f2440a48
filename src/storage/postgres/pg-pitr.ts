/**
 * Point-in-time recovery's snapshots in the engine, shared by every node. A snapshot's items are
 * rows of `pitr_rows`, sealed under the snapshot's own key (derived from the table's data key,
 * dynamodb/pitr/snapshot-key.ts, so nothing more is stored for it and deleting the KMS key
 * shreds it with the table) with AAD naming the snapshot (`pitr/<id>` in place of a table id):
 * a row moved between snapshots, or to a table or a backup, fails authentication. Partition and
 * row keys are keyed hashes under that key, as the table's own rows are. The copy is the
 * backups' (pg-backups.ts): one REPEATABLE READ transaction over the table's item rows.
 *
 * The change log stays where it is written: a record log of the table's rows (pg-table-store.ts),
 * sealed as the table's. A snapshot keeps no copy of it (the embedded file copy does, so a reader
 * can tell which records it holds): over the engine every unit writing an item reads it first in
 * a SERIALIZABLE transaction, so one item's records commit in the order of their positions, and
 * each record is the whole item. Laying every record from just before the pin over the snapshot
 * in position order therefore ends each item where the log does, whether or not the snapshot
 * already held some of them: `holds` answers false.
 */
import type { LiveTableData } from '../backup-storage.js';
import type { PitrSnapshotCopy, PitrSnapshotImage, PitrSnapshotStorage } from '../pitr-snapshots.js';
import type { Engine } from './engine.js';
import { type RowCopies, readItemRows, startRowCopy } from './pg-backups.js';
import { RowSeal } from './row-seal.js';

const PITR_ROWS: RowCopies = { table: 'pitr_rows', owner: 'snapshot' };

/** The name a snapshot's rows are sealed under (never a table id, those are UUIDs, nor a backup's). */
const snapshotSealName = (snapshotId: string): string => `pitr/${snapshotId}`;

export class PgPitrSnapshots implements PitrSnapshotStorage {
  readonly available = true;
  readonly unfinishedAreOurs = false;
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  start(source: LiveTableData, snapshotId: string, key: Buffer): PitrSnapshotCopy {
    const to = new RowSeal(key, snapshotSealName(snapshotId));
    const copy = startRowCopy(this.#engine, source, PITR_ROWS, snapshotId, to, () => this.remove(snapshotId));
    return { pinned: copy.pinned, done: copy.done.then(({ bytes }) => ({ bytes })) };
  }

  async open(snapshotId: string, key: Buffer): Promise<PitrSnapshotImage> {
    // A ready snapshot's rows change no more: its pages need no common snapshot of the engine.
    const items = readItemRows(this.#engine, PITR_ROWS, snapshotId, new RowSeal(key, snapshotSealName(snapshotId)));
    return { items, holds: () => false, close: () => items.close() };
  }

  async remove(snapshotId: string): Promise<void> {
    await this.#engine.pool.query(`DELETE FROM ${this.#engine.schema}.pitr_rows WHERE snapshot = $1`, [snapshotId]);
  }

  async stored(): Promise<string[]> {
    const result = await this.#engine.pool.query<{ snapshot: string }>(
      `SELECT DISTINCT snapshot FROM ${this.#engine.schema}.pitr_rows`,
    );
    return result.rows.map((row) => row.snapshot);
  }
}
