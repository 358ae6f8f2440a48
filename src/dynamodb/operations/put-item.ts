import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { validationError } from '../errors.js';
import { fromStored, toStored } from '../item-codec.js';
import { validateItem } from '../item-validation.js';
import { rejectUnsupported } from '../not-yet-supported.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';

export interface PutItemInput {
  TableName: string;
  Item: Item;
  ReturnValues?: string;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

export const putItem: Operation<PutItemInput> = {
  name: 'PutItem',
  async execute({ input, ctx, env }) {
    rejectUnsupported('PutItem', input, ['ConditionExpression', 'Expected', 'ConditionalOperator']);
    const name = resolveTableName(input.TableName, ctx);
    if (input.ReturnValues !== undefined && input.ReturnValues !== 'NONE' && input.ReturnValues !== 'ALL_OLD') {
      throw validationError('ReturnValues can only be ALL_OLD or NONE');
    }
    const table = await env.tables.open(ctx.principal.accountId, name, ctx);
    const { KeySchema, AttributeDefinitions } = table.definition;
    const item = validateItem(input.Item, KeySchema, AttributeDefinitions);
    const row = toStored(item, table.keys);
    const previous = table.store.put(row);
    return {
      ...(input.ReturnValues === 'ALL_OLD' && previous ? { Attributes: fromStored(previous) } : {}),
      ...consumedCapacity(
        input.ReturnConsumedCapacity,
        name,
        writeUnits(Math.max(row.size, previous?.size ?? 0)),
        'write',
      ),
    };
  },
};
