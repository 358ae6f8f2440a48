/**
 * The checks of written items that need no table: every value (both passes of item-validation.ts),
 * then the item size. The same functions run on the main thread for small bodies and in the JSON
 * worker for large ones (prepare.ts), so both give the same results and errors.
 */
import { channel } from 'node:diagnostics_channel';
import type { Item } from '../attribute-value.js';
import { validationError } from '../errors.js';
import { itemSize, MAX_ITEM_SIZE, validateAttributeMap } from '../item-validation.js';
import { CheckedItem } from './checked-item.js';

export const MAX_BATCH_WRITE_REQUESTS = 25;

/**
 * Told (on the thread that runs them) of each item or key these checks validate: which thread
 * checks a request's items is observable without timing it (tests; free without subscribers).
 */
export const ITEM_CHECKS_CHANNEL = 'sealdb:dynamodb:item-checks';
const checks = channel(ITEM_CHECKS_CHANNEL);

export interface ItemCheckEvent {
  readonly kind: 'item' | 'key';
}

export interface WriteRequest {
  PutRequest?: { Item: Record<string, unknown> };
  DeleteRequest?: { Key: Record<string, unknown> };
}

/** A checked request: the item to put or the key to delete (checked against the table later). */
export type Write = { readonly put: CheckedItem } | { readonly delete: Item };

/** PutItem's Item (and a PutRequest's): its values, then its size, as DynamoDB checks them before the table. */
export function checkPutValues(item: unknown): CheckedItem {
  if (checks.hasSubscribers) checks.publish({ kind: 'item' } satisfies ItemCheckEvent);
  const values = validateAttributeMap(item);
  const size = itemSize(values);
  if (size > MAX_ITEM_SIZE) throw validationError('Item size has exceeded the maximum allowed size');
  return CheckedItem.of(values, size);
}

/** What DynamoDB checks of a BatchWriteItem before it looks at any table: counts, request shapes, values, item sizes. */
export function checkWriteRequests(requestItems: Record<string, WriteRequest[]>): Array<[string, Write[]]> {
  const entries = Object.entries(requestItems);
  const total = entries.reduce((sum, [, writes]) => sum + writes.length, 0);
  if (total > MAX_BATCH_WRITE_REQUESTS) throw validationError('Too many items requested for the BatchWriteItem call');
  return entries.map(([requested, writes]) => {
    // A WriteRequest must hold exactly one of PutRequest and DeleteRequest; DynamoDB words
    // this as it does for AttributeValues.
    if (writes.some((w) => (w.PutRequest === undefined) === (w.DeleteRequest === undefined))) {
      throw validationError(
        'Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes',
      );
    }
    const checked = writes.map(
      (write): Write =>
        write.PutRequest
          ? { put: checkPutValues(write.PutRequest.Item) }
          : { delete: checkDeleteKey(write.DeleteRequest?.Key) },
    );
    return [requested, checked];
  });
}

function checkDeleteKey(key: unknown): Item {
  if (checks.hasSubscribers) checks.publish({ kind: 'key' } satisfies ItemCheckEvent);
  return validateAttributeMap(key);
}
