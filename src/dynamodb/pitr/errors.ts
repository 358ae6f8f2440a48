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

/** An instant as DynamoDB's messages quote it: ISO 8601 to the second (`2026-10-08T23:16:33Z`). */
export const isoSeconds = (ms: number): string =>
  `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;

/**
 * The rule is the model's (InvalidRestoreTimeException: "RestoreDateTime must be between
 * EarliestRestorableDateTime and LatestRestorableDateTime"); the text as the live service answers
 * it, quoting the three instants to the second: "RestoreDateTime '2026-10-06T23:16:32Z' must be
 * within EarliestRestorableDateTime '2026-10-08T23:16:33Z' and LatestRestor…" (ack-api-quirks,
 * table-restore.md, finding DDB-TABLE-100, recorded 2026-10-09; the recording is cut there, and
 * [I] its tail, "LatestRestorableDateTime '…'", is completed after its first half).
 */
export const invalidRestoreTime = (at: number, earliest: number, latest: number): AwsError =>
  new AwsError(
    'InvalidRestoreTimeException',
    `RestoreDateTime '${isoSeconds(at)}' must be within EarliestRestorableDateTime '${isoSeconds(earliest)}' ` +
      `and LatestRestorableDateTime '${isoSeconds(latest)}'`,
    400,
    DYNAMODB,
  );

/**
 * Both or neither of SourceTableName and SourceTableArn: "Must provide exactly one of:
 * sourceTableArn, sourceTableName", as the live service answers (ack-api-quirks, service.md,
 * the ValidationException catalogue, recorded 2026-10-09). [I] The "Invalid Request: " before it,
 * which the catalogue lists it under with the other RestoreTableToPointInTime rules.
 */
export const oneSourceTable = (): AwsError =>
  validationError('Invalid Request: Must provide exactly one of: sourceTableArn, sourceTableName');

/**
 * Both or neither of RestoreDateTime and UseLatestRestorableTime, in the live service's words
 * (ack-api-quirks, table-restore.md, finding DDB-TABLE-100, recorded 2026-10-09: the "neither"
 * text whole, the "both" text up to "Pleas…"; the rest of it as the stackd emulator, written
 * against the same recordings, completes it).
 */
export const oneRestoreTime = (both: boolean): AwsError =>
  validationError(
    both
      ? 'Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set for point-in-time restore ' +
          'request. Please specify either RestoreDateTime time or UseLatestRestorableTime'
      : 'Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, but not both',
  );
