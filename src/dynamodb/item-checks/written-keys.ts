import type { OpenTable } from '../tables.js';

/**
 * The attributes a write checks against the table before it stores an item: the table's key
 * and the keys of the indexes it maintains. Of an item checked in the JSON worker only these
 * are built (CheckedItem.pick).
 */
export function writtenKeyNames(table: OpenTable): string[] {
  const names = table.definition.KeySchema.map((k) => k.AttributeName);
  for (const index of table.indexes.maintained) {
    for (const attribute of [...index.hash, ...index.range]) names.push(attribute.name);
  }
  return names;
}
