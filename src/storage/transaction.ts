/**
 * Atomic writes across table files. Each table is its own SQLite file (in WAL mode, where
 * SQLite gives no atomicity across ATTACHed files), so sealdb commits in three steps:
 *
 *   1. stage: every participant but the coordinator (the first) stores its writes aside,
 *      inside its own encrypted file, tagged with the transaction id and the coordinator;
 *   2. commit: the coordinator applies its writes and records the transaction id as
 *      committed, in one SQLite transaction. This is the commit point;
 *   3. apply: every other participant applies its staged writes; then the marker goes.
 *
 * All three run synchronously (no other request can interleave), and each step is committed
 * (commitNow) before the next begins, so a crash between them leaves a recoverable state. After a crash, a file
 * with staged writes asks the coordinator (`recoverStaged`): committed → apply them, else →
 * discard them. So a transaction is either wholly applied or not at all, and nothing outside
 * the encrypted table files is written.
 */
import type { StoredWrite, TableStore } from './table-file.js';

export interface Participant {
  readonly store: TableStore;
  readonly writes: readonly StoredWrite[];
}

/** Commits writes to several stores atomically; `coordinator` names participants[0] for recovery. */
export function commitAcross(txid: string, coordinator: string, participants: readonly Participant[]): void {
  const [first, ...rest] = participants;
  if (!first) return;
  const others = rest.filter((p) => p.writes.length > 0);
  if (others.length === 0) {
    first.store.write(first.writes);
    return;
  }
  for (const p of others) {
    p.store.stage(txid, coordinator, p.writes);
    p.store.commitNow();
  }
  faultPoint('staged');
  first.store.write(first.writes, txid);
  first.store.commitNow();
  faultPoint('committed');
  // The marker may go only once every participant's applied writes are committed.
  for (const p of others) {
    p.store.applyStaged(txid);
    p.store.commitNow();
  }
  first.store.forgetCommitted(txid);
}

/**
 * Settles the staged writes a crash left in `store`. `coordinatorOf` opens the coordinating
 * store named in each (undefined when that table is gone, which leaves the outcome unknown
 * and the writes discarded).
 */
export async function recoverStaged(
  store: TableStore,
  coordinatorOf: (coordinator: string) => Promise<TableStore | undefined>,
): Promise<void> {
  for (const { txid, coordinator } of store.staged()) {
    const coordinatorStore = await coordinatorOf(coordinator);
    if (coordinatorStore?.isCommitted(txid)) store.applyStaged(txid);
    else store.discardStaged(txid);
  }
}

/**
 * Test hook for the crash test: `SEALDB_TEST_CRASH_AT=staged:3` kills the process at the
 * third transaction to reach that step, as a power cut would. Unset in normal operation.
 */
let reached = 0;
function faultPoint(step: 'staged' | 'committed'): void {
  const setting = process.env.SEALDB_TEST_CRASH_AT;
  if (!setting) return;
  const [at, count] = setting.split(':');
  if (at === step && ++reached === Number(count ?? 1)) process.kill(process.pid, 'SIGKILL');
}
