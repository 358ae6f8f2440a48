import type { AttributeValue, Item } from '../attribute-value.js';
import { consumedCapacity, type ReturnConsumedCapacity, writeUnits } from '../capacity.js';
import { conditionFailed, type WriteConditionInput, writeCondition } from '../condition.js';
import type { DocumentPath } from '../document.js';
import { invalidParameter, validationError } from '../errors.js';
import { ExpressionAttributes } from '../expressions/attributes.js';
import { evaluateCondition, type ResolvedCondition } from '../expressions/evaluate.js';
import { checkExpressionParams } from '../expressions/params.js';
import { parseUpdateExpression, type ResolvedUpdateAction, type ResolvedUpdateValue } from '../expressions/update.js';
import { checkCollection, ITEM_COLLECTION_LIMIT_BYTES, singleCollectionMetrics } from '../indexes/item-collections.js';
import { checkCopiedIndexKeys, checkUpdateIndexKeys } from '../indexes/update-checks.js';
import { countingIndexWrites, writeUse } from '../indexes/write-capacity.js';
import { fromStored, storedKey, toStored } from '../item-codec.js';
import { itemSize, MAX_ITEM_SIZE, validateAttributeMap, validateItemNesting, validateKey } from '../item-validation.js';
import {
  type AttributeUpdate,
  applyAttributeUpdates,
  attributeUpdates,
  checkConditionalOperator,
  type LegacyAttributeUpdate,
} from '../legacy.js';
import type { Operation } from '../operation.js';
import { type ReturnValues, returnedAttributes } from '../return-values.js';
import { resolveTableName } from '../table-name.js';
import type { OpenTable } from '../tables.js';
import { openRecovered } from '../transact.js';
import { applyUpdate, onlyRemoves } from '../update.js';

