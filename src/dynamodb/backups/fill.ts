/**
 * Puts a restore's items into its new table (CREATING), in slices with the event loop free
 * between them, then makes the table ACTIVE. Shared by restores from backups and to a point in
 * time: the new table's store rebuilds the entries of the indexes it keeps.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { KeyCaller } from '../../encryption/table-keys.js';
import type { StoredItem, StoredWrite } from '../../storage/table-file.js';
import type { TableDefinition } from '../table-definition.js';
import type { TableManager } from '../tables.js';

export interface FillOptions {
  readonly tables: TableManager;
  readonly account: string;
  readonly definition: TableDefinition;
  readonly items: Iterator<StoredItem>;
  /** Rejects when the source file proves damaged (its full page check): the restore then fails. */
  readonly verified?: Promise<void>;
  readonly caller: KeyCaller;
  /** Most work per slice before yielding to requests. */
  readonly sliceMs: number;
  /** True once the server is shutting down: the restore stops (and its table goes). */
  readonly stopped: () => boolean;
}

export async function fillRestoredTable(options: FillOptions): Promise<void> {
  const { tables, account, definition, items, sliceMs } = options;
  const { store } = await tables.open(account, definition.TableName, options.caller);
  let finished = false;
  while (!finished) {
    if (options.stopped()) throw new Error(`restore of ${definition.TableName} stopped by shutdown`);
    const started = performance.now();
    const writes: StoredWrite[] = [];
    for (let n = 0; ; n++) {
      if ((n & 63) === 63 && performance.now() - started >= sliceMs / 2) break;
      const next = items.next();
      if (next.done) {
        finished = true;
        break;
      }
      writes.push({ put: next.value });
    }
    if (writes.length > 0) store.write(writes);
    await store.durable();
    await nextTurn();
  }
  // Every item was read and authenticated; the pages a restore does not read are checked apart.
  await options.verified;
  tables.update(account, definition.TableName, (current) => {
    if (current.TableId !== definition.TableId) return current;
    const summary = current.RestoreSummary;
    return {
      ...current,
      TableStatus: current.TableStatus === 'CREATING' ? 'ACTIVE' : current.TableStatus,
      ...(summary ? { RestoreSummary: { ...summary, RestoreInProgress: false } } : {}),
    };
  });
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
      const report = !options.stopped();
      if (tables.find(account, definition.TableName)?.TableId === definition.TableId) {
        await tables.delete(account, definition.TableName).catch(() => undefined);
      }
      if (report) options.onError?.(error);
    })
    .finally(options.done);
}
