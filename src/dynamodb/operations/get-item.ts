import { PartlySerialized } from '../../http/service.js';
import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, readUnits } from '../capacity.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import { checkExpressionParams } from '../expressions/params.js';
import { fromStored, storedKey } from '../item-codec.js';
import { checkKey, validateAttributeMap } from '../item-validation.js';
import { checkKeyPaths } from '../key-paths.js';
import type { Operation } from '../operation.js';
import { projectPaths, requestedProjection } from '../projection.js';
import { resolveTableName } from '../table-name.js';
import { openRecovered } from '../transact.js';

export interface GetItemInput {
  TableName: string;
  Key: Item;
  AttributesToGet?: string[];
  ConsistentRead?: boolean;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
}

export const getItem: Operation<GetItemInput> = {
  name: 'GetItem',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    checkExpressionParams(input, { expressions: ['ProjectionExpression'], legacy: ['AttributesToGet'] });
    const attributes = ExpressionAttributes.of(input.ExpressionAttributeNames, undefined);
    const projection = requestedProjection(input, attributes);
    attributes.assertAllUsed();
    const values = validateAttributeMap(input.Key);
    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    const key = checkKey(values, table.definition.KeySchema, table.definition.AttributeDefinitions);
    checkKeyPaths(projection, table.keys);
    const { hash, pk, sk } = storedKey(key, table.keys);
    const row = table.store.get(hash, pk, sk);
    const capacity = consumedCapacity(
      input.ReturnConsumedCapacity,
      name,
      readUnits(row?.size ?? 0, input.ConsistentRead === true),
      'read',
    );
    // The stored body is the item's JSON: without a projection its bytes go out as they are.
    if (row && !projection) return new PartlySerialized({ Item: row.body }, capacity);
    const item = row ? projectPaths(fromStored(row), projection) : undefined;
    return { ...(item ? { Item: item } : {}), ...capacity };
  },
};
