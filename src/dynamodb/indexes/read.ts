/**
 * Reading through a secondary index (Query and Scan with IndexName): which index, whether the
 * request may read it that way, where an ExclusiveStartKey resumes, and the page of items an
 * index read returns (an LSI fetching from the base items what it does not hold).
 */
import type { EntryKey, StoredItem, TableStore } from '../../storage/table-file.js';
import type { Item } from '../attribute-value.js';
import { type CapacityUse, readUnits } from '../capacity.js';
import type { DocumentPath } from '../document.js';
import { invalidParameter, validationError } from '../errors.js';
import type { ResolvedCondition } from '../expressions/evaluate.js';
import { storedKey } from '../item-codec.js';
import { hashPartition } from '../key-codec.js';
import { conditionPaths } from '../key-paths.js';
import { invalidStartKey, type Page, type PageShape, type Select, validateStartKey } from '../paging.js';
import type { Projection } from '../projection.js';
import type { KeyAttributes } from '../table-schema.js';
import type { OpenTable } from '../tables.js';
import { indexEntryKey, tableKeyOf } from './entry-key.js';
import { indexKeyOf } from './keys.js';
import type { IndexSchema } from './schema.js';

export interface IndexReadRequest {
  readonly consistentRead?: boolean;
  readonly select?: Select;
  readonly projection?: Projection;
  readonly filter?: ResolvedCondition;
}

export interface IndexRead {
  readonly index: IndexSchema;
  /**
   * An LSI read that needs attributes the index does not hold (Select ALL_ATTRIBUTES, or a
   * projection or filter naming them) reads them from the base items, as DynamoDB does.
   */
  readonly fetch: boolean;
  /** What an item of this read shows when the request names no attributes (ALL_PROJECTED_ATTRIBUTES). */
  readonly shown?: Projection;
}

/**
 * The index a Query or Scan names, with DynamoDB's refusals. Messages: "The table does not have
 * the specified index" (dynalite's tests, recorded against DynamoDB); "Cannot read from backfilling
 * global secondary index: NAME" (the ValidationException users report while a GSI is created,
 * e.g. the known-issues note of amazon-archives' impressions search sample); "Consistent reads are
 * not supported on global secondary indexes" (the ValidationException AWS answers, reported in
 * Layr-Labs/eigenda#1900 and amazon-archives/dynamodb-geo#16); and the Select ALL_ATTRIBUTES
 * refusal on a GSI that does not project everything (dynoxide, verified against DynamoDB).
 */
export function indexForRead(table: OpenTable, name: string, request: IndexReadRequest): IndexRead {
  const index = table.indexes.byName(name);
  if (!index || index.status === 'DELETING') {
    throw validationError(`The table does not have the specified index: ${name}`);
  }
  if (index.backfilling) throw validationError(`Cannot read from backfilling global secondary index: ${name}`);
  if (request.consistentRead === true && !index.local) {
    throw validationError('Consistent reads are not supported on global secondary indexes');
  }
  const type = index.projection.ProjectionType;
  if (request.select === 'ALL_ATTRIBUTES' && type !== 'ALL' && !index.local) {
    throw invalidParameter(
      `Select type ALL_ATTRIBUTES is not supported for global secondary index ${name} because its projection type is not ALL`,
    );
  }
  if (type === 'ALL' || !index.local) return { index, fetch: false };
  const held = heldNames(index);
  const named = [...(request.projection ?? []), ...conditionPaths(request.filter)];
  const fetch = request.select === 'ALL_ATTRIBUTES' || named.some((path) => !held.has(String(path[0])));
  if (!fetch) return { index, fetch };
  // Fetched whole, an item still shows only the index's attributes unless the request asked for more.
  const shows =
    request.select === 'ALL_ATTRIBUTES' || request.projection !== undefined
      ? {}
      : { shown: [...held].map((n): DocumentPath => [n]) };
  return { index, fetch, ...shows };
}

/** The top-level attributes an index entry holds (every one for ALL). */
function heldNames(index: IndexSchema): Set<string> {
  const held = new Set(index.keyNames);
  for (const name of index.projection.NonKeyAttributes ?? []) held.add(name);
  return held;
}

/**
 * The entry an ExclusiveStartKey of an index read names: it must hold exactly the index's and the
 * table's key attributes. Checks and messages in DynamoDB's order as dynoxide recorded them
 * (helpers.rs validate_esk_count_and_index_keys / validate_esk_table_keys): the attribute count,
 * then each index key (missing: the starting key is invalid; mistyped: the key element does not
 * match the schema), then the table key (the starting key is invalid: the key element …).
 */
export function indexStartEntry(
  startKey: Item,
  index: IndexSchema,
  table: OpenTable,
  countMessage?: string,
): Omit<EntryKey, 'space'> {
  const names = new Set<string>(index.keyNames);
  if (Object.keys(startKey).length !== names.size) throw invalidStartKey(countMessage);
  for (const attribute of [...index.hash, ...index.range]) {
    const value = Object.hasOwn(startKey, attribute.name) ? startKey[attribute.name] : undefined;
    if (!value) throw invalidStartKey();
    if (value[attribute.type] === undefined)
      throw validationError('The provided key element does not match the schema');
  }
  const tableKey = storedKey(validateStartKey(pickKey(startKey, table.keys), table), table.keys);
  const entry = indexEntryKey(index, startKey, tableKey);
  if (!entry) throw invalidStartKey();
  return { hash: entry.hash, pk: entry.pk, sk: entry.sk, tk: entry.tk };
}

const pickKey = (item: Item, keys: KeyAttributes): Item => {
  const out: Item = {};
  for (const name of [keys.hash.name, ...(keys.range ? [keys.range.name] : [])]) {
    const value = Object.hasOwn(item, name) ? item[name] : undefined;
    if (value) out[name] = value;
  }
  return out;
};

/**
 * A page of index entries as the page of items it answers with, and how the response is shaped:
 * LastEvaluatedKey with the index and table keys, capacity charged to the index (and to the table
 * for base items an LSI fetched).
 */
export function indexPage(
  page: Page,
  read: IndexRead,
  table: OpenTable,
  shape: Omit<PageShape, 'table' | 'lastKey' | 'capacity'>,
): { readonly page: Page; readonly shape: PageShape } {
  const { index } = read;
  const consistent = shape.consistentRead === true;
  let rows = page.rows;
  let fetchedBytes = 0;
  if (read.fetch) {
    rows = fetchBase(table.store, page.rows);
    fetchedBytes = rows.reduce((sum, row) => sum + row.size, 0);
  }
  const capacity = (units: number): CapacityUse => ({
    table: read.fetch && rows.length > 0 ? readUnits(fetchedBytes, consistent) : 0,
    indexes: [{ name: index.name, local: index.local, units }],
  });
  return {
    page: { rows, bytes: page.bytes, stopped: page.stopped },
    shape: {
      ...shape,
      table,
      ...(read.shown && !shape.projection ? { projection: read.shown } : {}),
      lastKey: (item) => indexKeyOf(index, item, table.keys),
      capacity,
    },
  };
}

/** The base items of index entries, read in the same synchronous step as the entries. */
function fetchBase(store: TableStore, entries: readonly StoredItem[]): StoredItem[] {
  const rows: StoredItem[] = [];
  for (const entry of entries) {
    const { pk, sk } = tableKeyOf((entry as StoredItem & { readonly tk: Buffer }).tk);
    const row = store.get(hashPartition(pk), pk, sk);
    if (row) rows.push(row);
  }
  return rows;
}
