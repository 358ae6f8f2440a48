/** What sealdb keeps about a table's secondary indexes (part of the table's catalog definition). */
import type { ProvisionedThroughputState } from '../table-definition.js';
import type { KeySchemaElement } from '../table-schema.js';

export type ProjectionType = 'ALL' | 'KEYS_ONLY' | 'INCLUDE';

export interface IndexProjection {
  ProjectionType: ProjectionType;
  /** INCLUDE only: the non-key attributes copied into the index. */
  NonKeyAttributes?: string[];
}

/** DynamoDB's IndexStatus; LSIs are always ACTIVE. */
export type IndexStatus = 'CREATING' | 'UPDATING' | 'DELETING' | 'ACTIVE';

export interface OnDemandThroughputState {
  MaxReadRequestUnits?: number;
  MaxWriteRequestUnits?: number;
}

/** A GSI's warm throughput as requested (DescribeTable fills in the defaults). */
export interface WarmThroughputState {
  ReadUnitsPerSecond?: number;
  WriteUnitsPerSecond?: number;
}

export interface SecondaryIndexDefinition {
  IndexName: string;
  /**
   * HASH elements first, then RANGE ones. An LSI has the table's partition key and one sort key;
   * a GSI has up to 4 of each (multi-attribute keys).
   */
  KeySchema: KeySchemaElement[];
  Projection: IndexProjection;
  /** The keyspace of this index's entries in the table file; never reused within a table. */
  Space: number;
  IndexStatus: IndexStatus;
  /** A GSI being created on a table with items: its entries are still being written. */
  Backfilling?: boolean;
  /** GSIs only. */
  ProvisionedThroughput?: ProvisionedThroughputState;
  OnDemandThroughput?: OnDemandThroughputState;
  WarmThroughput?: WarmThroughputState;
}

/** The index fields of a table definition. */
export interface TableIndexes {
  LocalSecondaryIndexes?: SecondaryIndexDefinition[];
  GlobalSecondaryIndexes?: SecondaryIndexDefinition[];
  /** The keyspace the next index gets (0 is never an index's: the base table lives apart). */
  NextIndexSpace?: number;
}

export const indexArn = (tableArn: string, indexName: string): string => `${tableArn}/index/${indexName}`;