export interface UpdateItemInput extends WriteConditionInput {
  TableName: string;
  Key: Record<string, unknown>;
  AttributeUpdates?: Record<string, LegacyAttributeUpdate>;
  UpdateExpression?: string;
  ReturnValues?: ReturnValues;
  ReturnConsumedCapacity?: ReturnConsumedCapacity;
  ReturnItemCollectionMetrics?: string;
  ReturnValuesOnConditionCheckFailure?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/** An update checked as far as it can be without the table: what to do, on what condition. */
export interface PreparedUpdate {
  readonly key: Item;
  readonly condition: ResolvedCondition | undefined;
  /** The top-level attributes and document paths the update writes (UPDATED_OLD/NEW). */
  readonly paths: readonly DocumentPath[];
  /**
   * Every action only removes (REMOVE, DELETE, AttributeUpdates DELETE): DynamoDB then creates
   * no item for a missing key and reports no problem with the paths (recorded by ScyllaDB's
   * Alternator tests against DynamoDB: test_update_item_non_existent,
   * test_nested_attribute_remove_from_missing_item), though an update with no actions at all
   * creates the item.
   */
  readonly removesOnly: boolean;
  /**
   * The top-level attributes the update writes a value to, with the value's type when the request
   * alone tells it (undefined when it comes from the item: a path or if_not_exists).
   */
  readonly assigned: readonly AssignedAttribute[];
  apply(old: Item | undefined): Item;
}

export interface AssignedAttribute {
  readonly name: string;
  readonly type: string | undefined;
}

/** Everything UpdateItem checks before it looks at the table, in DynamoDB's order. */
export function prepareUpdate(input: Omit<UpdateItemInput, 'TableName'>): PreparedUpdate {
  checkExpressionParams(input, {
    expressions: ['UpdateExpression', 'ConditionExpression'],
    legacy: ['AttributeUpdates', 'Expected', 'ConditionalOperator'],
  });
  checkConditionalOperator(input.ConditionalOperator, input.Expected);
  const key = validateAttributeMap(input.Key);
  const legacy = input.AttributeUpdates ? attributeUpdates(input.AttributeUpdates) : undefined;
  const attributes = ExpressionAttributes.of(input.ExpressionAttributeNames, input.ExpressionAttributeValues);
  const actions =
    input.UpdateExpression !== undefined ? parseUpdateExpression(input.UpdateExpression, attributes) : undefined;
  const condition = writeCondition(input, attributes);
  attributes.assertAllUsed();
  if (actions) {
    return {
      key,
      condition,
      paths: actions.map((a) => a.path),
      removesOnly: onlyRemoves(actions),
      assigned: assignedByExpression(actions),
      apply: (old) => applyUpdate(old, actions),
    };
  }
  const updates: readonly AttributeUpdate[] = legacy ?? [];
  return {
    key,
    condition,
    paths: updates.map((u) => [u.name]),
    removesOnly: updates.length > 0 && updates.every((u) => u.action === 'DELETE'),
    assigned: updates.flatMap((u) => (u.value ? [{ name: u.name, type: typeOfValue(u.value) }] : [])),
    apply: (old) => applyAttributeUpdates(old, updates),
  };
}

/** The top-level targets of SET, ADD and DELETE, with the type of what they write when it is known. */
function assignedByExpression(actions: readonly ResolvedUpdateAction[]): AssignedAttribute[] {
  const out: AssignedAttribute[] = [];
  for (const action of actions) {
    const [name] = action.path;
    if (action.path.length !== 1 || typeof name !== 'string' || action.action === 'REMOVE') continue;
    out.push({ name, type: action.action === 'SET' ? staticType(action.value) : typeOfValue(action.value) });
  }
  return out;
}

/** What a SET value's type is before the item is read: literals, arithmetic and list_append. */
function staticType(value: ResolvedUpdateValue): string | undefined {
  switch (value.kind) {
    case 'value':
      return typeOfValue(value.value);
    case '+':
    case '-':
      return 'N';
    case 'list_append':
      return 'L';
    default:
      return undefined;
  }
}

const typeOfValue = (value: AttributeValue): string => Object.keys(value)[0] ?? '';

/** The checks that need the table: the key, and no update of key attributes. */
export function checkUpdateAgainstTable(update: PreparedUpdate, table: OpenTable): Item {
  const key = validateKey(update.key, table.definition.KeySchema, table.definition.AttributeDefinitions);
  for (const path of update.paths) {
    const [name] = path;
    if (typeof name === 'string' && Object.hasOwn(key, name)) {
      throw invalidParameter(`Cannot update attribute ${name}. This attribute is part of the key`);
    }
  }
  checkUpdateIndexKeys(update.assigned, update.paths, table.indexes.maintained);
  return key;
}

/**
 * The new item: the update applied to the old one (or to just the key), within the size limit;
 * undefined when there is nothing to write (only removals from a missing item).
 */
export function updatedItem(update: PreparedUpdate, key: Item, old: Item | undefined): Item | undefined {
  if (!old && update.removesOnly) return undefined;
  const item = { ...update.apply(old ?? key), ...key } as Record<string, AttributeValue>;
  if (itemSize(item) > MAX_ITEM_SIZE)
    throw validationError('Item size to update has exceeded the maximum allowed size');
  // Values within the limit can still make the item too deep once they are placed in it.
  validateItemNesting(item);
  return item;
}

export const updateItem: Operation<UpdateItemInput> = {
  name: 'UpdateItem',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const update = prepareUpdate(input);
    const table = await openRecovered(env, ctx, ctx.principal.accountId, name);
    const key = checkUpdateAgainstTable(update, table);
    const stored = storedKey(key, table.keys);
    const limit = env.itemCollectionLimitBytes ?? ITEM_COLLECTION_LIMIT_BYTES;
    const { result, indexes } = countingIndexWrites(() =>
      table.store.transaction(() => {
        const existing = table.store.get(stored.hash, stored.pk, stored.sk);
        const before = existing && fromStored(existing);
        if (update.condition && !evaluateCondition(update.condition, before)) {
          throw conditionFailed(before, input.ReturnValuesOnConditionCheckFailure);
        }
        const after = updatedItem(update, key, before);
        if (!after) return { old: before, item: after, units: writeUnits(0) };
        checkCopiedIndexKeys(update.assigned, table.indexes.maintained, after);
        const row = toStored(after, table.keys);
        table.store.put(row);
        checkCollection(table, row, limit);
        return { old: before, item: after, units: writeUnits(Math.max(row.size, existing?.size ?? 0)) };
      }),
    );
    const { old, item, units } = result;
    return {
      ...returnedAttributes(input.ReturnValues, old, item, update.paths),
      ...consumedCapacity(input.ReturnConsumedCapacity, name, writeUse(units, indexes), 'write'),
      ...singleCollectionMetrics(input.ReturnItemCollectionMetrics, table, key, stored, item !== undefined),
    };
  },
};
