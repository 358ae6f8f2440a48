import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, readUnits } from '../capacity.js';
import { fromStored, storedKey } from '../item-codec.js';
import { validateKey } from '../item-validation.js';
import { rejectUnsupported } from '../not-yet-supported.js';
import type { Operation } from '../operation.js';
import { projectAttributes, validateAttributesToGet } from '../projection.js';
import { resolveTableName } from '../table-name.js';

export interface GetItemInput {
  TableName: string;
  Key: Item;
  AttributesToGet?: string[];
  ConsistentRead?: boolean;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

export const getItem: Operation<GetItemInput> = {
  name: 'GetItem',
  async execute({ input, ctx, env }) {
    rejectUnsupported('GetItem', input, ['ProjectionExpression', 'ExpressionAttributeNames']);
    const name = resolveTableName(input.TableName, ctx);
    if (input.AttributesToGet) validateAttributesToGet(input.AttributesToGet);
    const table = await env.tables.open(ctx.principal.accountId, name, ctx);
    const key = validateKey(input.Key, table.definition.KeySchema, table.definition.AttributeDefinitions);
    const { hash, pk, sk } = storedKey(key, table.keys);
    const row = table.store.get(hash, pk, sk);
    const item = row ? projectAttributes(fromStored(row), input.AttributesToGet) : undefined;
    return {
      ...(item ? { Item: item } : {}),
      ...consumedCapacity(
        input.ReturnConsumedCapacity,
        name,
        readUnits(row?.size ?? 0, input.ConsistentRead === true),
        'read',
      ),
    };
  },
};
