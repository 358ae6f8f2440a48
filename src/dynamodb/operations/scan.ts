import type { EntryKey, ScanRange } from '../../storage/table-file.js';
import type { Item } from '../attribute-value.js';
import type { ReturnConsumedCapacity } from '../capacity.js';
import { parseConditionExpression } from '../condition.js';
import { validationError } from '../errors.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import type { ResolvedCondition } from '../expressions/evaluate.js';
import { checkExpressionParams } from '../expressions/params.js';
import { indexForRead, indexPage, indexStartEntry } from '../indexes/read.js';
import { storedKey } from '../item-codec.js';
import { checkKeyPaths, conditionPaths } from '../key-paths.js';
import {
  type ConditionalOperator,
  checkConditionalOperator,
  filterCondition,
  type LegacyFilterCondition,
} from '../legacy.js';
import type { Operation } from '../operation.js';
import {
  checkSelect,
  invalidStartKey,
  pageOutput,
  readPage,
  type Select,
  validateStartKey,
  validateStartKeyValues,
} from '../paging.js';
import { type Projection, requestedProjection, validateAttributesToGet } from '../projection.js';
import { resolveTableName } from '../table-name.js';
import type { OpenTable } from '../tables.js';
import { openRecovered } from '../transact.js';

export interface ScanInput {
  TableName: string;
  IndexName?: string;
  AttributesToGet?: string[];
  Limit?: number;
  Select?: Select;
  ScanFilter?: Record<string, LegacyFilterCondition>;
  ConditionalOperator?: ConditionalOperator;
  ExclusiveStartKey?: Record<string, unknown>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  TotalSegments?: number;
  Segment?: number;
  ProjectionExpression?: string;
  FilterExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
  ConsistentRead?: boolean;
}

/** Scan walks partitions in the order of their 32-bit hash; segments split that range evenly. */
const HASH_SPACE = 2 ** 32;

export const scan: Operation<ScanInput> = {
  name: 'Scan',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const { startKey, projection, filter } = validateRequest(input);

    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    if (input.IndexName !== undefined) {
      if (startKey && !table.indexes.byName(input.IndexName)) throw invalidStartKey();
      return scanIndex(input, input.IndexName, name, table, startKey, projection, filter);
    }
    const range = planScan(input, startKey, table);
    checkKeyPaths(projection, table.keys);
    checkKeyPaths(conditionPaths(filter), table.keys);
    const page = readPage(table.store.scan(range), input.Limit);
    return pageOutput(page, {
      table,
      tableName: name,
      select: input.Select,
      projection,
      filter,
      consistentRead: input.ConsistentRead,
      returnConsumedCapacity: input.ReturnConsumedCapacity,
    });
  },
};

/** Everything DynamoDB checks before it looks at the table, in its order. */
interface ScanPlan {
  readonly startKey?: Item;
  readonly projection?: Projection;
  readonly filter?: ResolvedCondition;
}

function validateRequest(input: ScanInput): ScanPlan {
  checkSelect(input, '');
  checkExpressionParams(input, {
    expressions: ['ProjectionExpression', 'FilterExpression'],
    legacy: ['AttributesToGet', 'ScanFilter', 'ConditionalOperator'],
  });
  checkConditionalOperator(input.ConditionalOperator, input.ScanFilter);
  if (input.AttributesToGet) validateAttributesToGet(input.AttributesToGet);
  const startKey = input.ExclusiveStartKey ? validateStartKeyValues(input.ExclusiveStartKey) : undefined;
  const { Segment: segment, TotalSegments: total } = input;
  if (segment !== undefined && total === undefined) {
    throw validationError(
      'The TotalSegments parameter is required but was not present in the request when Segment parameter is present',
    );
  }
  if (total !== undefined) {
    if (segment === undefined) {
      throw validationError(
        'The Segment parameter is required but was not present in the request when parameter TotalSegments is present',
      );
    }
    if (segment >= total) {
      throw validationError(
        'The Segment parameter is zero-based and must be less than parameter TotalSegments: ' +
          `Segment: ${segment} is not less than TotalSegments: ${total}`,
      );
    }
  }
  const attributes = ExpressionAttributes.of(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
  const projection = requestedProjection(input, attributes);
  const filter =
    input.FilterExpression !== undefined
      ? parseConditionExpression('FilterExpression', input.FilterExpression, attributes)
      : filterCondition(input.ScanFilter, input.ConditionalOperator);
  attributes.assertAllUsed();
  return { startKey, projection, filter };
}

/** The segment's slice of the hash space. */
function segmentRange(input: ScanInput): { fromHash: number; toHash: number } {
  const total = input.TotalSegments ?? 1;
  const segment = input.Segment ?? 0;
  return {
    fromHash: Math.floor((segment * HASH_SPACE) / total),
    toHash: Math.floor(((segment + 1) * HASH_SPACE) / total),
  };
}

/** A Scan of a secondary index (a segment of it, resumed after the ExclusiveStartKey's entry). */
function scanIndex(
  input: ScanInput,
  indexName: string,
  tableName: string,
  table: OpenTable,
  startKey: Item | undefined,
  projection: Projection | undefined,
  filter: ResolvedCondition | undefined,
) {
  const read = indexForRead(table, indexName, {
    consistentRead: input.ConsistentRead,
    select: input.Select,
    projection,
    filter,
  });
  const { index } = read;
  const { fromHash, toHash } = segmentRange(input);
  let after: Omit<EntryKey, 'space'> | undefined;
  if (startKey) {
    after = indexStartEntry(startKey, index, table);
    checkSegment(input, table.store.scanHash(after.hash, index.space, after.pk), fromHash, toHash);
  }
  const indexKeys = [...index.hash, ...index.range].map((a) => a.name);
  checkKeyPaths(projection, table.keys, indexKeys);
  checkKeyPaths(conditionPaths(filter), table.keys, indexKeys);
  const range = { space: index.space, fromHash, toHash, ...(after ? { after } : {}) };
  const entries = readPage(table.store.scanEntries(range), input.Limit);
  const { page, shape } = indexPage(entries, read, table, {
    tableName,
    select: input.Select,
    projection,
    filter,
    consistentRead: input.ConsistentRead,
    returnConsumedCapacity: input.ReturnConsumedCapacity,
  });
  return pageOutput(page, shape);
}

/** A start key of a parallel Scan must lie in the segment asked for. */
function checkSegment(input: ScanInput, hash: number, fromHash: number, toHash: number): void {
  const total = input.TotalSegments ?? 1;
  if (total > 1 && (hash < fromHash || hash >= toHash)) {
    throw invalidStartKey(
      `Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: ${total} Segment: ${input.Segment ?? 0}`,
    );
  }
}

/** The segment's slice of the hash space, resumed after the ExclusiveStartKey. */
function planScan(input: ScanInput, startKey: Item | undefined, table: OpenTable): ScanRange {
  const { fromHash, toHash } = segmentRange(input);
  if (!startKey) return { fromHash, toHash };

  if (Object.keys(startKey).length !== (table.keys.range ? 2 : 1)) {
    throw invalidStartKey('The provided key element does not match the schema');
  }
  const after = storedKey(validateStartKey(startKey, table), table.keys);
  checkSegment(input, table.store.scanHash(after.hash, undefined, after.pk), fromHash, toHash);
  return { fromHash, toHash, after };
}
