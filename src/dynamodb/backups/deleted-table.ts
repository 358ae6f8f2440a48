/**
 * A deleted table's point-in-time history, kept as DynamoDB keeps it: "If you delete a table with
 * point-in-time recovery enabled, a system backup is automatically created and is retained for 35
 * days (at no additional cost). System backups allow you to restore the deleted table to the
 * state it was in just before the point of deletion. All system backups follow a standard naming
 * convention: table-name$DeletedTableBackup" (DynamoDB Developer Guide, "Before you begin using
 * point-in-time recovery"; "Delete a table with PITR enabled" in "Enable point-in-time recovery
 * in DynamoDB" says the same). It is an ordinary backup of the catalog (BackupType SYSTEM, with
 * BackupExpiryDateTime), so ListBackups, DescribeBackup and RestoreTableFromBackup serve it, and
 * it is encrypted and shredded as every backup is (manager.ts).
 */
import { KeyAccessError } from '../../encryption/key-access-error.js';
import type { KeyCaller } from '../../encryption/table-keys.js';
import { AwsError } from '../../http/aws-error.js';
import { enabledPitr } from '../pitr/state.js';
import type { TableDefinition } from '../table-definition.js';
import type { TableManager } from '../tables.js';
import type { BackupManager } from './manager.js';

/** "This SYSTEM on-demand backup expires automatically 35 days after its creation" (model: BackupExpiryDateTime). */
export const DELETED_TABLE_BACKUP_RETENTION_MS = 35 * 24 * 60 * 60 * 1000;

export const deletedTableBackupName = (tableName: string): string => `${tableName}$DeletedTableBackup`;

/**
 * Before DeleteTable removes a table whose PITR is enabled: its SYSTEM backup, written in full
 * (AVAILABLE) before this resolves, so the table file may go next. Tables that are not ACTIVE get
 * none (an archived table already has its archival backup; an inaccessible one cannot be read),
 * and neither does a table whose key turns out unusable: the delete then goes on without it, as
 * archival does when no backup can be made. Any other failure stops the delete (no history lost).
 */
export async function keepDeletedTableBackup(
  backups: BackupManager,
  tables: TableManager,
  account: string,
  table: TableDefinition,
  caller: KeyCaller,
): Promise<string | undefined> {
  if (table.TableStatus !== 'ACTIVE' || !enabledPitr(table)) return undefined;
  let arn: string;
  try {
    const record = await backups.create(
      tables,
      account,
      table.TableName,
      deletedTableBackupName(table.TableName),
      caller,
      // Counted from the backup's own creation time, which BackupCreationDateTime shows.
      { retentionMs: DELETED_TABLE_BACKUP_RETENTION_MS },
    );
    arn = record.BackupArn;
  } catch (error) {
    // The table key is unusable for the caller (a disabled or deleted KMS key, or one its policy
    // refuses): lend answers AccessDeniedException naming the KMS error.
    if (error instanceof KeyAccessError || (error instanceof AwsError && error.code === 'AccessDeniedException')) {
      return undefined;
    }
    throw error;
  }
  await backups.settled(arn);
  // The copy failed (reported by the manager's onError): the table stays, its history with it.
  if (!(await backups.finished(arn)))
    throw new Error(`the backup of deleted table ${table.TableName} could not be written`);
  return arn;
}
