/** The backup shapes of DynamoDB's answers: BackupDetails, BackupDescription, BackupSummary. */
import type { SecondaryIndexDefinition } from '../indexes/definition.js';
import { sseDescription } from '../sse.js';
import { timeToLiveDescription } from '../ttl/state.js';
import type { BackupRecord } from './record.js';

/** DeleteBackup answers with the backup's description, status DELETED. */
export function backupDetails(record: BackupRecord, status: string = record.BackupStatus) {
  return {
    BackupArn: record.BackupArn,
    BackupName: record.BackupName,
    BackupSizeBytes: record.stats.sizeBytes,
    BackupStatus: status,
    BackupType: record.BackupType,
    BackupCreationDateTime: record.createdAt / 1000,
    ...(record.expiresAt !== undefined ? { BackupExpiryDateTime: record.expiresAt / 1000 } : {}),
  };
}

export function backupDescription(record: BackupRecord, status?: string) {
  const source = record.source;
  const onDemand = source.BillingMode === 'PAY_PER_REQUEST';
  const live = (indexes: SecondaryIndexDefinition[] | undefined) =>
    (indexes ?? []).filter((index) => index.IndexStatus !== 'DELETING');
  const local = live(source.LocalSecondaryIndexes).map((index) => ({
    IndexName: index.IndexName,
    KeySchema: index.KeySchema,
    Projection: index.Projection,
  }));
  const global = live(source.GlobalSecondaryIndexes).map((index) => ({
    IndexName: index.IndexName,
    KeySchema: index.KeySchema,
    Projection: index.Projection,
    ...(index.ProvisionedThroughput && !onDemand
      ? {
          ProvisionedThroughput: {
            ReadCapacityUnits: index.ProvisionedThroughput.ReadCapacityUnits,
            WriteCapacityUnits: index.ProvisionedThroughput.WriteCapacityUnits,
          },
        }
      : {}),
    ...(index.OnDemandThroughput ? { OnDemandThroughput: index.OnDemandThroughput } : {}),
  }));
  const sse = sseDescription(source);
  // Stream settings are kept by their own feature in the definition (when present).
  const extra = source as unknown as { StreamSpecification?: unknown };
  return {
    BackupDetails: backupDetails(record, status),
    SourceTableDetails: {
      TableName: source.TableName,
      TableId: source.TableId,
      TableArn: source.TableArn,
      TableSizeBytes: record.stats.sizeBytes,
      KeySchema: source.KeySchema,
      TableCreationDateTime: source.CreationDateTime,
      ProvisionedThroughput: {
        ReadCapacityUnits: onDemand ? 0 : source.ProvisionedThroughput.ReadCapacityUnits,
        WriteCapacityUnits: onDemand ? 0 : source.ProvisionedThroughput.WriteCapacityUnits,
      },
      ItemCount: record.stats.itemCount,
      BillingMode: source.BillingMode,
    },
    SourceTableFeatureDetails: {
      ...(local.length > 0 ? { LocalSecondaryIndexes: local } : {}),
      ...(global.length > 0 ? { GlobalSecondaryIndexes: global } : {}),
      ...(extra.StreamSpecification ? { StreamDescription: extra.StreamSpecification } : {}),
      // As it was when the backup was taken.
      ...(source.TimeToLive
        ? { TimeToLiveDescription: timeToLiveDescription(source.TimeToLive, record.createdAt) }
        : {}),
      // The key that protected the table when the backup was taken, whatever it is now.
      ...(sse ? { SSEDescription: sse } : {}),
    },
  };
}

export function backupSummary(record: BackupRecord) {
  return {
    TableName: record.source.TableName,
    TableId: record.source.TableId,
    TableArn: record.source.TableArn,
    ...backupDetails(record),
  };
}
