import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { conditionFailed, type WriteConditionInput, writeCondition } from '../condition.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import { evaluateCondition } from '../expressions/evaluate.js';
import { checkExpressionParams } from '../expressions/params.js';
import { fromStored, toStored } from '../item-codec.js';
import { validateItem } from '../item-validation.js';
import type { Operation } from '../operation.js';
import { checkPutDeleteReturnValues } from '../return-values.js';
import { resolveTableName } from '../table-name.js';
import { openRecovered } from '../transact.js';

export interface PutItemInput extends WriteConditionInput {
  TableName: string;
  Item: Item;
  ReturnValues?: string;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnValuesOnConditionCheckFailure?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

export const PUT_EXPRESSION_PARAMS = {
  expressions: ['ConditionExpression'],
  legacy: ['Expected', 'ConditionalOperator'],
} as const;

export const putItem: Operation<PutItemInput> = {
  name: 'PutItem',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    checkExpressionParams(input, PUT_EXPRESSION_PARAMS);
    checkPutDeleteReturnValues(input.ReturnValues);
    const attributes = ExpressionAttributes.of(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
    const condition = writeCondition(input, attributes);
    attributes.assertAllUsed();

    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    const { KeySchema, AttributeDefinitions } = table.definition;
    const item = validateItem(input.Item, KeySchema, AttributeDefinitions);
    const row = toStored(item, table.keys);
    const previous = table.store.transaction(() => {
      const existing = table.store.get(row.hash, row.pk, row.sk);
      const old = existing && fromStored(existing);
      if (condition && !evaluateCondition(condition, old)) {
        throw conditionFailed(old, input.ReturnValuesOnConditionCheckFailure);
      }
      table.store.put(row);
      return existing;
    });
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
