/** The key attributes of an index entry as DynamoDB shows them (LastEvaluatedKey): index keys and table keys. */
import type { AttributeValue, Item } from '../attribute-value.js';
import type { KeyAttributes } from '../table-schema.js';
import type { IndexSchema } from './schema.js';

export function indexKeyOf(index: IndexSchema, item: Item, tableKeys: KeyAttributes): Item {
  const key: Item = {};
  for (const a of [...index.hash, ...index.range]) key[a.name] = item[a.name] as AttributeValue;
  key[tableKeys.hash.name] = item[tableKeys.hash.name] as AttributeValue;
  if (tableKeys.range) key[tableKeys.range.name] = item[tableKeys.range.name] as AttributeValue;
  return key;
}
