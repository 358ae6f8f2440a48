/**
 * Between DynamoDB items and stored rows: the primary key becomes
 * order-preserving bytes (plus its partition hash); the whole item is the body.
 */
import type { StoredItem } from '../storage/table-file.js';
import type { AttributeValue, Item } from './attribute-value.js';
import type { CheckedItem } from './item-checks/checked-item.js';
import { itemSize } from './item-validation.js';
import { encodeKeyValue, hashPartition } from './key-codec.js';
import type { KeyAttributes } from './table-schema.js';

export interface StoredKey {
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
}

const NO_SORT_KEY = Buffer.alloc(0);

/** The stored key of a validated item or key (its key attributes must be present and typed). */
export function storedKey(item: Item, keys: KeyAttributes): StoredKey {
  const pk = encodeKeyValue(keys.hash.type, item[keys.hash.name] as AttributeValue);
  const sk = keys.range ? encodeKeyValue(keys.range.type, item[keys.range.name] as AttributeValue) : NO_SORT_KEY;
  return { hash: hashPartition(pk), pk, sk };
}

/** The items rows were made from, so index maintenance need not parse a body it was just given. */
const sources = new WeakMap<StoredItem, Item>();

/**
 * A row from its key, built property by property: on Node 20 an object spread (`{ ...key, body }`)
 * takes V8's slow clone path, microseconds per row on every write (seen in PutItem profiles).
 */
const rowOf = (key: StoredKey, body: Buffer, size: number): StoredItem => ({
  hash: key.hash,
  pk: key.pk,
  sk: key.sk,
  body,
  size,
});

export function toStored(item: Item, keys: KeyAttributes): StoredItem {
  const row = rowOf(storedKey(item, keys), Buffer.from(JSON.stringify(item), 'utf8'), itemSize(item));
  sources.set(row, item);
  return row;
}

/** The row of a checked item whose key attributes (`key`, the item's own or picked from it) are checked. */
export function toStoredChecked(checked: CheckedItem, key: Item, keys: KeyAttributes): StoredItem {
  const row = rowOf(storedKey(key, keys), checked.body, checked.size);
  // Only an item at hand: one checked in the worker is parsed from its body by those who need it whole.
  if (checked.item) sources.set(row, checked.item);
  return row;
}

/** The item `toStored` made this row from, if it did (read-only: it may be the caller's own object). */
export const sourceItem = (row: StoredItem): Item | undefined => sources.get(row);

export function fromStored(row: StoredItem): Item {
  return JSON.parse(row.body.toString('utf8')) as Item;
}

/** Just the key attributes of an item (LastEvaluatedKey, UnprocessedKeys). */
export function keyOf(item: Item, keys: KeyAttributes): Item {
  const key: Item = { [keys.hash.name]: item[keys.hash.name] as AttributeValue };
  if (keys.range) key[keys.range.name] = item[keys.range.name] as AttributeValue;
  return key;
}
