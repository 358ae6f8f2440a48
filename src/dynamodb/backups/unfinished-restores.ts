/**
 * Restores (from a backup or to a point in time) whose process died while filling their table.
 * A restore the server stops, or one that fails, deletes its half-filled table (fill.ts); one
 * killed mid-fill (SIGKILL, power loss) left it CREATING with RestoreInProgress for good, a table
 * no request could use, delete, or restore into again. On the embedded store one process serves a
 * data directory, so at start every such table is the last process's, and goes as a failed
 * restore's does. (Over a shared engine another node may still be filling it.)
 */
import type { TableManager } from '../tables.js';

export async function dropUnfinishedRestores(tables: TableManager): Promise<string[]> {
  const dropped: string[] = [];
  for (const { scope, name, definition } of tables.allTables()) {
    if (definition.TableStatus !== 'CREATING' || !definition.RestoreSummary?.RestoreInProgress) continue;
    await tables.inRegion(scope.region).delete(scope.accountId, name);
    dropped.push(definition.TableArn);
  }
  return dropped;
}
