/**
 * What Query and Scan share: reading a page (Limit, the 1 MB limit), shaping the result
 * (Select, Count/ScannedCount, LastEvaluatedKey, ConsumedCapacity), ExclusiveStartKey
 * validation, Select rules, and opening a table for a data-plane read.
 */
import { AwsError } from '../http/aws-error.js';
import type { StoredItem } from '../storage/table-file.js';
import type { Item } from './attribute-value.js';
import { type CapacityUse, consumedCapacity, type ReturnConsumedCapacity, readUnits } from './capacity.js';
import { validationError } from './errors.js';
import { evaluateCondition, type ResolvedCondition } from './expressions/evaluate.js';
import { fromStored, keyOf } from './item-codec.js';
import { validateAttributeMap, validateKey } from './item-validation.js';
import { type Projection, projectPaths } from './projection.js';
import type { OpenTable } from './tables.js';

/** DynamoDB stops a Query or Scan page once it has read this much item data. */
export const PAGE_SIZE_LIMIT = 1024 * 1024;

export type Select = 'ALL_ATTRIBUTES' | 'ALL_PROJECTED_ATTRIBUTES' | 'SPECIFIC_ATTRIBUTES' | 'COUNT';

/** The members of a Query or Scan that choose what comes back. */
export interface Selection {
  readonly Select?: Select;
  readonly AttributesToGet?: readonly string[];
  readonly ProjectionExpression?: string;
  readonly IndexName?: string;
}

/**
 * DynamoDB's rules between Select, AttributesToGet/ProjectionExpression and IndexName. Query
 * reports them as Coral validation errors (`prefix` = `1 validation error detected: `), Scan bare.
 */
export function checkSelect(selection: Selection, prefix: string): void {
  const { Select: select } = selection;
  if (select !== undefined && select !== 'SPECIFIC_ATTRIBUTES') {
    const what = select === 'COUNT' ? 'only the Count' : select;
    for (const member of ['ProjectionExpression', 'AttributesToGet'] as const) {
      if (selection[member] !== undefined) {
        throw validationError(`${prefix}Cannot specify the ${member} when choosing to get ${what}`);
      }
    }
  }
  if (select === 'ALL_PROJECTED_ATTRIBUTES' && selection.IndexName === undefined) {
    throw validationError(`${prefix}ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName`);
  }
  if (
    select === 'SPECIFIC_ATTRIBUTES' &&
    selection.AttributesToGet === undefined &&
    selection.ProjectionExpression === undefined
  ) {
    throw validationError(
      `${prefix}Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES`,
    );
  }
}

const STARTING_KEY = 'The provided starting key is invalid';

/** Prefixes semantic validation errors with `The provided starting key is invalid: `. */
function asStartingKeyError(error: unknown): unknown {
  if (error instanceof AwsError && error.code === 'ValidationException') {
    return validationError(`${STARTING_KEY}: ${error.message}`);
  }
  return error;
}

/** The ExclusiveStartKey's attribute values, checked before the table is looked at. */
export function validateStartKeyValues(startKey: unknown): Item {
  try {
    return validateAttributeMap(startKey);
  } catch (error) {
    throw asStartingKeyError(error);
  }
}

/** The ExclusiveStartKey as a key of the table (sizes, empty values, exact attributes). */
export function validateStartKey(startKey: Item, table: OpenTable): Item {
  try {
    return validateKey(startKey, table.definition.KeySchema, table.definition.AttributeDefinitions);
  } catch (error) {
    throw asStartingKeyError(error);
  }
}

/** `The provided starting key is invalid[: detail]`. */
export const invalidStartKey = (detail?: string): AwsError =>
  validationError(detail === undefined ? STARTING_KEY : `${STARTING_KEY}: ${detail}`);

export interface Page {
  readonly rows: readonly StoredItem[];
  /** Sum of the rows' item sizes: what the page read, and what it is charged for. */
  readonly bytes: number;
  /** Reading stopped at Limit or at the size limit, so the page carries a LastEvaluatedKey. */
  readonly stopped: boolean;
}

/**
 * Reads rows until Limit is reached or 1 MB has been read (the row that crosses the size
 * limit is still returned). A page that stops for either reason has a LastEvaluatedKey even
 * when nothing follows it, as in DynamoDB. Iteration stops early, so the rest is never read.
 */
export function readPage(rows: Iterable<StoredItem>, limit: number | undefined): Page {
  const out: StoredItem[] = [];
  let bytes = 0;
  let stopped = false;
  for (const row of rows) {
    out.push(row);
    bytes += row.size;
    if (out.length === limit || bytes >= PAGE_SIZE_LIMIT) {
      stopped = true;
      break;
    }
  }
  return { rows: out, bytes, stopped };
}

export interface PageOutput {
  Items?: Item[];
  Count: number;
  ScannedCount: number;
  LastEvaluatedKey?: Item;
  ConsumedCapacity?: unknown;
}

export interface PageShape {
  readonly table: OpenTable;
  readonly tableName: string;
  readonly select?: Select;
  readonly projection?: Projection;
  /** FilterExpression or QueryFilter/ScanFilter: applied to the page already read, as in DynamoDB. */
  readonly filter?: ResolvedCondition;
  readonly consistentRead?: boolean;
  readonly returnConsumedCapacity?: ReturnConsumedCapacity;
  /** The LastEvaluatedKey of an item (default: its table key; an index read adds the index keys). */
  readonly lastKey?: (item: Item) => Item;
  /** Who the page's read units are charged to (default: the table). */
  readonly capacity?: (units: number) => CapacityUse;
}

/** The Query/Scan response for a page. */
export function pageOutput(page: Page, shape: PageShape): PageOutput {
  const { rows } = page;
  const last = rows[rows.length - 1];
  const { filter } = shape;
  const items = rows.map(fromStored).filter((item) => !filter || evaluateCondition(filter, item));
  const output: PageOutput = { Count: items.length, ScannedCount: rows.length };
  if (shape.select !== 'COUNT') output.Items = items.map((item) => projectPaths(item, shape.projection));
  if (page.stopped && last) {
    const item = fromStored(last);
    output.LastEvaluatedKey = shape.lastKey ? shape.lastKey(item) : keyOf(item, shape.table.keys);
  }
  const units = readUnits(page.bytes, shape.consistentRead === true);
  const use = shape.capacity ? shape.capacity(units) : units;
  return { ...output, ...consumedCapacity(shape.returnConsumedCapacity, shape.tableName, use, 'read') };
}
