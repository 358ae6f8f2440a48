/** What sealdb keeps about a DynamoDB table (stored as JSON in the encrypted catalog). */
import type { AttributeDefinition, KeySchemaElement } from './table-schema.js';

export type TableStatus = 'CREATING' | 'UPDATING' | 'DELETING' | 'ACTIVE';
export type BillingMode = 'PROVISIONED' | 'PAY_PER_REQUEST';

export interface ProvisionedThroughputState {
  ReadCapacityUnits: number;
  WriteCapacityUnits: number;
  NumberOfDecreasesToday: number;
  /** epoch seconds */
  LastIncreaseDateTime?: number;
  LastDecreaseDateTime?: number;
}

export interface TableDefinition {
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
}

export const tableArn = (region: string, account: string, name: string): string =>
  `arn:aws:dynamodb:${region}:${account}:table/${name}`;
