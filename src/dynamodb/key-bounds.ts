/**
 * Sort-key conditions as bounds on order-preserving key bytes: what a Query reads of a
 * partition, for the table's sort key and for an index's one-attribute sort key alike.
 */
import { Buffer } from 'node:buffer';
import type { KeyBound } from '../storage/table-file.js';
import type { ScalarKeyType } from './attribute-value.js';
import { validationError } from './errors.js';
import type { KeyCondition } from './expressions/key-condition.js';
import { encodeKeyValue } from './key-codec.js';

export interface Bounds {
  lower?: KeyBound;
  upper?: KeyBound;
}

/** The sort-key range a condition selects, as bounds on the order-preserving key bytes. */
export function sortKeyBounds(condition: KeyCondition, type: ScalarKeyType): Bounds {
  const [first, second] = condition.values.map((v) => encodeKeyValue(type, v)) as [Buffer, Buffer | undefined];
  switch (condition.operator) {
    case 'EQ':
      return { lower: { key: first, inclusive: true }, upper: { key: first, inclusive: true } };
    case 'LT':
      return { upper: { key: first, inclusive: false } };
    case 'LE':
      return { upper: { key: first, inclusive: true } };
    case 'GT':
      return { lower: { key: first, inclusive: false } };
    case 'GE':
      return { lower: { key: first, inclusive: true } };
    case 'BETWEEN':
      return { lower: { key: first, inclusive: true }, upper: { key: second as Buffer, inclusive: true } };
    case 'BEGINS_WITH':
      // S and B keys are stored as their raw bytes, so a prefix is a byte range.
      return prefixBounds(first);
    default:
      throw new Error(`not a key operator: ${condition.operator}`);
  }
}

/** Every key that starts with `prefix`. */
export function prefixBounds(prefix: Buffer): Bounds {
  const end = prefixEnd(prefix);
  return end
    ? { lower: { key: prefix, inclusive: true }, upper: { key: end, inclusive: false } }
    : { lower: { key: prefix, inclusive: true } };
}

/** The smallest byte string greater than every string that starts with `prefix` (none if all 0xff). */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  let length = prefix.length;
  while (length > 0 && prefix[length - 1] === 0xff) length--;
  if (length === 0) return undefined;
  const end = Buffer.from(prefix.subarray(0, length));
  end[length - 1] = (end[length - 1] as number) + 1;
  return end;
}

export function within(key: Buffer, { lower, upper }: Bounds): boolean {
  if (lower) {
    const c = Buffer.compare(key, lower.key);
    if (c < 0 || (c === 0 && !lower.inclusive)) return false;
  }
  if (upper) {
    const c = Buffer.compare(key, upper.key);
    if (c > 0 || (c === 0 && !upper.inclusive)) return false;
  }
  return true;
}

/**
 * DynamoDB's checks of a Query's ExclusiveStartKey against its key conditions (table or index
 * alike): in the queried partition, and within the sort-key range when one is conditioned.
 */
export function checkStartInRange(
  samePartition: boolean,
  rangeConditioned: boolean,
  startSk: Buffer,
  bounds: Bounds,
): void {
  if (!rangeConditioned) {
    if (!samePartition)
      throw validationError('The provided starting key is outside query boundaries based on provided conditions');
    return;
  }
  if (!within(startSk, bounds))
    throw validationError('The provided starting key does not match the range key predicate');
  if (!samePartition) throw validationError('The query can return at most one row and cannot be restarted');
}
