import type { Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, readUnits } from '../capacity.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import { checkExpressionParams } from '../expressions/params.js';
import { fromStored, type StoredKey, storedKey } from '../item-codec.js';
import { validateAttributeMap, validateKey } from '../item-validation.js';
import { checkKeyPaths } from '../key-paths.js';
import type { Operation } from '../operation.js';
import { type Projection, projectPaths, requestedProjection } from '../projection.js';
import { resolveTableName } from '../table-name.js';
import type { OpenTable } from '../tables.js';
import { openRecovered } from '../transact.js';

export interface TransactGetItemsInput {
  TransactItems: {
    Get: {
      TableName: string;
      Key: Record<string, unknown>;
      ProjectionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
    };
  }[];
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
}

export const transactGetItems: Operation<TransactGetItemsInput> = {
  name: 'TransactGetItems',
  async execute({ input, ctx, env }) {
    const prepared = input.TransactItems.map(({ Get: get }) => {
      checkExpressionParams(get, { expressions: ['ProjectionExpression'], legacy: [] });
      const key = validateAttributeMap(get.Key);
      const attributes = ExpressionAttributes.of(get.ExpressionAttributeNames, undefined);
      const projection = requestedProjection(get, attributes);
      attributes.assertAllUsed();
      return { get, key, projection };
    });
    const reads: { table: OpenTable; stored: StoredKey; projection: Projection | undefined }[] = [];
    for (const { get, key, projection } of prepared) {
      const table = await openRecovered(env, ctx, ctx.principal.accountId, resolveTableName(get.TableName, ctx));
      const valid = validateKey(key, table.definition.KeySchema, table.definition.AttributeDefinitions);
      checkKeyPaths(projection, table.keys);
      reads.push({ table, stored: storedKey(valid, table.keys), projection });
    }
    // All reads happen in one synchronous pass: no write can land between them (a consistent snapshot).
    const rows = reads.map(({ table, stored }) => table.store.get(stored.hash, stored.pk, stored.sk));
    const responses = rows.map((row, i): { Item?: Item } =>
      row ? { Item: projectPaths(fromStored(row), reads[i]?.projection) } : {},
    );
    const mode = input.ReturnConsumedCapacity;
    const units = new Map<string, number>();
    rows.forEach((row, i) => {
      const name = reads[i]?.table.definition.TableName as string;
      units.set(name, (units.get(name) ?? 0) + 2 * readUnits(row?.size ?? 0, true));
    });
    return {
      Responses: responses,
      ...(mode === 'TOTAL' || mode === 'INDEXES'
        ? { ConsumedCapacity: [...units].map(([name, n]) => consumedCapacity(mode, name, n, 'read').ConsumedCapacity) }
        : {}),
    };
  },
};
