import { oncePerUnit } from '../../storage/backend.js';
import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { singleWriteCondition, type WriteConditionInput, writeIfCondition } from '../condition.js';
import { checkIndexKeys } from '../indexes/entries.js';
import { checkCollection, ITEM_COLLECTION_LIMIT_BYTES, singleCollectionMetrics } from '../indexes/item-collections.js';
import { countingIndexWrites, writeUse } from '../indexes/write-capacity.js';
import { preparedPutItem } from '../item-checks/prepare.js';
import { checkPutValues } from '../item-checks/write-requests.js';
import { writtenKeyNames } from '../item-checks/written-keys.js';
import { fromStored, toStoredChecked } from '../item-codec.js';
import { checkItemKey } from '../item-validation.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';
import { openRecovered } from '../transact.js';

export interface PutItemInput extends WriteConditionInput {
  TableName: string;
  Item: Item;
  ReturnValues?: string;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: string;
  ReturnValuesOnConditionCheckFailure?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export const putItem: Operation<PutItemInput> = {
  name: 'PutItem',
  async execute({ input, ctx, env, prepared }) {
    const name = resolveTableName(input.TableName, ctx);
    const condition = singleWriteCondition(input);
    // Values and size are checked before the table is looked up, as DynamoDB does (for a large
    // body, in the JSON worker: its error, if any, is thrown here).
    // Once per request: over the engine a run again after a fetch reuses the checked item.
    const values = prepared ? preparedPutItem(prepared) : oncePerUnit(() => checkPutValues(input.Item));

    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    const { KeySchema, AttributeDefinitions } = table.definition;
    // The key and index-key attributes (the whole item, when it was checked on this thread).
    const item = checkItemKey(values.pick(writtenKeyNames(table)), KeySchema, AttributeDefinitions);
    // Index key values are part of the item's validation, before its condition (dynalite's
    // putItem, after DynamoDB: validateItem, then checkConditional).
    checkIndexKeys(table.indexes.maintained, item);
    const row = toStoredChecked(values, item, table.keys);
    const limit = env.itemCollectionLimitBytes ?? ITEM_COLLECTION_LIMIT_BYTES;
    const { result: previous, indexes } = countingIndexWrites(() =>
      writeIfCondition(table.store, row, condition, input.ReturnValuesOnConditionCheckFailure, () => {
        table.store.put(row);
        checkCollection(table, row, limit);
      }),
    );
    return {
      ...(input.ReturnValues === 'ALL_OLD' && previous ? { Attributes: fromStored(previous) } : {}),
      ...consumedCapacity(
        input.ReturnConsumedCapacity,
        name,
        writeUse(writeUnits(Math.max(row.size, previous?.size ?? 0)), indexes),
        'write',
      ),
      ...singleCollectionMetrics(input.ReturnItemCollectionMetrics, table, item, row, true),
    };
  },
};
