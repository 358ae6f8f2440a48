import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { singleWriteCondition, type WriteConditionInput, writeIfCondition } from '../condition.js';
import { singleCollectionMetrics } from '../indexes/item-collections.js';
import { countingIndexWrites, writeUse } from '../indexes/write-capacity.js';
import { fromStored, storedKey } from '../item-codec.js';
import { checkKey, validateAttributeMap } from '../item-validation.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';
import { openRecovered } from '../transact.js';

export interface DeleteItemInput extends WriteConditionInput {
  TableName: string;
  Key: Item;
  ReturnValues?: string;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: string;
  ReturnValuesOnConditionCheckFailure?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export const deleteItem: Operation<DeleteItemInput> = {
  name: 'DeleteItem',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const condition = singleWriteCondition(input);
    const values = validateAttributeMap(input.Key);

    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    const key = checkKey(values, table.definition.KeySchema, table.definition.AttributeDefinitions);
    const stored = storedKey(key, table.keys);
    const { result: previous, indexes } = countingIndexWrites(() =>
      writeIfCondition(table.store, stored, condition, input.ReturnValuesOnConditionCheckFailure, () =>
        table.store.delete(stored.hash, stored.pk, stored.sk),
      ),
    );
    return {
      ...(input.ReturnValues === 'ALL_OLD' && previous ? { Attributes: fromStored(previous) } : {}),
      ...consumedCapacity(
        input.ReturnConsumedCapacity,
        name,
        writeUse(writeUnits(previous?.size ?? 0), indexes),
        'write',
      ),
      ...singleCollectionMetrics(input.ReturnItemCollectionMetrics, table, key, stored, previous !== undefined),
    };
  },
};
