/** The TableDescription shape DynamoDB returns from CreateTable, DescribeTable, UpdateTable and DeleteTable. */
import { streamDescription } from '../streams/specification.js';
import { indexDescriptions } from './indexes/description.js';
import { tableStatus } from './indexes/index-updates.js';
import { sseDescription } from './sse.js';
import type { TableDefinition } from './table-definition.js';

export interface TableStats {
  readonly itemCount: number;
  readonly sizeBytes: number;
  /** By index name. */
  readonly indexes?: Readonly<Record<string, { readonly itemCount: number; readonly sizeBytes: number }>>;
}

export function tableDescription(
  definition: TableDefinition,
  stats: TableStats = { itemCount: 0, sizeBytes: 0 },
  options: { sseUpdating?: boolean } = {},
) {
  const sse = sseDescription(definition, options.sseUpdating);
  const onDemand = definition.BillingMode === 'PAY_PER_REQUEST';
  const throughput = definition.ProvisionedThroughput;
  return {
    AttributeDefinitions: definition.AttributeDefinitions,
    TableName: definition.TableName,
    KeySchema: definition.KeySchema,
    TableStatus: tableStatus(definition),
    CreationDateTime: definition.CreationDateTime,
    ProvisionedThroughput: {
      ...(throughput.LastIncreaseDateTime !== undefined
        ? { LastIncreaseDateTime: throughput.LastIncreaseDateTime }
        : {}),
      ...(throughput.LastDecreaseDateTime !== undefined
        ? { LastDecreaseDateTime: throughput.LastDecreaseDateTime }
        : {}),
      NumberOfDecreasesToday: throughput.NumberOfDecreasesToday,
      ReadCapacityUnits: onDemand ? 0 : throughput.ReadCapacityUnits,
      WriteCapacityUnits: onDemand ? 0 : throughput.WriteCapacityUnits,
    },
    TableSizeBytes: stats.sizeBytes,
    ItemCount: stats.itemCount,
    TableArn: definition.TableArn,
    TableId: definition.TableId,
    ...indexDescriptions(definition, stats),
    ...streamDescription(definition),
    ...(onDemand || definition.BillingModeLastUpdateDateTime !== undefined
      ? {
          BillingModeSummary: {
            BillingMode: definition.BillingMode,
            ...(definition.BillingModeLastUpdateDateTime !== undefined
              ? { LastUpdateToPayPerRequestDateTime: definition.BillingModeLastUpdateDateTime }
              : {}),
          },
        }
      : {}),
    ...(definition.TableClass !== 'STANDARD' ? { TableClassSummary: { TableClass: definition.TableClass } } : {}),
    ...(definition.RestoreSummary ? { RestoreSummary: definition.RestoreSummary } : {}),
    ...(sse ? { SSEDescription: sse } : {}),
    ...(definition.ArchivedAt !== undefined
      ? {
          ArchivalSummary: {
            ArchivalDateTime: definition.ArchivedAt / 1000,
            ArchivalReason: 'INACCESSIBLE_ENCRYPTION_CREDENTIALS',
            ...(definition.ArchivalBackupArn ? { ArchivalBackupArn: definition.ArchivalBackupArn } : {}),
          },
        }
      : {}),
    DeletionProtectionEnabled: definition.DeletionProtectionEnabled,
  };
}
