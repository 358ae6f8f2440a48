/**
 * The item checks of PutItem and BatchWriteItem, lent to the JSON worker that parses and
 * model-checks large bodies (src/validation/off-thread.ts; issue 12, item 11). Checking the
 * largest valid BatchWriteItem (25 items of 390 KB of tiny attributes) took the main thread
 * ~1.9 s; here the worker does it, and hands over each checked item as its stored body.
 *
 * Error order stays DynamoDB's. BatchWriteItem checks its requests before anything else, so an
 * error here is the answer, as the model check's is. PutItem first resolves its table name (which
 * needs the caller) and reads its condition, so an item's error travels with the item and is
 * thrown where the operation checks the item.
 */
import { AwsError } from '../../http/aws-error.js';
import type { InputPreparer, Prepared, PreparedItem } from '../../validation/off-thread.js';
import type { Item } from '../attribute-value.js';
import { CheckedItem } from './checked-item.js';
import { checkPutValues, checkWriteRequests, type Write, type WriteRequest } from './write-requests.js';

/** BatchWriteItem's `extra`: its tables in order, each write an index into the items. */
type PreparedWrites = ReadonlyArray<
  readonly [string, ReadonlyArray<{ readonly put: number } | { readonly delete: number }>]
>;

/** Runs in the worker, after the model check. */
export const prepareInput: InputPreparer = (operation, checked) => {
  if (operation === 'PutItem') {
    let item: PreparedItem;
    try {
      const values = checkPutValues(checked.Item);
      item = { body: values.body, size: values.size };
    } catch (error) {
      if (!(error instanceof AwsError)) throw error;
      item = { error };
    }
    return { input: { ...checked, Item: {} }, prepared: { extra: null, items: [item] } };
  }
  if (operation === 'BatchWriteItem') {
    const items: PreparedItem[] = [];
    const add = (item: CheckedItem): number => items.push({ body: item.body, size: item.size }) - 1;
    const extra: PreparedWrites = checkWriteRequests(checked.RequestItems as Record<string, WriteRequest[]>).map(
      ([table, writes]) => [
        table,
        writes.map((write) =>
          'put' in write ? { put: add(write.put) } : { delete: add(CheckedItem.of(write.delete, 0)) },
        ),
      ],
    );
    return { input: { ...checked, RequestItems: {} }, prepared: { extra, items } };
  }
  return undefined;
};

function checkedItem(prepared: Prepared, index: number): CheckedItem {
  const item = prepared.items[index] as PreparedItem;
  if (!item.body) throw item.error;
  return CheckedItem.ofBody(item.body, item.size);
}

/** PutItem's Item as the worker checked it; throws its error where the operation checks the item. */
export const preparedPutItem = (prepared: Prepared): CheckedItem => checkedItem(prepared, 0);

/** BatchWriteItem's requests as the worker checked them (checkWriteRequests' result). */
export function preparedWrites(prepared: Prepared): Array<[string, Write[]]> {
  return (prepared.extra as PreparedWrites).map(([table, writes]) => [
    table,
    writes.map((write): Write => {
      if ('put' in write) return { put: checkedItem(prepared, write.put) };
      // A key is a few attributes: built whole (JSON.parse defines a `__proto__` name as an own entry).
      return { delete: JSON.parse(checkedItem(prepared, write.delete).body.toString('utf8')) as Item };
    }),
  ]);
}
