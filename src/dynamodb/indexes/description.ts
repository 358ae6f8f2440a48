/**
 * The LocalSecondaryIndexes and GlobalSecondaryIndexes members of a TableDescription, with the
 * members DynamoDB returns for each (ack-api-quirks DDB-TABLE-138, DDB-TABLE-133, DDB-TABLE-134,
 * DDB-TABLE-357; dynalite test/createTable.js "should succeed for ... SecondaryIndexes").
 */
import type { TableDefinition } from '../table-definition.js';
import type { TableStats } from '../table-description.js';
import { type IndexProjection, indexArn, type SecondaryIndexDefinition } from './definition.js';
import { ON_DEMAND_WARM_THROUGHPUT } from './new-table.js';

export function indexDescriptions(definition: TableDefinition, stats: TableStats) {
  const counts = (index: SecondaryIndexDefinition) => {
    const s = stats.indexes?.[index.IndexName] ?? { itemCount: 0, sizeBytes: 0 };
    return { IndexSizeBytes: s.sizeBytes, ItemCount: s.itemCount };
  };
  const onDemand = definition.BillingMode === 'PAY_PER_REQUEST';
  // An LSI has no status, throughput or warm block of its own (DDB-TABLE-133, DDB-TABLE-357).
  const local = definition.LocalSecondaryIndexes?.map((index) => ({
    IndexName: index.IndexName,
    KeySchema: index.KeySchema,
    Projection: projectionDescription(index.Projection),
    ...counts(index),
    IndexArn: indexArn(definition.TableArn, index.IndexName),
  }));
  const global = definition.GlobalSecondaryIndexes?.map((index) => {
    const throughput = index.ProvisionedThroughput;
    const read = onDemand ? 0 : (throughput?.ReadCapacityUnits ?? 0);
    const write = onDemand ? 0 : (throughput?.WriteCapacityUnits ?? 0);
    // Shown whether set or not: on demand 12000/4000, provisioned the index's capacity (DDB-TABLE-134).
    const warmDefault = onDemand ? ON_DEMAND_WARM_THROUGHPUT : { ReadUnitsPerSecond: read, WriteUnitsPerSecond: write };
    return {
      IndexName: index.IndexName,
      KeySchema: index.KeySchema,
      Projection: projectionDescription(index.Projection),
      IndexStatus: index.IndexStatus,
      // Only for a GSI that UpdateTable is creating (DDB-TABLE-138: absent for CreateTable's own).
      ...(index.Backfilling !== undefined ? { Backfilling: index.Backfilling } : {}),
      ProvisionedThroughput: {
        ...(throughput?.LastIncreaseDateTime !== undefined
          ? { LastIncreaseDateTime: throughput.LastIncreaseDateTime }
          : {}),
        ...(throughput?.LastDecreaseDateTime !== undefined
          ? { LastDecreaseDateTime: throughput.LastDecreaseDateTime }
          : {}),
        NumberOfDecreasesToday: throughput?.NumberOfDecreasesToday ?? 0,
        ReadCapacityUnits: read,
        WriteCapacityUnits: write,
      },
      ...counts(index),
      IndexArn: indexArn(definition.TableArn, index.IndexName),
      // Only when set (DDB-TABLE-138), and only as set (DDB-TABLE-039: a read-only cap stays read-only).
      ...(index.OnDemandThroughput ? { OnDemandThroughput: index.OnDemandThroughput } : {}),
      WarmThroughput: {
        ReadUnitsPerSecond: index.WarmThroughput?.ReadUnitsPerSecond ?? warmDefault.ReadUnitsPerSecond,
        WriteUnitsPerSecond: index.WarmThroughput?.WriteUnitsPerSecond ?? warmDefault.WriteUnitsPerSecond,
        // UPDATING while the index is being built (DDB-TABLE-134), ACTIVE otherwise.
        Status: index.IndexStatus === 'CREATING' ? 'UPDATING' : 'ACTIVE',
      },
    };
  });
  return {
    ...(local && local.length > 0 ? { LocalSecondaryIndexes: local } : {}),
    ...(global && global.length > 0 ? { GlobalSecondaryIndexes: global } : {}),
  };
}

/** DynamoDB returns NonKeyAttributes sorted by name (ack-api-quirks DDB-TABLE-125). */
function projectionDescription(projection: IndexProjection): IndexProjection {
  return projection.NonKeyAttributes
    ? { ...projection, NonKeyAttributes: [...projection.NonKeyAttributes].sort(byCodeUnits) }
    : projection;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * CreateTable's own answer: the table and each of its GSIs CREATING, and no WarmThroughput on the
 * GSIs yet (ack-api-quirks DDB-TABLE-148, DDB-TABLE-138; dynalite "should succeed for multiple
 * GlobalSecondaryIndexes"). sealdb's table is usable at once, so DescribeTable says ACTIVE.
 */
export function creatingDescription<T extends { TableStatus: string; GlobalSecondaryIndexes?: object[] }>(
  description: T,
): T {
  const global = description.GlobalSecondaryIndexes?.map((index) => {
    const { WarmThroughput: _warm, ...rest } = index as { WarmThroughput?: unknown };
    return { ...rest, IndexStatus: 'CREATING' };
  });
  return { ...description, TableStatus: 'CREATING', ...(global ? { GlobalSecondaryIndexes: global } : {}) };
}
