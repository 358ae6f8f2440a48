/**
 * DynamoDB-shaped consumed capacity: writes per started 1 KB, reads per started 4 KB (half when
 * eventually consistent); with INDEXES, the table's and each index's share.
 */

export type ReturnConsumedCapacity = 'INDEXES' | 'TOTAL' | 'NONE';

export const writeUnits = (sizeBytes: number): number => Math.max(1, Math.ceil(sizeBytes / 1024));

export const readUnits = (sizeBytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(sizeBytes / 4096)) * (consistent ? 1 : 0.5);

/** The units one index consumed. */
export interface IndexUnits {
  readonly name: string;
  readonly local: boolean;
  readonly units: number;
}

/** What a request consumed: the table's units and those of the indexes it read or wrote. */
export interface CapacityUse {
  readonly table: number;
  readonly indexes?: readonly IndexUnits[];
}

export function consumedCapacity(
  mode: ReturnConsumedCapacity | undefined,
  tableName: string,
  units: number | CapacityUse,
  kind: 'read' | 'write',
) {
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return {};
  const use = typeof units === 'number' ? { table: units } : units;
  const member = (n: number) =>
    kind === 'read' ? { CapacityUnits: n, ReadCapacityUnits: n } : { CapacityUnits: n, WriteCapacityUnits: n };
  const indexes = use.indexes ?? [];
  const total = indexes.reduce((sum, i) => sum + i.units, use.table);
  if (mode === 'TOTAL') return { ConsumedCapacity: { TableName: tableName, ...member(total) } };
  const byKind = (local: boolean) => {
    const chosen = indexes.filter((i) => i.local === local);
    return chosen.length > 0 ? Object.fromEntries(chosen.map((i) => [i.name, member(i.units)])) : undefined;
  };
  const local = byKind(true);
  const global = byKind(false);
  return {
    ConsumedCapacity: {
      TableName: tableName,
      ...member(total),
      Table: member(use.table),
      ...(local ? { LocalSecondaryIndexes: local } : {}),
      ...(global ? { GlobalSecondaryIndexes: global } : {}),
    },
  };
}

/** The sum of several uses of one table (a batch or a transaction), index by index. */
export function addUses(uses: readonly CapacityUse[], factor = 1): CapacityUse {
  let table = 0;
  const indexes = new Map<string, { local: boolean; units: number }>();
  for (const use of uses) {
    table += use.table;
    for (const i of use.indexes ?? []) {
      const seen = indexes.get(i.name);
      if (seen) seen.units += i.units;
      else indexes.set(i.name, { local: i.local, units: i.units });
    }
  }
  return {
    table: table * factor,
    indexes: [...indexes].map(([name, i]) => ({ name, local: i.local, units: i.units * factor })),
  };
}
