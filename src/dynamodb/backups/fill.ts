/**
 * Puts a restore's items into its new table (CREATING), in slices with the event loop free
 * between them, then makes the table ACTIVE. Shared by restores from backups and to a point in
 * time: the new table's store rebuilds the entries of the indexes it keeps. Each slice is a unit
 * of work of its own (TableManager.run: over the engine, one transaction per slice).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { KeyCaller } from '../../encryption/table-keys.js';
import { FenceLost } from '../../storage/backend.js';
import { type BackupReader, groupsOf } from '../../storage/backup-storage.js';
import type { StoredItem, StoredWrite, TableStore } from '../../storage/table-file.js';
import type { TableDefinition } from '../table-definition.js';
import type { TableManager } from '../tables.js';

export interface FillOptions {
  readonly tables: TableManager;
  readonly account: string;
  readonly definition: TableDefinition;
  readonly items: Iterator<StoredItem> | Pick<BackupReader, 'read'>;
  /** Rejects when the source file proves damaged (its full page check): the restore then fails. */
  readonly verified?: Promise<void>;
  /** How many items the source holds, when known: another number read means it was altered. */
  readonly expectedItems?: number;
  readonly caller: KeyCaller;
  /** Most work per slice before yielding to requests. */
  readonly sliceMs: number;
  /** True once the server is shutting down: the restore stops (and its table goes). */
  readonly stopped: () => boolean;
}

/** Items read in groups of this many between the slice's time checks. */
const READ_GROUP = 64;
/** Most items per slice: over the engine each new item is one fetch of the unit (its previous version). */
const MAX_SLICE_ITEMS = 512;

export async function fillRestoredTable(options: FillOptions): Promise<void> {
  const { tables, account, definition, sliceMs } = options;
  const read = groupsOf(options.items);
  // Opened once (the key as the caller, through its connection's cache or one KMS call); the
  // store is used by each slice's unit.
  const { store } = await tables.run(() => tables.open(account, definition.TableName, options.caller), 'read');
  let finished = false;
  let count = 0;
  while (!finished) {
    if (options.stopped()) throw new Error(`restore of ${definition.TableName} stopped by shutdown`);
    const started = performance.now();
    const items: StoredItem[] = [];
    while (items.length < MAX_SLICE_ITEMS && performance.now() - started < sliceMs / 2) {
      const group = await read(READ_GROUP);
      items.push(...group);
      if (group.length < READ_GROUP) {
        finished = true;
        break;
      }
    }
    count += items.length;
    await putSlice(tables, store, items);
    await nextTurn();
  }
  if (options.expectedItems !== undefined && count !== options.expectedItems) {
    throw new Error(
      `the backup of ${definition.TableName} holds ${count} items where ${options.expectedItems} were copied into it`,
    );
  }
  // Every item was read and authenticated; the pages a restore does not read are checked apart.
  await options.verified;
  await tables.run(async () => {
    tables.update(account, definition.TableName, (current) => {
      if (current.TableId !== definition.TableId) return current;
      const summary = current.RestoreSummary;
      return {
        ...current,
        TableStatus: current.TableStatus === 'CREATING' ? 'ACTIVE' : current.TableStatus,
        ...(summary ? { RestoreSummary: { ...summary, RestoreInProgress: false } } : {}),
      };
    });
  }, 'write');
}

/**
 * Puts one slice of items into a table's store as one unit of work (over the engine: one
 * transaction, committed whole, run again on a serialization failure).
 */
export async function putSlice(tables: TableManager, store: TableStore, items: StoredItem[]): Promise<void> {
  if (items.length === 0) return;
  const writes: StoredWrite[] = items.map((item) => ({ put: item }));
  await tables.run(async () => {
    // One fetch of the slice's previous versions over the engine, not one per item.
    store.prefetch?.(items);
    store.write(writes);
    await store.durable();
  }, 'write');
}

/**
 * A restore's fill, run in the background: a half-restored table is of no use, so one that fails
 * goes, and the operator is told (unless the server is stopping). `done` runs either way.
 */
export function fillInBackground(
  options: FillOptions & { readonly onError?: (error: unknown) => void; readonly done: () => void },
): Promise<void> {
  const { tables, account, definition } = options;
  return fillRestoredTable(options)
    .catch(async (error: unknown) => {
      // Whether to tell is settled first: a close that begins during the delete must not swallow a
      // failure (e.g. a damaged backup file) that happened before it (found by the reliability suite).
      // A fill whose lease another node took (it found this node gone, and dropped the table) is no failure to report.
      const report = !options.stopped() && !(error instanceof FenceLost);
      await tables
        .run(async () => {
          if (tables.find(account, definition.TableName)?.TableId === definition.TableId) {
            await tables.delete(account, definition.TableName);
          }
        }, 'write')
        .catch(() => undefined);
      if (report) options.onError?.(error);
    })
    .finally(options.done);
}
