/**
 * The actions of a TransactWriteItems request: each prepared without its table (the same
 * checks as PutItem, DeleteItem, UpdateItem), then bound to its table, then evaluated against
 * the current item into a write or a cancellation reason.
 */
import { AwsError } from '../http/aws-error.js';
import type { StoredWrite } from '../storage/table-file.js';
import type { Item } from './attribute-value.js';
import { PUT_EXPRESSION_PARAMS, type WriteConditionInput, writeCondition } from './condition.js';
import { ExpressionAttributes } from './expressions/attributes.js';
import { evaluateCondition, type ResolvedCondition } from './expressions/evaluate.js';
import { checkExpressionParams } from './expressions/params.js';
import { checkIndexKeys } from './indexes/entries.js';
import { checkCopiedIndexKeys } from './indexes/update-checks.js';
import { fromStored, type StoredKey, storedKey, toStored } from './item-codec.js';
import { validateAttributeMap, validateItem, validateItemSize, validateKey } from './item-validation.js';
import {
  checkUpdateAgainstTable,
  type PreparedUpdate,
  prepareUpdate,
  type UpdateItemInput,
  updatedItem,
} from './operations/update-item.js';
import type { OpenTable } from './tables.js';

interface Common extends WriteConditionInput {
  readonly TableName: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, unknown>;
  readonly ReturnValuesOnConditionCheckFailure?: string;
}

export interface TransactWriteItem {
  readonly ConditionCheck?: Common & { readonly Key: Record<string, unknown> };
  readonly Put?: Common & { readonly Item: Record<string, unknown> };
  readonly Delete?: Common & { readonly Key: Record<string, unknown> };
  readonly Update?: Common & Omit<UpdateItemInput, 'TableName'>;
}

type Kind = 'ConditionCheck' | 'Put' | 'Delete' | 'Update';

export interface PreparedAction {
  readonly kind: Kind;
  readonly tableName: string;
  readonly condition: ResolvedCondition | undefined;
  readonly returnOnFailure: string | undefined;
  /** Put: the item; others: the key (values validated, not yet against the table). */
  readonly item: Item;
  readonly update?: PreparedUpdate;
}

export interface BoundAction extends PreparedAction {
  readonly table: OpenTable;
  readonly key: StoredKey;
  /** Put: the item validated against the table's key schema. */
  readonly validItem: Item;
}

export type Outcome =
  | { readonly write?: StoredWrite; readonly size: number }
  | { readonly reason: { Code: string; Message: string; Item?: Item } };

const KINDS: readonly Kind[] = ['ConditionCheck', 'Put', 'Delete', 'Update'];

export function prepareAction(entry: TransactWriteItem): PreparedAction {
  const kinds = KINDS.filter((k) => entry[k] != null);
  const kind = kinds[0];
  if (kinds.length !== 1 || !kind) {
    throw new AwsError(
      'ValidationException',
      'TransactItems can only contain one of Check, Put, Update or Delete',
      400,
      'com.amazon.coral.validate',
    );
  }
  const body = entry[kind] as Common & { Key?: Record<string, unknown>; Item?: Record<string, unknown> };
  const common = { kind, tableName: body.TableName, returnOnFailure: body.ReturnValuesOnConditionCheckFailure };
  if (kind === 'Update') {
    const update = prepareUpdate(entry.Update as Omit<UpdateItemInput, 'TableName'>);
    return { ...common, condition: update.condition, item: update.key, update };
  }
  checkExpressionParams(body, PUT_EXPRESSION_PARAMS);
  const item = validateAttributeMap(kind === 'Put' ? body.Item : body.Key);
  if (kind === 'Put') validateItemSize(item);
  const attributes = ExpressionAttributes.of(body.ExpressionAttributeNames, body.ExpressionAttributeValues);
  const condition = writeCondition(body, attributes);
  attributes.assertAllUsed();
  return { ...common, condition, item };
}

/** The checks that need the table: key schema, key attributes not updated. */
export function bindAction(action: PreparedAction, table: OpenTable): BoundAction {
  const { KeySchema, AttributeDefinitions } = table.definition;
  let validItem: Item;
  if (action.kind === 'Put') {
    validItem = validateItem(action.item, KeySchema, AttributeDefinitions);
    // A put's index keys are part of the request's validation: refused before any condition is
    // evaluated (as PutItem does), not as a cancellation reason.
    checkIndexKeys(table.indexes.maintained, validItem);
  } else if (action.update) validItem = checkUpdateAgainstTable(action.update, table);
  else validItem = validateKey(action.item, KeySchema, AttributeDefinitions);
  return { ...action, table, validItem, key: storedKey(validItem, table.keys) };
}

/** Evaluates one action against the current state: its write, or why it cancels the transaction. */
export function evaluateAction(action: BoundAction): Outcome {
  const { store } = action.table;
  const existing = store.get(action.key.hash, action.key.pk, action.key.sk);
  const old = existing && fromStored(existing);
  if (action.condition && !evaluateCondition(action.condition, old)) {
    const reason = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
    return { reason: action.returnOnFailure === 'ALL_OLD' && old ? { ...reason, Item: old } : reason };
  }
  try {
    switch (action.kind) {
      case 'ConditionCheck':
        return { size: existing?.size ?? 0 };
      case 'Delete':
        return { write: { delete: action.key }, size: existing?.size ?? 0 };
      case 'Put': {
        const row = toStored(action.validItem, action.table.keys);
        return { write: { put: row }, size: Math.max(row.size, existing?.size ?? 0) };
      }
      case 'Update': {
        const update = action.update as PreparedUpdate;
        const item = updatedItem(update, action.validItem, old);
        if (!item) return { size: 0 };
        // Only the updated item shows these index keys: a bad one cancels with a ValidationError reason.
        checkCopiedIndexKeys(update.assigned, action.table.indexes.maintained, item);
        checkIndexKeys(action.table.indexes.maintained, item);
        const row = toStored(item, action.table.keys);
        return { write: { put: row }, size: Math.max(row.size, existing?.size ?? 0) };
      }
    }
  } catch (error) {
    // Errors only the item reveals (types, paths, sizes) cancel the transaction instead.
    if (error instanceof AwsError && error.code === 'ValidationException') {
      return { reason: { Code: 'ValidationError', Message: error.message } };
    }
    throw error;
  }
}
