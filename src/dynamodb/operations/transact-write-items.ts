import { randomUUID } from 'node:crypto';
import { AwsError } from '../../http/aws-error.js';
import { whenCommitted } from '../../storage/backend.js';
import type { IndexUnits } from '../capacity.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { validationError } from '../errors.js';
import {
  collectionGrowth,
  collectionMetrics,
  collectionSize,
  hasItemCollections,
  ITEM_COLLECTION_LIMIT_BYTES,
  ITEM_COLLECTION_MESSAGE,
  type ItemCollectionMetrics,
} from '../indexes/item-collections.js';
import type { IndexSchema } from '../indexes/schema.js';
import { countingIndexWrites, writeUse } from '../indexes/write-capacity.js';
import { itemSize } from '../item-validation.js';
import type { DynamoDbEnvironment, Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';
import type { OpenTable } from '../tables.js';
import { commitTables, openRecovered, type TableWrites } from '../transact.js';
import {
  type BoundAction,
  bindAction,
  evaluateAction,
  type Outcome,
  type PreparedAction,
  prepareAction,
  type TransactWriteItem,
} from '../transact-write.js';

export interface TransactWriteItemsInput {
  TransactItems: TransactWriteItem[];
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: string;
  ClientRequestToken?: string;
}

/** DynamoDB's limit on the aggregate size of the items a transaction writes. */
export const MAX_TRANSACTION_BYTES = 4 * 1024 * 1024;
/** How long a ClientRequestToken makes a repeated request idempotent. */
export const TOKEN_LIFETIME_MS = 10 * 60 * 1000;

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

interface Remembered {
  readonly fingerprint: string;
  readonly expiresAt: number;
  readonly response: object;
}

/** Per server (environment): account/token → the successful request it answered. */
const tokens = new WeakMap<DynamoDbEnvironment, Map<string, Remembered>>();

export const transactWriteItems: Operation<TransactWriteItemsInput> = {
  name: 'TransactWriteItems',
  async execute({ input, ctx, env }) {
    const account = ctx.principal.accountId;
    const seen = tokens.get(env) ?? new Map<string, Remembered>();
    tokens.set(env, seen);
    const now = env.clock.now();
    for (const [token, entry] of seen) if (entry.expiresAt <= now) seen.delete(token);
    const tokenKey = input.ClientRequestToken === undefined ? undefined : `${account}/${input.ClientRequestToken}`;
    const fingerprint = JSON.stringify(input.TransactItems);
    const earlier = tokenKey === undefined ? undefined : seen.get(tokenKey);
    if (earlier) {
      if (earlier.fingerprint !== fingerprint) {
        throw new AwsError(
          'IdempotentParameterMismatchException',
          'DynamoDB rejected the request because you retried a request with a different payload but with an idempotent token that was already used.',
          400,
          DYNAMODB,
        );
      }
      return earlier.response;
    }

    const prepared = input.TransactItems.map(prepareAction);
    const size = prepared.reduce((sum, a) => sum + (a.kind === 'Put' ? itemSize(a.item) : 0), 0);
    if (size > MAX_TRANSACTION_BYTES) {
      throw validationError(
        'Collection size of items exceeded, which can also be caused by the aggregate size of the items in the transaction exceeding the 4MB limit',
      );
    }
    const bound: BoundAction[] = [];
    const names: string[] = [];
    const identities = new Set<string>();
    for (const action of prepared) {
      const name = resolveTableName(action.tableName, ctx);
      const one = bindAction(action, await openRecovered(env, ctx, account, name));
      const identity = `${one.table.definition.TableId}/${one.key.pk.toString('hex')}/${one.key.sk.toString('hex')}`;
      if (identities.has(identity))
        throw validationError('Transaction request cannot include multiple operations on one item');
      identities.add(identity);
      bound.push(one);
      names.push(name);
    }
    // No await from here to the commit. A table opened before a later action's await may have
    // changed meanwhile (a GSI created): such actions are bound again to its current definition.
    const actions = bound.map((action, i) => {
      const latest = env.tables.current(account, names[i] as string, action.table);
      return latest === action.table ? action : bindAction(prepared[i] as PreparedAction, latest);
    });

    // From here to the commit nothing awaits, so no other request sees or changes these items in between.
    const outcomes = actions.map(evaluateAction);
    if (outcomes.some((o) => 'reason' in o)) throw cancelled(outcomes);
    const oversized = oversizedCollection(
      actions,
      outcomes,
      env.itemCollectionLimitBytes ?? ITEM_COLLECTION_LIMIT_BYTES,
    );
    if (oversized !== undefined) {
      throw cancelled(
        outcomes.map((o, i) =>
          i === oversized
            ? { reason: { Code: 'ItemCollectionSizeLimitExceeded', Message: ITEM_COLLECTION_MESSAGE } }
            : o,
        ),
      );
    }
    const { of } = countingIndexWrites(() => commitTables(randomUUID(), groupByTable(actions, outcomes, account)));

    const response = {
      ...capacity(input.ReturnConsumedCapacity, actions, outcomes, of),
      ...(input.ReturnItemCollectionMetrics === 'SIZE' ? transactionMetrics(actions, outcomes) : {}),
    };
    // Only once committed: over the engine a unit whose commit fails is run again from the start,
    // and must not then answer from its own first attempt's memo with nothing written.
    if (tokenKey !== undefined) {
      whenCommitted(() => seen.set(tokenKey, { fingerprint, expiresAt: now + TOKEN_LIFETIME_MS, response }));
    }
    return response;
  },
};

function cancelled(outcomes: readonly Outcome[]): AwsError {
  const reasons = outcomes.map((o) => ('reason' in o ? o.reason : { Code: 'None' }));
  const error = new AwsError(
    'TransactionCanceledException',
    `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
    400,
    DYNAMODB,
  );
  error.details = { CancellationReasons: reasons };
  return error;
}

function groupByTable(actions: readonly BoundAction[], outcomes: readonly Outcome[], account: string): TableWrites[] {
  const byTable = new Map<string, TableWrites & { writes: NonNullable<TableWrites['writes']>[number][] }>();
  actions.forEach((action, i) => {
    const outcome = outcomes[i] as Outcome;
    const id = action.table.definition.TableId;
    let group = byTable.get(id);
    if (!group) {
      group = { account, table: action.table, store: action.table.store, writes: [] };
      byTable.set(id, group);
    }
    if ('write' in outcome && outcome.write) group.writes.push(outcome.write);
  });
  return [...byTable.values()];
}

/** Transactional writes cost twice the units of plain ones, in the table and in its indexes. */
function capacity(
  mode: ReturnConsumedCapacity | undefined,
  actions: readonly BoundAction[],
  outcomes: readonly Outcome[],
  indexUnits: (indexes: readonly IndexSchema[]) => IndexUnits[],
) {
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return {};
  const units = new Map<string, { table: OpenTable; units: number }>();
  actions.forEach((action, i) => {
    const outcome = outcomes[i] as Outcome;
    const bytes = 'size' in outcome ? outcome.size : 0;
    const name = action.table.definition.TableName;
    const seen = units.get(name) ?? { table: action.table, units: 0 };
    seen.units += 2 * writeUnits(bytes);
    units.set(name, seen);
  });
  return {
    ConsumedCapacity: [...units].map(([name, { table, units: n }]) => {
      const indexes = indexUnits(table.indexes.all).map((i) => ({ ...i, units: 2 * i.units }));
      return consumedCapacity(mode, name, writeUse(n, indexes), 'write').ConsumedCapacity;
    }),
  };
}

/**
 * The action whose item collection the transaction would take over the limit (the first one of
 * that collection that grows it), if any: checked before anything is written, as the transaction
 * then cancels as a whole.
 */
function oversizedCollection(
  actions: readonly BoundAction[],
  outcomes: readonly Outcome[],
  limit: number,
): number | undefined {
  const collections = new Map<string, { size: number; first: number }>();
  let found: number | undefined;
  actions.forEach((action, i) => {
    const outcome = outcomes[i] as Outcome;
    if (found !== undefined || !('write' in outcome) || !outcome.write || !hasItemCollections(action.table)) return;
    const { key, table } = action;
    const previous = table.store.get(key.hash, key.pk, key.sk);
    const next = 'put' in outcome.write ? outcome.write.put : undefined;
    const growth = collectionGrowth(table, key, previous, next);
    const id = `${table.definition.TableId}/${key.pk.toString('hex')}`;
    let collection = collections.get(id);
    if (!collection) {
      collection = { size: collectionSize(table, key), first: i };
      collections.set(id, collection);
    }
    collection.size += growth;
    if (growth > 0 && collection.size > limit) found = i;
  });
  return found;
}

/** ItemCollectionMetrics per table with LSIs: one entry per collection the transaction wrote. */
function transactionMetrics(actions: readonly BoundAction[], outcomes: readonly Outcome[]) {
  const byTable: Record<string, ItemCollectionMetrics[]> = {};
  const seen = new Set<string>();
  actions.forEach((action, i) => {
    const outcome = outcomes[i] as Outcome;
    if (!('write' in outcome) || !outcome.write || !hasItemCollections(action.table)) return;
    const id = `${action.table.definition.TableId}/${action.key.pk.toString('hex')}`;
    if (seen.has(id)) return;
    seen.add(id);
    const name = action.table.definition.TableName;
    const list = byTable[name] ?? [];
    list.push(collectionMetrics(action.table, action.validItem, action.key));
    byTable[name] = list;
  });
  return Object.keys(byTable).length > 0 ? { ItemCollectionMetrics: byTable } : {};
}
