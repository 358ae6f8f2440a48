/**
 * The table a restore makes from a backup's source and RestoreTableFromBackup's overrides.
 * DynamoDB restores the schema, indexes, billing and capacity, and table class; not tags, stream
 * or TTL settings, auto scaling or PITR, which are set again on the new table (DynamoDB developer
 * guide, "Restoring a DynamoDB table from a backup"). Index overrides may leave indexes out (their
 * entries then are not rebuilt) or rename them, but not add or change any: "The indexes provided
 * should match existing secondary indexes" (model documentation of GlobalSecondaryIndexOverride).
 */
import { invalidParameter, validationError } from '../errors.js';
import type { SecondaryIndexDefinition } from '../indexes/definition.js';
import type { BillingMode, TableDefinition } from '../table-definition.js';
import type { KeySchemaElement } from '../table-schema.js';
import type { RestoredTable } from './manager.js';

interface Throughput {
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
}

export interface IndexOverride {
  IndexName: string;
  KeySchema: KeySchemaElement[];
  Projection: { ProjectionType?: string; NonKeyAttributes?: string[] };
  ProvisionedThroughput?: Throughput;
  OnDemandThroughput?: { MaxReadRequestUnits?: number; MaxWriteRequestUnits?: number };
}

export interface RestoreOverrides {
  BillingModeOverride?: BillingMode;
  ProvisionedThroughputOverride?: Throughput;
  GlobalSecondaryIndexOverride?: IndexOverride[];
  LocalSecondaryIndexOverride?: IndexOverride[];
}

export function restoredTable(
  source: TableDefinition,
  targetName: string,
  overrides: RestoreOverrides,
  nowSeconds: number,
): RestoredTable {
  const billingMode = overrides.BillingModeOverride ?? source.BillingMode;
  const throughput = overrides.ProvisionedThroughputOverride;
  // CreateTable's words for the same mistakes (create-table.ts).
  if (billingMode === 'PAY_PER_REQUEST' && throughput) {
    throw invalidParameter(
      'Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
    );
  }
  const sourceCapacity = source.BillingMode === 'PROVISIONED' ? source.ProvisionedThroughput : undefined;
  const capacity = throughput ?? sourceCapacity;
  if (billingMode === 'PROVISIONED' && !capacity) {
    throw invalidParameter(
      'ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
    );
  }
  const local = kept(source.LocalSecondaryIndexes, overrides.LocalSecondaryIndexOverride);
  const global = kept(source.GlobalSecondaryIndexes, overrides.GlobalSecondaryIndexOverride).map(
    ({ index, override }) => {
      const { ProvisionedThroughput: sourceThroughput, WarmThroughput: _w, ...rest } = index;
      const indexCapacity = override?.ProvisionedThroughput ?? sourceThroughput ?? capacity;
      return {
        ...rest,
        ...(override?.OnDemandThroughput ? { OnDemandThroughput: override.OnDemandThroughput } : {}),
        ...(billingMode === 'PROVISIONED' && indexCapacity
          ? {
              ProvisionedThroughput: {
                ReadCapacityUnits: indexCapacity.ReadCapacityUnits,
                WriteCapacityUnits: indexCapacity.WriteCapacityUnits,
                NumberOfDecreasesToday: 0,
              },
            }
          : {}),
      };
    },
  );
  const localIndexes = local.map(({ index }) => index);
  const used = new Set([
    ...source.KeySchema.map((k) => k.AttributeName),
    ...[...localIndexes, ...global].flatMap((index) => index.KeySchema.map((k) => k.AttributeName)),
  ]);
  return {
    TableName: targetName,
    CreationDateTime: nowSeconds,
    AttributeDefinitions: source.AttributeDefinitions.filter((a) => used.has(a.AttributeName)),
    KeySchema: source.KeySchema,
    ...(localIndexes.length > 0 ? { LocalSecondaryIndexes: localIndexes } : {}),
    ...(global.length > 0 ? { GlobalSecondaryIndexes: global } : {}),
    ...(source.NextIndexSpace !== undefined ? { NextIndexSpace: source.NextIndexSpace } : {}),
    BillingMode: billingMode,
    ...(billingMode !== source.BillingMode ? { BillingModeLastUpdateDateTime: nowSeconds } : {}),
    ProvisionedThroughput: {
      ReadCapacityUnits: billingMode === 'PROVISIONED' ? (capacity?.ReadCapacityUnits ?? 0) : 0,
      WriteCapacityUnits: billingMode === 'PROVISIONED' ? (capacity?.WriteCapacityUnits ?? 0) : 0,
      NumberOfDecreasesToday: 0,
    },
    TableClass: source.TableClass,
    DeletionProtectionEnabled: false,
    Tags: {},
  };
}

/**
 * The backup's indexes the restore keeps: all without an override, else one per override. An
 * override is matched to a source index by its KeySchema and Projection, not its name: a matched
 * index may be renamed (and given other capacity), but no index may be added or change its keys
 * or projection. The index of the same name is preferred when several have that shape; no source
 * index is matched twice (two overrides would otherwise share one index's entries).
 */
function kept(
  indexes: SecondaryIndexDefinition[] | undefined,
  overrides: IndexOverride[] | undefined,
): { index: SecondaryIndexDefinition; override?: IndexOverride }[] {
  const live = (indexes ?? [])
    .filter((index) => index.IndexStatus !== 'DELETING' && !index.Backfilling)
    .map(({ Backfilling: _b, ...index }) => ({ ...index, IndexStatus: 'ACTIVE' as const }));
  if (!overrides) return live.map((index) => ({ index }));
  // An override that matches no index of the source, for a new name or a changed KeySchema or
  // Projection alike, in the live service's words (ack-api-quirks, table-restore.md, the
  // RestoreTableFromBackup ValidationException catalogue, recorded 2026-10-09). That an override
  // matches by shape and may rename: the model's "The indexes provided should match existing
  // secondary indexes. You can choose to exclude some or all of the indexes at the time of
  // restore" (GlobalSecondaryIndexOverride, dynamodb.service-2.json) and the catalogue's entry.
  const unmatched = (name: string) =>
    validationError(
      `Invalid Request: Index ${name} does not match a secondary index that existed in the source table ` +
        'and cannot be created during the restore operation',
    );
  const taken = new Set<SecondaryIndexDefinition>();
  return overrides.map((override) => {
    const candidates = live.filter((index) => !taken.has(index) && sameShape(index, override));
    const index = candidates.find((i) => i.IndexName === override.IndexName) ?? candidates[0];
    if (!index) throw unmatched(override.IndexName);
    taken.add(index);
    return { index: { ...index, IndexName: override.IndexName }, override };
  });
}

/** The same key attributes in the same roles and order, and the same projected attributes (in any order). */
function sameShape(index: SecondaryIndexDefinition, override: IndexOverride): boolean {
  const sameKeys =
    index.KeySchema.length === override.KeySchema.length &&
    index.KeySchema.every(
      (k, i) =>
        k.AttributeName === override.KeySchema[i]?.AttributeName && k.KeyType === override.KeySchema[i]?.KeyType,
    );
  const projected = [...(override.Projection.NonKeyAttributes ?? [])].sort();
  const sourceProjected = [...(index.Projection.NonKeyAttributes ?? [])].sort();
  return (
    sameKeys &&
    (override.Projection.ProjectionType ?? 'ALL') === index.Projection.ProjectionType &&
    projected.length === sourceProjected.length &&
    projected.every((name, i) => name === sourceProjected[i])
  );
}
