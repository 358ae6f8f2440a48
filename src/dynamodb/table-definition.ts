/** What sealdb keeps about a DynamoDB table (stored as JSON in the encrypted catalog). */
import type { TableKeyRecord } from '../encryption/table-keys.js';
import type { TableStreams } from '../streams/definition.js';
import type { TableIndexes } from './indexes/definition.js';
import type { TablePitr } from './pitr/state.js';
import type { TableStats } from './table-description.js';
import type { AttributeDefinition, KeySchemaElement } from './table-schema.js';
import type { TimeToLiveState } from './ttl/state.js';

export type TableStatus =
  | 'CREATING'
  | 'UPDATING'
  | 'DELETING'
  | 'ACTIVE'
  | 'INACCESSIBLE_ENCRYPTION_CREDENTIALS'
  | 'ARCHIVING'
  | 'ARCHIVED';
export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

export interface ProvisionedThroughputState {
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
  NumberOfDecreasesToday: number;
  /** epoch seconds */
  LastIncreaseDateTime?: number;
  LastDecreaseDateTime?: number;
}

export interface TableDefinition extends TableIndexes, TableStreams, TablePitr {
  TableName: string;
  TableId: string;
  TableArn: string;
  /** epoch seconds */
  CreationDateTime: number;
  TableStatus: TableStatus;
  AttributeDefinitions: AttributeDefinition[];
  KeySchema: KeySchemaElement[];
  BillingMode: BillingMode;
  /** epoch seconds of the last billing-mode change */
  BillingModeLastUpdateDateTime?: number;
  ProvisionedThroughput: ProvisionedThroughputState;
  TableClass: 'STANDARD' | 'STANDARD_INFREQUENT_ACCESS';
  DeletionProtectionEnabled: boolean;
  Tags: Record<string, string>;
  /** The table key, encrypted under the table's KMS key (or the AWS owned key). */
  TableKey: TableKeyRecord;
  /** epoch ms of each encryption-key change, for DynamoDB's rate limit on them */
  SseChanges: number[];
  /** The key the table left in its last switch, shown while the switch is reported (UPDATING). */
  PreviousKmsKeyArn?: string;
  /** epoch ms since which the table's KMS key has been unusable */
  InaccessibleSince?: number;
  /** The last KMS failure that took the table offline. */
  InaccessibleReason?: { code: string; message: string; requestId: string };
  /** The KMS key was deleted: the data can never be decrypted again. */
  KeyDestroyed?: boolean;
  /** epoch ms of archival after 7 days inaccessible */
  ArchivedAt?: number;
  /** The backup archival made (src/dynamodb/backups). */
  ArchivalBackupArn?: string;
  /** Set on a restored table (RestoreSummary; RestoreDateTime in epoch seconds; no backup ARN for a point in time). */
  RestoreSummary?: {
    SourceBackupArn?: string;
    SourceTableArn: string;
    RestoreDateTime: number;
    RestoreInProgress: boolean;
  };
  /** Item count and size when the table file was last open, for DescribeTable while it is closed. */
  LastKnownStats?: TableStats;
  /** Set by the first UpdateTimeToLive (see ttl/state.ts). */
  TimeToLive?: TimeToLiveState;
}

export const tableArn = (region: string, account: string, name: string): string =>
  `arn:aws:dynamodb:${region}:${account}:table/${name}`;

/** The region a table ARN names, or undefined for anything that is not a table ARN. */
export const tableArnRegion = (arn: string): string | undefined =>
  /^arn:aws:dynamodb:([^:]+):\d{12}:table\//.exec(arn)?.[1];
