/**
 * Index maintenance: from an item's old and new version, the entry writes that keep every index
 * exact, and DynamoDB's checks of index key values on the new version.
 */
import type { EntryKey, ItemKey, KeyspaceEntry, StoredItem, StoredWrite } from '../../storage/table-file.js';
import type { AttributeValue, Item } from '../attribute-value.js';
import { validationError } from '../errors.js';
import type { ItemChange, WriteDeriver } from '../item-changes/deriving-store.js';
import type { StoredKey } from '../item-codec.js';
import { itemSize } from '../item-validation.js';
import { indexEntryKey } from './entry-key.js';
import type { IndexSchema } from './schema.js';
import { noteIndexChanges } from './write-capacity.js';

/** What an index entry holds: the index and table keys, and the projected attributes. */
export function projectForIndex(index: IndexSchema, item: Item): Item {
  const { projection } = index;
  if (projection.ProjectionType === 'ALL') return item;
  const projected: Item = {};
  for (const name of index.keyNames) {
    const value = item[name];
    if (value) projected[name] = value;
  }
  if (projection.ProjectionType === 'INCLUDE') {
    for (const name of projection.NonKeyAttributes ?? []) {
      const value = Object.hasOwn(item, name) ? item[name] : undefined;
      if (value) projected[name] = value;
    }
  }
  return projected;
}

/**
 * Refuses an item whose index key attributes have the wrong type or an empty value (messages as
 * DynamoDB answers them: dynalite's tests recorded against DynamoDB, and users' reports of its errors).
 */
export function checkIndexKeys(indexes: readonly IndexSchema[], item: Item): void {
  for (const index of indexes) {
    for (const attribute of [...index.hash, ...index.range]) {
      const value = Object.hasOwn(item, attribute.name) ? item[attribute.name] : undefined;
      if (!value) continue;
      const member = value[attribute.type];
      if (member === undefined) {
        throw validationError(
          `One or more parameter values were invalid: Type mismatch for Index Key ${attribute.name} Expected: ${attribute.type} Actual: ${typeOf(value)} IndexName: ${index.name}`,
        );
      }
      if (member === '' && (attribute.type === 'S' || attribute.type === 'B')) {
        throw validationError(
          'One or more parameter values are not valid. A value specified for a secondary index key is not supported. ' +
            `The AttributeValue for a key attribute cannot contain an empty ${attribute.type === 'S' ? 'string' : 'binary'} value. ` +
            `IndexName: ${index.name}, IndexKey: ${attribute.name}`,
        );
      }
    }
  }
}

const typeOf = (value: AttributeValue): string => Object.keys(value)[0] ?? '';

/**
 * The index entry of an item, or undefined when the item is not in that index. With the item's
 * stored row, an ALL projection reuses its body (the same JSON of the same item) instead of
 * serialising the item once more per index, and names the item, so that storage may refer to
 * the item's row instead of keeping a second copy of it (the item and its entries are written
 * in one atomic set, and so are an item's deletion and its entries').
 */
export function indexEntry(
  index: IndexSchema,
  item: Item,
  tableKey: StoredKey,
  row?: StoredItem,
): KeyspaceEntry | undefined {
  const key = indexEntryKey(index, item, tableKey);
  if (!key) return undefined;
  if (row && index.projection.ProjectionType === 'ALL') return allEntry(key, row);
  const projected = projectForIndex(index, item);
  return entryOf(key, Buffer.from(JSON.stringify(projected), 'utf8'), itemSize(projected));
}

/** The entry of an ALL projection: the item's stored body and size, and which item it is. */
export function allEntry(key: EntryKey, row: StoredItem): KeyspaceEntry {
  return entryOf(key, row.body, row.size, { hash: row.hash, pk: row.pk, sk: row.sk });
}

/**
 * An entry built property by property: on Node 20 an object spread (`{ ...key, body }`) takes
 * V8's slow clone path, microseconds each, several times per indexed write.
 */
function entryOf(key: EntryKey, body: Buffer, size: number, item?: ItemKey, fresh?: true): KeyspaceEntry {
  const { space, hash, pk, sk, tk } = key;
  if (item === undefined)
    return fresh ? { space, hash, pk, sk, tk, body, size, fresh } : { space, hash, pk, sk, tk, body, size };
  return fresh ? { space, hash, pk, sk, tk, body, size, item, fresh } : { space, hash, pk, sk, tk, body, size, item };
}

export interface IndexChange {
  readonly index: IndexSchema;
  /** The entry the item had before and has now (either may be absent). */
  readonly before?: KeyspaceEntry;
  readonly after?: KeyspaceEntry;
}

/**
 * The entry writes of one item change (undefined old: created; undefined new: deleted). An
 * entry whose key and projected attributes did not change is not rewritten, as DynamoDB writes
 * (and bills) an index only when the write changes what it holds.
 */
export function indexChanges(
  indexes: readonly IndexSchema[],
  oldItem: Item | undefined,
  newItem: Item | undefined,
  tableKey: StoredKey,
  rows: { readonly previous?: StoredItem; readonly next?: StoredItem } = {},
): IndexChange[] {
  const changes: IndexChange[] = [];
  for (const index of indexes) {
    const before = oldItem && indexEntry(index, oldItem, tableKey, rows.previous);
    const after = newItem && indexEntry(index, newItem, tableKey, rows.next);
    if (!before && !after) continue;
    if (before && after && sameKey(before, after) && before.body.equals(after.body)) continue;
    changes.push(before && after ? { index, before, after } : before ? { index, before } : { index, after });
  }
  return changes;
}

/** The storage writes of index changes: the old entry goes unless the new one replaces it in place. */
export function entryWrites(changes: readonly IndexChange[]): StoredWrite[] {
  const writes: StoredWrite[] = [];
  for (const { before, after } of changes) {
    const inPlace = before !== undefined && after !== undefined && sameKey(before, after);
    if (before && !inPlace) writes.push({ deleteEntry: keyOf(before) });
    // An entry the item did not have at this key is new to the index: storage need not look it up.
    if (after) writes.push({ putEntry: inPlace ? after : entryOf(after, after.body, after.size, after.item, true) });
  }
  return writes;
}

const keyOf = ({ space, hash, pk, sk, tk }: EntryKey): EntryKey => ({ space, hash, pk, sk, tk });

const sameKey = (a: EntryKey, b: EntryKey): boolean =>
  a.space === b.space && a.hash === b.hash && a.pk.equals(b.pk) && a.sk.equals(b.sk) && a.tk.equals(b.tk);

/** Keeps the maintained indexes of a table exact: refuses bad index keys, writes the entries that change. */
export function indexDeriver(maintained: readonly IndexSchema[]): WriteDeriver {
  return {
    derive(change: ItemChange): StoredWrite[] {
      if (change.newItem) checkIndexKeys(maintained, change.newItem);
      const changes = indexChanges(maintained, change.oldItem, change.newItem, change.key, change);
      noteIndexChanges(changes);
      return entryWrites(changes);
    },
  };
}
