/** The LocalSecondaryIndexes and GlobalSecondaryIndexes members of a TableDescription. */
import type { TableDefinition } from '../table-definition.js';
import type { TableStats } from '../table-description.js';
import { indexArn, type SecondaryIndexDefinition } from './definition.js';

export function indexDescriptions(definition: TableDefinition, stats: TableStats) {
  const counts = (index: SecondaryIndexDefinition) => {
    const s = stats.indexes?.[index.IndexName] ?? { itemCount: 0, sizeBytes: 0 };
    return { IndexSizeBytes: s.sizeBytes, ItemCount: s.itemCount };
  };
  const onDemand = definition.BillingMode === 'PAY_PER_REQUEST';
  const local = definition.LocalSecondaryIndexes?.map((index) => ({
    IndexName: index.IndexName,
    KeySchema: index.KeySchema,
    Projection: index.Projection,
    ...counts(index),
    IndexArn: indexArn(definition.TableArn, index.IndexName),
  }));
  const global = definition.GlobalSecondaryIndexes?.map((index) => {
    const throughput = index.ProvisionedThroughput;
    return {
      IndexName: index.IndexName,
      KeySchema: index.KeySchema,
      Projection: index.Projection,
      IndexStatus: index.IndexStatus,
      ...(index.Backfilling !== undefined ? { Backfilling: index.Backfilling } : {}),
      ProvisionedThroughput: {
        NumberOfDecreasesToday: throughput?.NumberOfDecreasesToday ?? 0,
        ReadCapacityUnits: onDemand ? 0 : (throughput?.ReadCapacityUnits ?? 0),
        WriteCapacityUnits: onDemand ? 0 : (throughput?.WriteCapacityUnits ?? 0),
      },
      ...counts(index),
      IndexArn: indexArn(definition.TableArn, index.IndexName),
      ...(index.OnDemandThroughput ? { OnDemandThroughput: index.OnDemandThroughput } : {}),
    };
  });
  return {
    ...(local && local.length > 0 ? { LocalSecondaryIndexes: local } : {}),
    ...(global && global.length > 0 ? { GlobalSecondaryIndexes: global } : {}),
  };
}
