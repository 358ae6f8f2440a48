import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, readUnits } from '../capacity.js';
import { validationError } from '../errors.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import { checkExpressionParams } from '../expressions/params.js';
import { fromStored, storedKey } from '../item-codec.js';
import { validateAttributeMap, validateKey } from '../item-validation.js';
import { checkKeyPaths } from '../key-paths.js';
import type { Operation } from '../operation.js';
import { type Projection, projectPaths, requestedProjection } from '../projection.js';
import { resolveTableName } from '../table-name.js';
import type { OpenTable } from '../tables.js';
import { openRecovered } from '../transact.js';

export interface KeysAndAttributes {
  Keys: Record<string, unknown>[];
  AttributesToGet?: string[];
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
}

export interface BatchGetItemInput {
  RequestItems: Record<string, KeysAndAttributes>;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

export const MAX_BATCH_GET_KEYS = 100;
/** DynamoDB returns at most this much item data; the keys it did not get to come back unprocessed. */
export const MAX_BATCH_GET_RESPONSE_BYTES = 16 * 1024 * 1024;

interface TableRequest {
  /** The table as the request names it (name or ARN); responses use the same spelling. */
  readonly requested: string;
  readonly request: KeysAndAttributes;
  readonly keys: Item[];
  readonly projection: Projection | undefined;
}

export const batchGetItem: Operation<BatchGetItemInput> = {
  name: 'BatchGetItem',
  async execute({ input, ctx, env }) {
    const requests = validateRequest(input.RequestItems);

    // All tables and keys are checked before anything is read.
    const planned: Array<TableRequest & { table: OpenTable; name: string }> = [];
    for (const request of requests) {
      const name = resolveTableName(request.requested, ctx);
      const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
      const { KeySchema, AttributeDefinitions } = table.definition;
      const keys = request.keys.map((key) => validateKey(key, KeySchema, AttributeDefinitions));
      checkKeyPaths(request.projection, table.keys);
      planned.push({ ...request, keys, table, name });
    }

    const responses: Record<string, Item[]> = {};
    const unprocessed: Record<string, KeysAndAttributes> = {};
    const capacity: unknown[] = [];
    let bytes = 0;
    let full = false;
    for (const { requested, request, keys, table, name, projection } of planned) {
      const items: Item[] = [];
      const left: Item[] = [];
      let units = 0;
      for (const key of keys) {
        const stored = storedKey(key, table.keys);
        const row = full ? undefined : table.store.get(stored.hash, stored.pk, stored.sk);
        if (full || bytes + (row?.size ?? 0) > MAX_BATCH_GET_RESPONSE_BYTES) {
          full = true;
          left.push(key);
          continue;
        }
        units += readUnits(row?.size ?? 0, request.ConsistentRead === true);
        if (row) {
          bytes += row.size;
          items.push(projectPaths(fromStored(row), projection));
        }
      }
      responses[requested] = items;
      if (left.length > 0) unprocessed[requested] = { ...withoutKeys(request), Keys: left };
      const consumed = consumedCapacity(input.ReturnConsumedCapacity, name, units, 'read').ConsumedCapacity;
      if (consumed) capacity.push(consumed);
    }
    return {
      Responses: responses,
      UnprocessedKeys: unprocessed,
      ...(input.ReturnConsumedCapacity === 'TOTAL' || input.ReturnConsumedCapacity === 'INDEXES'
        ? { ConsumedCapacity: capacity }
        : {}),
    };
  },
};

/** What DynamoDB checks before it looks at any table, table by table in request order. */
function validateRequest(requestItems: Record<string, KeysAndAttributes>): TableRequest[] {
  const requests: TableRequest[] = [];
  let total = 0;
  for (const [requested, request] of Object.entries(requestItems)) {
    checkExpressionParams(request, { expressions: ['ProjectionExpression'], legacy: ['AttributesToGet'] });
    const seen = new Set<string>();
    const keys: Item[] = [];
    for (const raw of request.Keys) {
      const key = validateAttributeMap(raw);
      const identity = keyIdentity(key);
      if (seen.has(identity)) throw validationError('Provided list of item keys contains duplicates');
      seen.add(identity);
      if (++total > MAX_BATCH_GET_KEYS) throw validationError('Too many items requested for the BatchGetItem call');
      keys.push(key);
    }
    const attributes = ExpressionAttributes.of(request.ExpressionAttributeNames, undefined);
    const projection = requestedProjection(request, attributes);
    attributes.assertAllUsed();
    requests.push({ requested, request, keys, projection });
  }
  return requests;
}

/** Equal keys (numbers already canonical) give equal strings, whatever the attribute order. */
function keyIdentity(key: Item): string {
  return JSON.stringify(Object.entries(key).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function withoutKeys(request: KeysAndAttributes): Omit<KeysAndAttributes, 'Keys'> {
  const { Keys: _keys, ...rest } = request;
  return rest;
}
