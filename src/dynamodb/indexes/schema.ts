/**
 * The runtime view of a table's secondary indexes: each index's key attributes with their types,
 * its projection and its keyspace, and whether writes maintain it and reads may use it.
 */
import type { TableDefinition } from '../table-definition.js';
import type { KeyAttribute, KeyAttributes } from '../table-schema.js';
import type { IndexProjection, IndexStatus, SecondaryIndexDefinition } from './definition.js';

export interface IndexSchema {
  readonly name: string;
  readonly local: boolean;
  readonly space: number;
  /** Partition-key attributes (one, or up to 4 for a multi-attribute GSI key), in key order. */
  readonly hash: readonly KeyAttribute[];
  /** Sort-key attributes (none, one, or up to 4), in key order. */
  readonly range: readonly KeyAttribute[];
  readonly projection: IndexProjection;
  /** Every attribute an entry holds besides the projected non-key ones: index keys and table keys. */
  readonly keyNames: ReadonlySet<string>;
  readonly status: IndexStatus;
  /** Entries still being written for the items the table held when the index was created. */
  readonly backfilling: boolean;
}

/** Every index writes must keep up to date: all but those being deleted. */
export interface TableIndexSchemas {
  readonly all: readonly IndexSchema[];
  readonly maintained: readonly IndexSchema[];
  byName(name: string): IndexSchema | undefined;
}

const NONE: TableIndexSchemas = { all: [], maintained: [], byName: () => undefined };
const cache = new WeakMap<TableDefinition, TableIndexSchemas>();

/** The indexes of a table (computed once per definition object). */
export function indexSchemas(definition: TableDefinition, tableKeys: KeyAttributes): TableIndexSchemas {
  const local = definition.LocalSecondaryIndexes ?? [];
  const global = definition.GlobalSecondaryIndexes ?? [];
  if (local.length === 0 && global.length === 0) return NONE;
  let schemas = cache.get(definition);
  if (!schemas) {
    const all = [
      ...local.map((index) => schemaOf(index, true, definition, tableKeys)),
      ...global.map((index) => schemaOf(index, false, definition, tableKeys)),
    ];
    const byName = new Map(all.map((s) => [s.name, s]));
    schemas = {
      all,
      maintained: all.filter((s) => s.status !== 'DELETING'),
      byName: (name) => byName.get(name),
    };
    cache.set(definition, schemas);
  }
  return schemas;
}

function schemaOf(
  index: SecondaryIndexDefinition,
  local: boolean,
  definition: TableDefinition,
  tableKeys: KeyAttributes,
): IndexSchema {
  const attribute = (name: string): KeyAttribute => {
    const defined = definition.AttributeDefinitions.find((d) => d.AttributeName === name);
    if (!defined) throw new Error(`index key attribute ${name} has no attribute definition`);
    return { name, type: defined.AttributeType };
  };
  const hash = index.KeySchema.filter((e) => e.KeyType === 'HASH').map((e) => attribute(e.AttributeName));
  const range = index.KeySchema.filter((e) => e.KeyType === 'RANGE').map((e) => attribute(e.AttributeName));
  const keyNames = new Set([...hash, ...range].map((a) => a.name));
  keyNames.add(tableKeys.hash.name);
  if (tableKeys.range) keyNames.add(tableKeys.range.name);
  return {
    name: index.IndexName,
    local,
    space: index.Space,
    hash,
    range,
    projection: index.Projection,
    keyNames,
    status: index.IndexStatus,
    backfilling: index.Backfilling === true,
  };
}
