import type { KeyBound, RangeQuery } from '../../storage/table-file.js';
import type { AttributeValue, Item } from '../attribute-value.js';
import type { ReturnConsumedCapacity } from '../capacity.js';
import { parseConditionExpression } from '../condition.js';
import { invalidParameter, validationError } from '../errors.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import type { ResolvedCondition } from '../expressions/evaluate.js';
import {
  checkKeyConditions,
  type KeyCondition,
  type LegacyCondition,
  legacyKeyConditions,
  parseKeyConditionExpression,
} from '../expressions/key-condition.js';
import { checkExpressionParams } from '../expressions/params.js';
import { planIndexRange } from '../indexes/query-range.js';
import { indexForRead, indexPage } from '../indexes/read.js';
import { storedKey } from '../item-codec.js';
import { checkStartInRange, sortKeyBounds } from '../key-bounds.js';
import { encodeKeyValue, hashPartition } from '../key-codec.js';
import { checkFilterWithoutKeys, checkKeyPaths, conditionPaths } from '../key-paths.js';
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
import type { KeyAttribute } from '../table-schema.js';
import type { OpenTable } from '../tables.js';
import { openRecovered } from '../transact.js';

export interface QueryInput {
  TableName: string;
  IndexName?: string;
  Select?: Select;
  AttributesToGet?: string[];
  Limit?: number;
  ConsistentRead?: boolean;
  KeyConditions?: Record<string, LegacyCondition>;
  QueryFilter?: Record<string, LegacyFilterCondition>;
  ConditionalOperator?: ConditionalOperator;
  ScanIndexForward?: boolean;
  ExclusiveStartKey?: Record<string, unknown>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ProjectionExpression?: string;
  FilterExpression?: string;
  KeyConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export const query: Operation<QueryInput> = {
  name: 'Query',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const { conditions, startKey, projection, filter } = validateRequest(input);

    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    if (input.IndexName !== undefined)
      return queryIndex(input, input.IndexName, name, table, conditions, startKey, projection, filter);
    const range = planRange(conditions, startKey, table, input.ScanIndexForward !== false);
    checkKeyPaths(projection, table.keys);
    if (input.QueryFilter) {
      checkFilterWithoutKeys(
        Object.keys(input.QueryFilter).map((attribute) => [attribute]),
        table.keys,
        'QueryFilter',
      );
    } else {
      checkFilterWithoutKeys(conditionPaths(filter), table.keys, 'Filter Expression');
    }
    const page = readPage(table.store.query(range), input.Limit);
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
interface QueryPlan {
  readonly conditions: KeyCondition[];
  readonly startKey?: Item;
  readonly projection?: Projection;
  readonly filter?: ResolvedCondition;
}

function validateRequest(input: QueryInput): QueryPlan {
  checkSelect(input, '1 validation error detected: ');
  checkExpressionParams(input, {
    expressions: ['ProjectionExpression', 'FilterExpression', 'KeyConditionExpression'],
    legacy: ['AttributesToGet', 'QueryFilter', 'ConditionalOperator', 'KeyConditions'],
  });
  checkConditionalOperator(input.ConditionalOperator, input.QueryFilter);
  if (input.AttributesToGet) validateAttributesToGet(input.AttributesToGet);
  const startKey = input.ExclusiveStartKey ? validateStartKeyValues(input.ExclusiveStartKey) : undefined;
  if (input.KeyConditions === undefined && input.KeyConditionExpression === undefined) {
    throw validationError(
      'Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.',
    );
  }

  const attributes = ExpressionAttributes.of(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
  const projection = requestedProjection(input, attributes);
  const filter =
    input.FilterExpression !== undefined
      ? parseConditionExpression('FilterExpression', input.FilterExpression, attributes)
      : undefined;
  const maxConditions = input.IndexName !== undefined ? MAX_INDEX_CONDITIONS : 2;
  let conditions: KeyCondition[];
  if (input.KeyConditionExpression !== undefined) {
    conditions = parseKeyConditionExpression(input.KeyConditionExpression, attributes);
    attributes.assertAllUsed();
    checkKeyConditions(conditions, maxConditions);
  } else {
    attributes.assertAllUsed();
    conditions = legacyKeyConditions(input.KeyConditions ?? {}, maxConditions);
  }
  const legacyFilter = filterCondition(input.QueryFilter, input.ConditionalOperator);
  return { conditions, startKey, projection, filter: filter ?? legacyFilter };
}

/** A multi-attribute GSI key: up to 4 partition-key and 4 sort-key attributes. */
const MAX_INDEX_CONDITIONS = 8;

/** A Query of a secondary index: its key conditions, filters and projection checked against the index. */
function queryIndex(
  input: QueryInput,
  indexName: string,
  tableName: string,
  table: OpenTable,
  conditions: readonly KeyCondition[],
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
  const range = planIndexRange(conditions, startKey, table, index, input.ScanIndexForward !== false);
  const indexKeys = [...index.hash, ...index.range].map((a) => a.name);
  checkKeyPaths(projection, table.keys, indexKeys);
  if (input.QueryFilter) {
    checkFilterWithoutKeys(
      Object.keys(input.QueryFilter).map((attribute) => [attribute]),
      indexKeys,
      'QueryFilter',
    );
  } else {
    checkFilterWithoutKeys(conditionPaths(filter), indexKeys, 'Filter Expression');
  }
  const entries = readPage(table.store.queryEntries(range), input.Limit);
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

const NOT_INDEXABLE = new Set(['NULL', 'NOT_NULL', 'NE', 'CONTAINS', 'NOT_CONTAINS', 'IN']);

/**
 * Matches the conditions (and the ExclusiveStartKey) to the table's key schema, with
 * DynamoDB's checks in its order, and turns them into a range of the partition.
 */
function planRange(
  conditions: readonly KeyCondition[],
  startKey: Item | undefined,
  table: OpenTable,
  forward: boolean,
): RangeQuery {
  const { keys } = table;
  const parts: Array<[KeyAttribute, boolean]> = keys.range
    ? [
        [keys.hash, true],
        [keys.range, false],
      ]
    : [[keys.hash, true]];
  if (startKey && Object.keys(startKey).length !== parts.length) throw invalidStartKey();

  let hashCondition: KeyCondition | undefined;
  let rangeCondition: KeyCondition | undefined;
  for (const [attribute, isHash] of parts) {
    if (startKey) {
      const value = Object.hasOwn(startKey, attribute.name) ? startKey[attribute.name] : undefined;
      if (!value) throw invalidStartKey();
      if (value[attribute.type] === undefined)
        throw validationError('The provided key element does not match the schema');
    }
    if (isHash && !keys.range && conditions.length > 1) throw validationError('Query key condition not supported');
    const condition = conditions.find((c) => c.attribute === attribute.name);
    if (!condition) {
      if (isHash || conditions.length > 1)
        throw validationError(`Query condition missed key schema element: ${attribute.name}`);
      continue;
    }
    if (NOT_INDEXABLE.has(condition.operator)) {
      throw validationError('Attempted conditional constraint is not an indexable operation');
    }
    if (condition.values.some((v) => v[attribute.type] === undefined)) {
      throw invalidParameter('Condition parameter type does not match schema type');
    }
    if (isHash && condition.operator !== 'EQ') throw validationError('Query key condition not supported');
    if (isHash) hashCondition = condition;
    else rangeCondition = condition;
  }
  // Every path through the loop that leaves the hash key without a condition throws.
  const hashValue = (hashCondition as KeyCondition).values[0] as AttributeValue;
  const pk = encodeKeyValue(keys.hash.type, hashValue);
  const hash = hashPartition(pk);
  const bounds = keys.range && rangeCondition ? sortKeyBounds(rangeCondition, keys.range.type) : {};

  if (!startKey) return { hash, pk, forward, ...bounds };
  const start = storedKey(validateStartKey(startKey, table), keys);
  checkStartInRange(start.pk.equals(pk), rangeCondition !== undefined, start.sk, bounds);
  // Resume strictly after the start key in the direction of travel; the other bound stays.
  const after: KeyBound = { key: start.sk, inclusive: false };
  return forward ? { hash, pk, forward, ...bounds, lower: after } : { hash, pk, forward, ...bounds, upper: after };
}
