/**
 * Opening tables for item operations: a table whose file holds writes staged by a
 * transaction that a crash interrupted is settled (applied or discarded) before anything
 * reads or writes it. See storage/transaction.ts.
 */

import type { KeyCaller } from '../encryption/table-keys.js';
import type { TableStore } from '../storage/table-file.js';
import { commitAcross, type Participant, recoverStaged } from '../storage/transaction.js';
import type { DynamoDbEnvironment } from './operation.js';
import type { OpenTable } from './tables.js';

const recovered = new WeakMap<TableStore, Promise<void>>();

interface CoordinatorRef {
  readonly account: string;
  readonly name: string;
  readonly id: string;
}

export async function openRecovered(
  env: DynamoDbEnvironment,
  caller: KeyCaller,
  account: string,
  name: string,
): Promise<OpenTable> {
  const table = await env.tables.open(account, name, caller);
  let recovery = recovered.get(table.store);
  if (!recovery) {
    recovery = recoverStaged(table.store, (ref) => openCoordinator(env, caller, ref));
    recovered.set(table.store, recovery);
    // A failed recovery (e.g. the coordinator's key is unusable right now) is retried by the next request.
    recovery.catch(() => recovered.delete(table.store));
  }
  await recovery;
  // The definition current now, not the one of before the awaits (see TableManager.current).
  return env.tables.current(account, name, table);
}

async function openCoordinator(
  env: DynamoDbEnvironment,
  caller: KeyCaller,
  ref: string,
): Promise<TableStore | undefined> {
  const { account, name, id } = JSON.parse(ref) as CoordinatorRef;
  if (env.tables.find(account, name)?.TableId !== id) return undefined;
  // The coordinator's own recovery cannot depend on this table's staged writes, only on its markers.
  return (await env.tables.open(account, name, caller)).store;
}

export interface TableWrites extends Participant {
  readonly account: string;
  readonly table: OpenTable;
}

/** Writes to one or more tables, all or nothing. */
export function commitTables(txid: string, participants: readonly TableWrites[]): void {
  const [first] = participants;
  if (!first) return;
  const ref: CoordinatorRef = {
    account: first.account,
    name: first.table.definition.TableName,
    id: first.table.definition.TableId,
  };
  commitAcross(txid, JSON.stringify(ref), participants);
}
