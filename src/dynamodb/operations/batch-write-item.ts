import { Slicer } from '../../core/slicer.js';
import { AwsError } from '../../http/aws-error.js';
import { oncePerUnit } from '../../storage/backend.js';
import type { StoredItem } from '../../storage/table-file.js';
import type { Item } from '../attribute-value.js';
import { consumedCapacity, type IndexUnits, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
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
import type { CheckedItem } from '../item-checks/checked-item.js';
import { preparedWrites } from '../item-checks/prepare.js';
import { checkWriteRequests, type Write, type WriteRequest } from '../item-checks/write-requests.js';
import { writtenKeyNames } from '../item-checks/written-keys.js';
import { storedKey, toStoredChecked } from '../item-codec.js';
import { checkItemKey, validateKey } from '../item-validation.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';
import type { OpenTable } from '../tables.js';
import { openRecovered } from '../transact.js';

export { MAX_BATCH_WRITE_REQUESTS, type WriteRequest } from '../item-checks/write-requests.js';

export interface BatchWriteItemInput {
  RequestItems: Record<string, WriteRequest[]>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: 'SIZE' | 'NONE';
}

/**
 * Body bytes one table's writes commit in one go. A batch is not atomic in DynamoDB (each write
 * is); a larger one (up to 25 × 400 KB) commits in parts, one event-loop turn each, as encrypting
 * and logging 10 MB in one commit held the loop for ~35 ms (and an overwrite reads the old item too). A part that fails (a damaged file)
 * then leaves the parts before it written, as DynamoDB may leave some writes of a failed batch.
 */
const COMMIT_BYTES = 512 * 1024;

const KEY_MISMATCH = 'The provided key element does not match the schema';

/**
 * A write ready to apply: its stored row (put) or stored key (delete), and the key it came from
 * (of a put, the item's key and index-key attributes: all of it only when it was checked here).
 */
type PlannedWrite = ({ readonly put: StoredItem } | { readonly delete: { hash: number; pk: Buffer; sk: Buffer } }) & {
  readonly item: Item;
  /** The request's write, to plan again against a table whose definition changed meanwhile. */
  readonly source: Write;
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
  async execute({ input, ctx, env, prepared }) {
    // Checked in the JSON worker for a large body, the same way.
    // Once per request (over the engine, a run again after a fetch reuses them).
    const requests = prepared ? preparedWrites(prepared) : oncePerUnit(() => checkWriteRequests(input.RequestItems));
    const slicer = new Slicer();

    // Every table and every key is checked before the first write: a bad request writes nothing.
    const account = ctx.principal.accountId;
    const opened: Array<{ name: string; table: OpenTable; writes: PlannedWrite[] }> = [];
    for (const [requested, writes] of requests) {
      const name = resolveTableName(requested, ctx);
      const table = await openRecovered(env, ctx, account, name);
      opened.push({ name, table, writes: await planWrites(writes, table, slicer) });
    }
    // A table opened before a later await may have changed meanwhile (a GSI created): its writes
    // are then planned again against its current definition, with no await before the first commit.
    const plans = opened.map((plan) => current(plan, env.tables.current(account, plan.name, plan.table)));

    const capacity: unknown[] = [];
    const metrics: Record<string, ItemCollectionMetrics[]> = {};
    const limit = env.itemCollectionLimitBytes ?? ITEM_COLLECTION_LIMIT_BYTES;
    for (const plan of plans) {
      const { name, writes } = plan;
      let { table } = plan;
      // One table's writes land together (in parts, for a batch of large items); tables are
      // separate files, so not across tables.
      const collections = hasItemCollections(table);
      let units = 0;
      const indexes = new Map<string, IndexUnits>();
      // A table with item collections keeps one transaction: a collection over its limit refuses the whole batch.
      const parts = collections ? [writes] : commitParts(writes);
      for (const [n, part] of parts.entries()) {
        // The part before is committed at the end of its turn (TableFile's group commit).
        if (n > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        // A turn given away (by this table's part before, or an earlier table's) may have changed the
        // table's indexes: each part commits against the definition current at its commit.
        table = env.tables.current(account, name, table);
        const writesOfPart = table === plan.table ? part : replan(part, table);
        const counted = countingIndexWrites(() =>
          table.store.transaction(() => {
            let sum = 0;
            for (const write of writesOfPart) {
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
        units += counted.result;
        for (const index of counted.indexes) {
          const before = indexes.get(index.name);
          indexes.set(index.name, before ? { ...before, units: before.units + index.units } : index);
        }
      }
      const consumed = consumedCapacity(
        input.ReturnConsumedCapacity,
        name,
        writeUse(units, [...indexes.values()]),
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

/** Consecutive writes of at most COMMIT_BYTES of bodies each (a larger one alone): one part for most batches. */
function commitParts(writes: readonly PlannedWrite[]): PlannedWrite[][] {
  const parts: PlannedWrite[][] = [];
  let part: PlannedWrite[] = [];
  let bytes = 0;
  for (const write of writes) {
    const size = 'put' in write ? write.put.body.length : 0;
    if (part.length > 0 && bytes + size > COMMIT_BYTES) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(write);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

/** Checks each write against the table's key schema and refuses two writes to one item. */
async function planWrites(writes: readonly Write[], table: OpenTable, slicer: Slicer): Promise<PlannedWrite[]> {
  const names = writtenKeyNames(table);
  const seen = new Set<string>();
  const planned: PlannedWrite[] = [];
  for (const write of writes) {
    // Reading the keys out of a large item's body is about a millisecond: other requests go on between.
    await slicer.pause();
    const next = planWrite(write, table, names);
    const key = 'put' in next ? next.put : next.delete;
    const identity = `${key.pk.toString('hex')}/${key.sk.toString('hex')}`;
    if (seen.has(identity)) throw validationError('Provided list of item keys contains duplicates');
    seen.add(identity);
    planned.push(next);
  }
  return planned;
}

/** Writes already checked for duplicates, planned again (at once) against a changed definition. */
function replan(writes: readonly PlannedWrite[], table: OpenTable): PlannedWrite[] {
  const names = writtenKeyNames(table);
  return writes.map((write) => planWrite(write.source, table, names));
}

/** A table's writes against its current definition: as planned, or planned again. */
function current<P extends { table: OpenTable; writes: PlannedWrite[] }>(plan: P, latest: OpenTable): P {
  return latest === plan.table ? plan : { ...plan, table: latest, writes: replan(plan.writes, latest) };
}

function planWrite(write: Write, table: OpenTable, names: readonly string[]): PlannedWrite {
  if ('put' in write) {
    const item = putItemKeys(write.put, names, table);
    // Checked with the rest of the request: a bad index key in one table's writes writes no table.
    checkIndexKeys(table.indexes.maintained, item);
    return { put: toStoredChecked(write.put, item, table.keys), item, source: write };
  }
  const { KeySchema, AttributeDefinitions } = table.definition;
  const key = validateKey(write.delete, KeySchema, AttributeDefinitions);
  return { delete: storedKey(key, table.keys), item: key, source: write };
}

/**
 * PutItem's key checks on an item whose values and size are checked (its key and index-key
 * attributes), except that a missing or mistyped key is the generic schema mismatch here.
 */
function putItemKeys(checked: CheckedItem, names: readonly string[], table: OpenTable): Item {
  try {
    return checkItemKey(checked.pick(names), table.definition.KeySchema, table.definition.AttributeDefinitions);
  } catch (error) {
    if (error instanceof AwsError && /Missing the key|Type mismatch for key/.test(error.message)) {
      throw validationError(KEY_MISMATCH);
    }
    throw error;
  }
}
