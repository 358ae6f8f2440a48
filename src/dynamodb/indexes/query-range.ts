/**
 * A Query's key conditions matched to an index's key schema and turned into a range of one
 * partition of its keyspace. One-attribute keys behave as a table's. Multi-attribute GSI keys
 * (AWS, Nov 2025, "Multi-attribute key schema" in the GSI guide; the rules as recorded against
 * DynamoDB by moto's aws_verified tests test_dynamodb_multi_attribute_gsi and ScyllaDB's Alternator
 * test_gsi_composite_keys): every partition-key attribute with an equality; sort-key attributes
 * left to right without a gap, each an equality but the last, which may instead be a range
 * (<, <=, >, >=, BETWEEN, begins_with). A gap names the attribute skipped (moto's test asserts the
 * message names it: "Query condition missed key schema element: NAME", the table's message).
 */
import type { EntryRangeQuery } from '../../storage/table-file.js';
import type { AttributeValue, Item } from '../attribute-value.js';
import { invalidParameter, validationError } from '../errors.js';
import type { KeyCondition } from '../expressions/key-condition.js';
import { type Bounds, checkStartInRange, prefixBounds, prefixEnd, sortKeyBounds } from '../key-bounds.js';
import { encodeKeyValue, hashPartition } from '../key-codec.js';
import type { KeyAttribute } from '../table-schema.js';
import type { OpenTable } from '../tables.js';
import { encodeIndexKey, tupleComponent, tupleComponentPrefix } from './entry-key.js';
import { indexStartEntry } from './read.js';
import type { IndexSchema } from './schema.js';

const NOT_INDEXABLE = new Set(['NULL', 'NOT_NULL', 'NE', 'CONTAINS', 'NOT_CONTAINS', 'IN']);

const missed = (name: string) => validationError(`Query condition missed key schema element: ${name}`);
const notSupported = () => validationError('Query key condition not supported');

function checkCondition(condition: KeyCondition, attribute: KeyAttribute): void {
  if (NOT_INDEXABLE.has(condition.operator)) {
    throw validationError('Attempted conditional constraint is not an indexable operation');
  }
  if (condition.values.some((v) => v[attribute.type] === undefined)) {
    throw invalidParameter('Condition parameter type does not match schema type');
  }
}

export function planIndexRange(
  conditions: readonly KeyCondition[],
  startKey: Item | undefined,
  table: OpenTable,
  index: IndexSchema,
  forward: boolean,
): EntryRangeQuery {
  const start = startKey ? indexStartEntry(startKey, index, table) : undefined;
  const find = (attribute: KeyAttribute) => conditions.find((c) => c.attribute === attribute.name);
  let used = 0;
  const hashValues: AttributeValue[] = [];
  for (const attribute of index.hash) {
    const condition = find(attribute);
    if (!condition) throw missed(attribute.name);
    checkCondition(condition, attribute);
    if (condition.operator !== 'EQ') throw notSupported();
    hashValues.push(condition.values[0] as AttributeValue);
    used++;
  }
  const rangeConditions: KeyCondition[] = [];
  let gap: KeyAttribute | undefined;
  for (const attribute of index.range) {
    const condition = find(attribute);
    if (!condition) {
      gap = attribute;
      break;
    }
    checkCondition(condition, attribute);
    rangeConditions.push(condition);
    used++;
  }
  if (used < conditions.length) throw gap ? missed(gap.name) : notSupported();
  if (rangeConditions.slice(0, -1).some((c) => c.operator !== 'EQ')) throw notSupported();

  const pk = encodeIndexKey(index.hash, hashValues);
  const hash = hashPartition(pk);
  const bounds = rangeBounds(index.range, rangeConditions);
  const base = { space: index.space, hash, pk, forward, ...bounds };
  if (!start) return base;
  // The table's rules and messages for a start key outside what the conditions select.
  checkStartInRange(start.hash === hash && start.pk.equals(pk), rangeConditions.length > 0, start.sk, bounds);
  return { ...base, after: { sk: start.sk, tk: start.tk } };
}

/** The sort-key bytes the conditions select (attributes in key order, a prefix of them conditioned). */
function rangeBounds(range: readonly KeyAttribute[], conditions: readonly KeyCondition[]): Bounds {
  const last = conditions[conditions.length - 1];
  if (!last) return {};
  if (range.length === 1) return sortKeyBounds(last, (range[0] as KeyAttribute).type);
  // Equalities on the leading attributes are a prefix of whole components: a contiguous range.
  const prefix = Buffer.concat(
    conditions
      .slice(0, -1)
      .map((c, i) => tupleComponent(encodeKeyValue((range[i] as KeyAttribute).type, c.values[0] as AttributeValue))),
  );
  const type = (range[conditions.length - 1] as KeyAttribute).type;
  const component = (v: AttributeValue) => Buffer.concat([prefix, tupleComponent(encodeKeyValue(type, v))]);
  const [first, second] = last.values as [AttributeValue, AttributeValue | undefined];
  // Within the prefix: every key that starts with it, bounded where the condition bounds it.
  const inPrefix = prefix.length > 0 ? prefixBounds(prefix) : {};
  const below = (key: Buffer) => ({ key, inclusive: false });
  const from = (key: Buffer) => ({ key, inclusive: true });
  const after = (key: Buffer) => {
    const end = prefixEnd(key);
    return end ? from(end) : undefined;
  };
  const until = (key: Buffer) => {
    const end = prefixEnd(key);
    return end ? below(end) : inPrefix.upper;
  };
  const pick = (b: { lower?: Bounds['lower']; upper?: Bounds['upper'] }): Bounds => ({
    ...(b.lower ? { lower: b.lower } : {}),
    ...(b.upper ? { upper: b.upper } : {}),
  });
  switch (last.operator) {
    case 'EQ':
      return prefixBounds(component(first));
    case 'GT':
      return pick({ lower: after(component(first)), upper: inPrefix.upper });
    case 'GE':
      return pick({ lower: from(component(first)), upper: inPrefix.upper });
    case 'LT':
      return pick({ lower: inPrefix.lower, upper: below(component(first)) });
    case 'LE':
      return pick({ lower: inPrefix.lower, upper: until(component(first)) });
    case 'BETWEEN':
      return pick({ lower: from(component(first)), upper: until(component(second as AttributeValue)) });
    case 'BEGINS_WITH':
      return prefixBounds(Buffer.concat([prefix, tupleComponentPrefix(encodeKeyValue(type, first))]));
    default:
      throw new Error(`not a key operator: ${last.operator}`);
  }
}
