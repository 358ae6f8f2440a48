/** The legacy AttributesToGet projection (top-level attribute names). */
import type { Item } from './attribute-value.js';
import { invalidParameter } from './errors.js';

export function validateAttributesToGet(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw invalidParameter(`Duplicate value in attribute name: ${name}`);
    seen.add(name);
  }
}

export function projectAttributes(item: Item, names: readonly string[] | undefined): Item {
  if (!names) return item;
  return Object.fromEntries(names.filter((n) => Object.hasOwn(item, n)).map((n) => [n, item[n]])) as Item;
}
