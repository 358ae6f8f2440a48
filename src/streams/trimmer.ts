/**
 * The background trim of stream records older than 24 hours, and of whole streams disabled more
 * than 24 hours ago, in bounded slices with the event loop free between them. Reads never depend
 * on it: records past the trim horizon are refused or skipped whether or not they are gone yet.
 * Only open table files are trimmed (a closed file takes no records; it is trimmed once reopened).
 * Deleted tables kept for their streams (retired.ts) are trimmed alike, and removed whole, file
 * and all, once none of their streams is readable, whether their file is open or not.
 */
import type { TableManager } from '../dynamodb/tables.js';
import type { TableStore } from '../storage/table-file.js';
import { type StreamDefinition, streamExpired } from './definition.js';
import { streamCounts } from './metrics.js';
import { positionAt } from './record-store.js';
import { trimHorizon } from './shards.js';

export interface TrimBudget {
  /** Records removed per slice (one transaction). */
  readonly slice: number;
  /** Slices per sweep, over all tables. */
  readonly slices: number;
}

const DEFAULT_BUDGET: TrimBudget = { slice: 500, slices: 40 };

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One pass; returns how many records went. */
export async function trimStreams(tables: TableManager, now: number, budget = DEFAULT_BUDGET): Promise<number> {
  let slices = budget.slices;
  let removed = 0;
  await tables.purgeRetired(now);
  for (const { scope, name, definition, store } of tables.openTables()) {
    for (const stream of definition.Streams ?? []) {
      if (streamExpired(stream, now)) {
        let dropped = budget.slice;
        while (dropped === budget.slice && slices > 0) {
          dropped = store.dropRecords(stream.Space, budget.slice);
          // Records written before streams had their own logs were keyspace entries.
          if (dropped < budget.slice) dropped += store.dropEntries(stream.Space, budget.slice - dropped);
          removed += dropped;
          slices--;
          await yieldToEventLoop();
        }
        if (dropped < budget.slice) {
          // By catalog name and id: a deleted table's entry is not its name's, and a table created
          // since under the same name is another table.
          tables.updateEntry(scope, name, definition.TableId, (current) => ({
            ...current,
            Streams: (current.Streams ?? []).filter((s) => s.Space !== stream.Space),
          }));
        }
        continue;
      }
      let trimmed = budget.slice;
      while (trimmed === budget.slice && slices > 0) {
        trimmed = trimSlice(store, stream, trimHorizon(now), budget.slice);
        removed += trimmed;
        slices--;
        await yieldToEventLoop();
      }
    }
    if (slices <= 0) break;
  }
  streamCounts.trimmed += removed;
  return removed;
}

/** Removes up to `limit` of the stream's oldest records stamped before `horizon`. */
function trimSlice(store: TableStore, stream: StreamDefinition, horizon: number, limit: number): number {
  if (horizon <= stream.CreatedAt) return 0;
  return store.trimRecords(stream.Space, positionAt(stream, horizon, 0), limit);
}
