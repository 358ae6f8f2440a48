/**
 * Item collections of tables with local secondary indexes: the items sharing one partition-key
 * value plus their LSI entries, limited to 10 GB (ItemCollectionSizeLimitExceededException) and
 * reported by ReturnItemCollectionMetrics SIZE. Tables without LSIs have neither (AWS API
 * reference: ItemCollectionMetrics "is only returned if the table has one or more local secondary
 * indexes"; ItemCollectionSizeLimitExceededException "only returned for tables that have one or
 * more local secondary indexes").
 */
import { AwsError } from '../../http/aws-error.js';
import type { StoredItem } from '../../storage/table-file.js';
import type { AttributeValue, Item } from '../attribute-value.js';
import { fromStored, type StoredKey, sourceItem } from '../item-codec.js';
import type { OpenTable } from '../tables.js';
import { indexEntry } from './entries.js';

/** DynamoDB's limit on an item collection (AWS: "Item collection size limit", 10 GB). */
export const ITEM_COLLECTION_LIMIT_BYTES = 10 * 1024 ** 3;

const GB = 1024 ** 3;
const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

/** The keyspaces of a table's LSIs; empty when it has none (it then has no item collections). */
export function localSpaces(table: OpenTable): number[] {
  return table.indexes.maintained.filter((i) => i.local).map((i) => i.space);
}

export const hasItemCollections = (table: OpenTable): boolean => table.indexes.maintained.some((i) => i.local);

/** The bytes of the collection the key belongs to: its partition's items and their LSI entries. */
export function collectionSize(table: OpenTable, key: StoredKey): number {
  return table.store.partitionSize(key.hash, key.pk, localSpaces(table));
}

/** The message as DynamoDB words it ("Item collection size limit exceeded", per AWS troubleshooting guides). */
export const ITEM_COLLECTION_MESSAGE = 'Item collection size limit exceeded';

export const itemCollectionSizeLimitExceeded = (): AwsError =>
  new AwsError('ItemCollectionSizeLimitExceededException', ITEM_COLLECTION_MESSAGE, 400, DYNAMODB);

/**
 * Refuses a write that left the key's collection above the limit; called inside the write's
 * storage transaction, so throwing undoes the write. Deletes never grow a collection.
 */
export function checkCollection(table: OpenTable, key: StoredKey, limit: number): void {
  if (!hasItemCollections(table)) return;
  if (collectionSize(table, key) > limit) throw itemCollectionSizeLimitExceeded();
}

export interface ItemCollectionMetrics {
  readonly ItemCollectionKey: Item;
  readonly SizeEstimateRangeGB: [number, number];
}

/**
 * The metrics of one collection: its partition-key value and an estimate of its size in GB as a
 * lower and upper bound (AWS API reference, ItemCollectionMetrics: "a two-element array containing
 * a lower bound and an upper bound for the estimate"; DynamoDB answers [0, 1] for a small one).
 */
export function collectionMetrics(table: OpenTable, item: Item, key: StoredKey): ItemCollectionMetrics {
  const name = table.keys.hash.name;
  const gb = Math.floor(collectionSize(table, key) / GB);
  return {
    ItemCollectionKey: { [name]: item[name] as AttributeValue },
    SizeEstimateRangeGB: [gb, gb + 1],
  };
}

/** The ItemCollectionMetrics member of a single-item write, when asked for and the table has LSIs. */
export function singleCollectionMetrics(
  mode: string | undefined,
  table: OpenTable,
  item: Item,
  key: StoredKey,
  wrote: boolean,
): { ItemCollectionMetrics?: ItemCollectionMetrics } {
  if (mode !== 'SIZE' || !wrote || !hasItemCollections(table)) return {};
  return { ItemCollectionMetrics: collectionMetrics(table, item, key) };
}

/** How many bytes a write adds to its collection (negative when it shrinks it): the item and its LSI entries. */
export function collectionGrowth(
  table: OpenTable,
  key: StoredKey,
  previous: StoredItem | undefined,
  next: StoredItem | undefined,
): number {
  const oldItem = previous && fromStored(previous);
  const newItem = next && (sourceItem(next) ?? fromStored(next));
  let growth = (next?.size ?? 0) - (previous?.size ?? 0);
  for (const index of table.indexes.maintained) {
    if (!index.local) continue;
    const before = oldItem && indexEntry(index, oldItem, key);
    const after = newItem && indexEntry(index, newItem, key);
    growth += (after?.size ?? 0) - (before?.size ?? 0);
  }
  return growth;
}
