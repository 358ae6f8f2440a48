/**
 * The backup API's errors. Types from the model's error lists (CreateBackup, DescribeBackup,
 * DeleteBackup, RestoreTableFromBackup); the texts of the not-found and already-exists ones as
 * moto records them for DynamoDB (getmoto/moto moto/dynamodb/exceptions.py: "Table not found: …",
 * "Backup not found: …", "Table already exists: …"). Texts marked [I] are sealdb's own words
 * where no recorded AWS answer was found.
 */
import { AwsError } from '../../http/aws-error.js';

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

export const tableNotFound = (name: string): AwsError =>
  new AwsError('TableNotFoundException', `Table not found: ${name}`, 400, DYNAMODB);

export const backupNotFound = (arn: string): AwsError =>
  new AwsError('BackupNotFoundException', `Backup not found: ${arn}`, 400, DYNAMODB);

export const tableAlreadyExists = (name: string): AwsError =>
  new AwsError('TableAlreadyExistsException', `Table already exists: ${name}`, 400, DYNAMODB);

/**
 * A restore whose TargetTableName is taken. The live service answers TableInUseException "Table:
 * <name> is already being restored from backup: <backup arn>" while that table's own restore from
 * a backup is still CREATING, and TableAlreadyExistsException for any other table, DELETING ones
 * included (ack-api-quirks, table.md, DDB-TABLE-219 and DDB-TABLE-275, recorded 2026-10-09).
 */
export const restoreTargetTaken = (existing: {
  TableName: string;
  RestoreSummary?: { RestoreInProgress: boolean; SourceBackupArn?: string };
}): AwsError => {
  const restoring = existing.RestoreSummary;
  return restoring?.RestoreInProgress && restoring.SourceBackupArn
    ? new AwsError(
        'TableInUseException',
        `Table: ${existing.TableName} is already being restored from backup: ${restoring.SourceBackupArn}`,
        400,
        DYNAMODB,
      )
    : tableAlreadyExists(existing.TableName);
};

/**
 * Another backup control-plane operation holds the backup. While it feeds a restore, the live
 * service answers DeleteBackup "Backup is being used to restore table: <arn>" and a second
 * RestoreTableFromBackup "Backup is being used to restore another table: <arn>" (ack-api-quirks,
 * backup.md, finding DDB-BACKUP-010, recorded 2026-10-09): a backup feeds one restore at a time. [I] "Backup is being created: <arn>"
 * while it is still CREATING (on AWS a small table's backup is AVAILABLE ~50 ms after the call,
 * DDB-BACKUP-003, so no answer was recorded).
 */
export const backupInUse = (arn: string, doing: 'being created' | 'being restored' | 'restoring another'): AwsError =>
  new AwsError(
    'BackupInUseException',
    doing === 'being created'
      ? `Backup is being created: ${arn}`
      : doing === 'being restored'
        ? `Backup is being used to restore table: ${arn}`
        : `Backup is being used to restore another table: ${arn}`,
    400,
    DYNAMODB,
  );

/**
 * [I] CreateBackup on a table that is neither ACTIVE nor UPDATING (archived, inaccessible, ...).
 * On AWS a CREATING table answers TableNotFoundException (manager.ts) and an UPDATING or DELETING
 * one is backed up (ack-api-quirks, backup.md, DDB-BACKUP-001); no TableInUseException text was recorded.
 */
export const tableInUse = (name: string, status: string): AwsError =>
  new AwsError('TableInUseException', `Table is in ${status} state: ${name}`, 400, DYNAMODB);

/** [I] An in-memory sealdb keeps no backups (nothing may be written to disk). */
export const backupsUnavailable = (): AwsError =>
  new AwsError(
    'ContinuousBackupsUnavailableException',
    'Backups are not available: this sealdb keeps everything in memory (--in-memory)',
    400,
    DYNAMODB,
  );
