/**
 * What index writes cost, learnt while a write runs: the index deriver reports each item's index
 * changes here, so an operation can price its index writes without deriving them a second time.
 * Writes are synchronous, so the counter set around a synchronous call sees exactly its writes.
 *
 * Prices as captured against DynamoDB by dynoxide (src/actions/index_capacity.rs): an index pays
 * for the change to its entry, sized on the projected entry; a new or removed entry costs its own
 * units, an entry rewritten in place the larger of its two images, a moved key a delete plus a
 * put (each rounded on its own), and an unchanged entry nothing (the index then has no member).
 */
import { type CapacityUse, type IndexUnits, writeUnits } from '../capacity.js';
import type { IndexChange } from './entries.js';
import type { IndexSchema } from './schema.js';

/** Units per index (schemas are per table definition, so indexes of two tables never share one). */
type Counter = Map<IndexSchema, number>;

let current: Counter | undefined;

/**
 * Runs fn and returns, beside its result, the write units each index consumed in it (`indexes`,
 * for writes to one table) or a way to ask for those of one table's indexes (`of`).
 */
export function countingIndexWrites<T>(fn: () => T): {
  readonly result: T;
  readonly indexes: IndexUnits[];
  of(indexes: readonly IndexSchema[]): IndexUnits[];
} {
  const saved = current;
  const counter: Counter = new Map();
  current = counter;
  try {
    const result = fn();
    const of = (indexes: readonly IndexSchema[]) =>
      indexes.flatMap((index) => {
        const units = counter.get(index);
        return units === undefined ? [] : [{ name: index.name, local: index.local, units }];
      });
    return {
      result,
      indexes: [...counter].map(([index, units]) => ({ name: index.name, local: index.local, units })),
      of,
    };
  } finally {
    current = saved;
  }
}

/** Told by the index deriver about the entry changes of one item write. */
export function noteIndexChanges(changes: readonly IndexChange[]): void {
  const counter = current;
  if (!counter || changes.length === 0) return;
  for (const { index, before, after } of changes) {
    let units: number;
    if (before && after) {
      const moved = !(before.hash === after.hash && before.pk.equals(after.pk) && before.sk.equals(after.sk));
      units = moved
        ? writeUnits(before.size) + writeUnits(after.size)
        : Math.max(writeUnits(before.size), writeUnits(after.size));
    } else {
      units = writeUnits((before ?? after)?.size ?? 0);
    }
    counter.set(index, (counter.get(index) ?? 0) + units);
  }
}

/** A write's capacity: its table units and what its indexes consumed. */
export const writeUse = (table: number, indexes: readonly IndexUnits[]): CapacityUse =>
  indexes.length > 0 ? { table, indexes } : { table };
