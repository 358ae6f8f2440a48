/** What sealdb keeps about a backup (JSON in the encrypted backup catalog). */
import { randomBytes } from 'node:crypto';
import type { DataKeyScope } from '../../encryption/data-keys.js';
import type { TableKeyRecord, TableKeyTarget } from '../../encryption/table-keys.js';
import type { TableDefinition } from '../table-definition.js';
import type { TableStats } from '../table-description.js';

export type BackupStatus = 'CREATING' | 'AVAILABLE';
/** USER: CreateBackup; SYSTEM: made by sealdb itself (archival, a deleted table's PITR backup). */
export type BackupType = 'USER' | 'SYSTEM';

export interface BackupRecord {
  readonly BackupArn: string;
  readonly BackupName: string;
  readonly BackupStatus: BackupStatus;
  readonly BackupType: BackupType;
  /** epoch ms */
  readonly createdAt: number;
  readonly accountId: string;
  readonly region: string;
  /** The source table's definition at backup time (schema, indexes, key). */
  readonly source: TableDefinition;
  readonly stats: TableStats;
  /** Whose encryption context and owned-key binding the table key has. */
  readonly target: TableKeyTarget;
  /** The table key of backup time, as KMS ciphertext: it unwraps the backup's data key. */
  readonly tableKey: TableKeyRecord;
  /** What the wrapped data key is bound to. */
  readonly dataKeyScope: DataKeyScope;
  /** Names the backup's file (never derived from a table name). */
  readonly fileId: string;
  /**
   * Archival backups are the table file as it was, under the table's own data key: its table key
   * was unusable, so no new data key could be wrapped.
   */
  readonly sameDataKeyAsTable?: boolean;
  /**
   * How many items the copy wrote (set when it became AVAILABLE): a restore that reads another
   * number finds the backup damaged (rows removed or added where it is kept).
   */
  readonly copiedItems?: number;
  /**
   * epoch ms: a SYSTEM backup that "expires automatically 35 days after its creation" (model
   * documentation of BackupExpiryDateTime), removed by the sweep then. Absent: kept until deleted.
   */
  readonly expiresAt?: number;
}

/**
 * `<table ARN>/backup/<13-digit epoch ms>-<8 hex>`, as DynamoDB's (AWS CLI docs, create-backup:
 * `arn:aws:dynamodb:us-west-2:123456789012:table/MusicCollection/backup/01576616366715-b4e58d3a`).
 */
export const backupArn = (tableArn: string, at: number): string =>
  `${tableArn}/backup/${String(at).padStart(14, '0')}-${randomBytes(4).toString('hex')}`;

/** The creation time an ARN of that form carries (for paging past a backup since deleted). */
export function arnTime(arn: string): number | undefined {
  const match = /\/backup\/(\d{13,14})-[0-9a-f]{8}$/.exec(arn);
  return match ? Number(match[1]) : undefined;
}
