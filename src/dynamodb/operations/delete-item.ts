import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { conditionFailed, type WriteConditionInput, writeCondition } from '../condition.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import { evaluateCondition } from '../expressions/evaluate.js';
import { checkExpressionParams } from '../expressions/params.js';
import { fromStored, storedKey } from '../item-codec.js';
import { validateKey } from '../item-validation.js';
import type { Operation } from '../operation.js';
import { checkPutDeleteReturnValues } from '../return-values.js';
import { resolveTableName } from '../table-name.js';
import { openRecovered } from '../transact.js';
import { PUT_EXPRESSION_PARAMS } from './put-item.js';

export interface DeleteItemInput extends WriteConditionInput {
  TableName: string;
  Key: Item;
  ReturnValues?: string;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnValuesOnConditionCheckFailure?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export const deleteItem: Operation<DeleteItemInput> = {
  name: 'DeleteItem',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    checkExpressionParams(input, PUT_EXPRESSION_PARAMS);
    checkPutDeleteReturnValues(input.ReturnValues);
    const attributes = ExpressionAttributes.of(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const condition = writeCondition(input, attributes);
    attributes.assertAllUsed();

    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    const key = validateKey(input.Key, table.definition.KeySchema, table.definition.AttributeDefinitions);
    const { hash, pk, sk } = storedKey(key, table.keys);
    const previous = table.store.transaction(() => {
      const existing = table.store.get(hash, pk, sk);
      const old = existing && fromStored(existing);
      if (condition && !evaluateCondition(condition, old)) {
        throw conditionFailed(old, input.ReturnValuesOnConditionCheckFailure);
      }
      return existing && table.store.delete(hash, pk, sk);
    });
    return {
      ...(input.ReturnValues === 'ALL_OLD' && previous ? { Attributes: fromStored(previous) } : {}),
      ...consumedCapacity(input.ReturnConsumedCapacity, name, writeUnits(previous?.size ?? 0), 'write'),
    };
  },
};
