import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { validationError } from '../errors.js';
import { fromStored, storedKey } from '../item-codec.js';
import { validateKey } from '../item-validation.js';
import { rejectUnsupported } from '../not-yet-supported.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';

export interface DeleteItemInput {
  TableName: string;
  Key: Item;
  ReturnValues?: string;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

export const deleteItem: Operation<DeleteItemInput> = {
  name: 'DeleteItem',
  async execute({ input, ctx, env }) {
    rejectUnsupported('DeleteItem', input, ['ConditionExpression', 'Expected', 'ConditionalOperator']);
    const name = resolveTableName(input.TableName, ctx);
    if (input.ReturnValues !== undefined && input.ReturnValues !== 'NONE' && input.ReturnValues !== 'ALL_OLD') {
      throw validationError('ReturnValues can only be ALL_OLD or NONE');
    }
    const table = await env.tables.open(ctx.principal.accountId, name, ctx);
    const key = validateKey(input.Key, table.definition.KeySchema, table.definition.AttributeDefinitions);
    const { hash, pk, sk } = storedKey(key, table.keys);
    const previous = table.store.delete(hash, pk, sk);
    return {
      ...(input.ReturnValues === 'ALL_OLD' && previous ? { Attributes: fromStored(previous) } : {}),
      ...consumedCapacity(input.ReturnConsumedCapacity, name, writeUnits(previous?.size ?? 0), 'write'),
    };
  },
};
