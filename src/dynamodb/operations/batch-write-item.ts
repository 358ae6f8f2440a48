import { AwsError } from '../../http/aws-error.js';
import type { StoredItem } from '../../storage/table-file.js';
import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { validationError } from '../errors.js';
import { checkIndexKeys } from '../indexes/entries.js';
import {
  checkCollection,
  collectionMetrics,
  hasItemCollections,
  ITEM_COLLECTION_LIMIT_BYTES,
  type ItemCollectionMetrics,
} from '../indexes/item-collections.js';
import { countingIndexWrites, writeUse } from '../indexes/write-capacity.js';
import { storedKey, toStored } from '../item-codec.js';
import { validateAttributeMap, validateItem, validateItemSize, validateKey } from '../item-validation.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';
import type { OpenTable } from '../tables.js';
import { openRecovered } from '../transact.js';

export interface WriteRequest {
  PutRequest?: { Item: Record<string, unknown> };
  DeleteRequest?: { Key: Record<string, unknown> };
}

export interface BatchWriteItemInput {
  RequestItems: Record<string, WriteRequest[]>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: 'SIZE' | 'NONE';
}

export const MAX_BATCH_WRITE_REQUESTS = 25;

const KEY_MISMATCH = 'The provided key element does not match the schema';

/** A validated request: the item to put or the key to delete. */
type Write = { readonly put: Item } | { readonly delete: Item };

/** A write ready to apply: its stored row (put) or stored key (delete), and the item or key it came from. */
type PlannedWrite = ({ readonly put: StoredItem } | { readonly delete: { hash: number; pk: Buffer; sk: Buffer } }) & {
  readonly item: Item;
};

/** One metrics entry per item collection the table's writes touched, in the order first touched. */
function batchMetrics(table: OpenTable, writes: readonly PlannedWrite[]): ItemCollectionMetrics[] {
  const seen = new Map<string, ItemCollectionMetrics>();
  for (const write of writes) {
    const key = 'put' in write ? write.put : write.delete;
    const id = key.pk.toString('hex');
    if (!seen.has(id)) seen.set(id, collectionMetrics(table, write.item, key));
  }
  return [...seen.values()];
}

export const batchWriteItem: Operation<BatchWriteItemInput> = {
  name: 'BatchWriteItem',
  async execute({ input, ctx, env }) {
    const requests = validateRequest(input.RequestItems);

    // Every table and every key is checked before the first write: a bad request writes nothing.
    const account = ctx.principal.accountId;
    const opened: Array<{ name: string; table: OpenTable; requested: readonly Write[]; writes: PlannedWrite[] }> = [];
    for (const [requested, writes] of requests) {
      const name = resolveTableName(requested, ctx);
      const table = await openRecovered(env, ctx, account, name);
      opened.push({ name, table, requested: writes, writes: planWrites(writes, table) });
    }
    // No await from here to the last commit. A table opened before a later table's await may have
    // changed meanwhile (a GSI created): its writes are then planned against its current definition.
    const plans = opened.map((plan) => {
      const latest = env.tables.current(account, plan.name, plan.table);
      return latest === plan.table ? plan : { ...plan, table: latest, writes: planWrites(plan.requested, latest) };
    });

    const capacity: unknown[] = [];
    const metrics: Record<string, ItemCollectionMetrics[]> = {};
    const limit = env.itemCollectionLimitBytes ?? ITEM_COLLECTION_LIMIT_BYTES;
    for (const { name, table, writes } of plans) {
      // One table's writes land together; tables are separate files, so not across tables.
      const collections = hasItemCollections(table);
      const { result: units, indexes } = countingIndexWrites(() =>
        table.store.transaction(() => {
          let sum = 0;
          for (const write of writes) {
            if ('put' in write) {
              const previous = table.store.put(write.put);
              sum += writeUnits(Math.max(write.put.size, previous?.size ?? 0));
              if (collections) checkCollection(table, write.put, limit);
            } else {
              const previous = table.store.delete(write.delete.hash, write.delete.pk, write.delete.sk);
              sum += writeUnits(previous?.size ?? 0);
            }
          }
          return sum;
        }),
      );
      const consumed = consumedCapacity(
        input.ReturnConsumedCapacity,
        name,
        writeUse(units, indexes),
        'write',
      ).ConsumedCapacity;
      if (consumed) capacity.push(consumed);
      if (input.ReturnItemCollectionMetrics === 'SIZE' && collections) metrics[name] = batchMetrics(table, writes);
    }
    return {
      UnprocessedItems: {},
      ...(input.ReturnConsumedCapacity === 'TOTAL' || input.ReturnConsumedCapacity === 'INDEXES'
        ? { ConsumedCapacity: capacity }
        : {}),
      ...(Object.keys(metrics).length > 0 ? { ItemCollectionMetrics: metrics } : {}),
    };
  },
};

/** What DynamoDB checks before it looks at any table: counts, request shapes, values, item sizes. */
function validateRequest(requestItems: Record<string, WriteRequest[]>): Array<[string, Write[]]> {
  const entries = Object.entries(requestItems);
  const total = entries.reduce((sum, [, writes]) => sum + writes.length, 0);
  if (total > MAX_BATCH_WRITE_REQUESTS) throw validationError('Too many items requested for the BatchWriteItem call');
  return entries.map(([requested, writes]) => {
    // A WriteRequest must hold exactly one of PutRequest and DeleteRequest; DynamoDB words
    // this as it does for AttributeValues.
    if (writes.some((w) => (w.PutRequest === undefined) === (w.DeleteRequest === undefined))) {
      throw validationError(
        'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
      );
    }
    const checked = writes.map((write): Write => {
      if (write.PutRequest) {
        const item = validateAttributeMap(write.PutRequest.Item);
        validateItemSize(item);
        return { put: item };
      }
      return { delete: validateAttributeMap(write.DeleteRequest?.Key) };
    });
    return [requested, checked];
  });
}

/** Checks each write against the table's key schema and refuses two writes to one item. */
function planWrites(writes: readonly Write[], table: OpenTable): PlannedWrite[] {
  const { KeySchema, AttributeDefinitions } = table.definition;
  const seen = new Set<string>();
  return writes.map((write): PlannedWrite => {
    let planned: PlannedWrite;
    if ('put' in write) {
      const item = putItem(write.put, table);
      // Checked with the rest of the request: a bad index key in one table's writes writes no table.
      checkIndexKeys(table.indexes.maintained, item);
      planned = { put: toStored(item, table.keys), item };
    } else {
      const key = validateKey(write.delete, KeySchema, AttributeDefinitions);
      planned = { delete: storedKey(key, table.keys), item: key };
    }
    const key = 'put' in planned ? planned.put : planned.delete;
    const identity = `${key.pk.toString('hex')}/${key.sk.toString('hex')}`;
    if (seen.has(identity)) throw validationError('Provided list of item keys contains duplicates');
    seen.add(identity);
    return planned;
  });
}

/** PutItem's key checks, except that a missing or mistyped key is the generic schema mismatch here. */
function putItem(item: Item, table: OpenTable): Item {
  try {
    return validateItem(item, table.definition.KeySchema, table.definition.AttributeDefinitions);
  } catch (error) {
    if (error instanceof AwsError && /Missing the key|Type mismatch for key/.test(error.message)) {
      throw validationError(KEY_MISMATCH);
    }
    throw error;
  }
}
