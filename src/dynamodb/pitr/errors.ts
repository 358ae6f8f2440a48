/**
 * The point-in-time recovery API's errors. Types from the model's error lists
 * (UpdateContinuousBackups, DescribeContinuousBackups, RestoreTableToPointInTime). Texts marked
 * [I] are sealdb's own words where no recorded AWS answer was found.
 */
import { AwsError } from '../../http/aws-error.js';
import { validationError } from '../errors.js';

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

/**
 * DynamoDB answers this while a new table's continuous backups are being set up: "Backups are
 * being enabled for the table: <name>. Please retry later" (reported in
 * aws-amplify/amplify-backend#1654; recorded against the live service for CreateBackup and
 * UpdateContinuousBackups in the first seconds after a table turns ACTIVE by ack-api-quirks'
 * finding DDB-BACKUP-002, 2026-10-09). sealdb answers it for a table that is not ACTIVE.
 */
export const continuousBackupsUnavailable = (name: string): AwsError =>
  new AwsError(
    'ContinuousBackupsUnavailableException',
    `Backups are being enabled for the table: ${name}. Please retry later`,
    400,
    DYNAMODB,
  );

/** [I] An in-memory sealdb keeps no history (nothing may be written to disk). */
export const pitrNotKept = (): AwsError =>
  new AwsError(
    'ContinuousBackupsUnavailableException',
    'Point in time recovery is not available: this sealdb keeps everything in memory (--in-memory)',
    400,
    DYNAMODB,
  );

/**
 * The text DynamoDB sends, as moto's AWS-verified test of ExportTableToPointInTime records it
 * (getmoto/moto tests/test_dynamodb/test_dynamodb_export_table.py,
 * test_export_point_in_time_recovery_not_enabled, marked aws_verified: "Point in time recovery
 * is not enabled for table '<name>'"); the model's documentation words it "Point in time
 * recovery has not yet been enabled for this source table".
 */
export const pitrUnavailable = (name: string): AwsError =>
  new AwsError(
    'PointInTimeRecoveryUnavailableException',
    `Point in time recovery is not enabled for table '${name}'`,
    400,
    DYNAMODB,
  );

/**
 * The model's documentation of InvalidRestoreTimeException, which names the rule ("An invalid
 * restore time was specified. RestoreDateTime must be between EarliestRestorableDateTime and
 * LatestRestorableDateTime."); no recorded answer of the live service was found to quote.
 */
export const invalidRestoreTime = (): AwsError =>
  new AwsError(
    'InvalidRestoreTimeException',
    'RestoreDateTime must be between EarliestRestorableDateTime and LatestRestorableDateTime',
    400,
    DYNAMODB,
  );

/** [I] Both or neither of SourceTableName and SourceTableArn. */
export const oneSourceTable = (): AwsError =>
  validationError('Exactly one of SourceTableName and SourceTableArn must be provided');

/** [I] Both or neither of RestoreDateTime and UseLatestRestorableTime. */
export const oneRestoreTime = (both: boolean): AwsError =>
  validationError(
    both
      ? 'RestoreDateTime cannot be specified when UseLatestRestorableTime is true'
      : 'Either RestoreDateTime or UseLatestRestorableTime must be specified',
  );
