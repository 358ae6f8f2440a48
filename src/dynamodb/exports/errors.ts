/**
 * The export and import API's errors. Types from the model's error lists; texts as recorded
 * against DynamoDB by ScyllaDB's conformance tests (scylladb/scylladb test/alternator/
 * test_export.py and test_import.py, run against AWS): "Duplicate request detected …" for
 * ExportConflictException / ImportConflictException, "Invalid Export ARN" / "Invalid Import ARN",
 * FailureCode S3NoSuchBucket with "bucket does not exist", "Table already exists: …"; and by
 * ack-api-quirks' probes of the live service (export.md, findings DDB-EXPORT-001 to -019,
 * recorded 2026-10-09), whose texts are quoted whole below where they give them. Texts marked
 * [I] are sealdb's own words where no recorded AWS answer was found.
 */
import { AwsError } from '../../http/aws-error.js';
import { validationError } from '../errors.js';
import { isoSeconds } from '../pitr/errors.js';

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

/** "Export conflict: Duplicate request detected with conflicting parameters" (DDB-EXPORT-009). */
export const exportConflict = (): AwsError =>
  new AwsError(
    'ExportConflictException',
    'Export conflict: Duplicate request detected with conflicting parameters',
    400,
    DYNAMODB,
  );

/** "Import conflict: Duplicate request detected with conflicting parameters" (ack-api-quirks, DDB-IMPORT-017). */
export const importConflict = (): AwsError =>
  new AwsError(
    'ImportConflictException',
    'Import conflict: Duplicate request detected with conflicting parameters',
    400,
    DYNAMODB,
  );

export const invalidExportArn = (arn: string): AwsError => validationError(`Invalid Export ARN: ${arn}`);
export const invalidImportArn = (arn: string): AwsError => validationError(`Invalid Import ARN: ${arn}`);

/**
 * DescribeExport of a well-formed ARN that names no export: "Export not found: Export not found:
 * <arn>" (the prefix twice, as recorded), and of an export of another region "Export not found:
 * Invalid export arn" (ack-api-quirks, DDB-EXPORT-006).
 */
export const exportNotFound = (arn: string, otherRegion = false): AwsError =>
  new AwsError(
    'ExportNotFoundException',
    otherRegion ? 'Export not found: Invalid export arn' : `Export not found: Export not found: ${arn}`,
    400,
    DYNAMODB,
  );

/** [I] In the words of DescribeExport's (DDB-EXPORT-006); no recorded DescribeImport answer was found. */
export const importNotFound = (arn: string): AwsError =>
  new AwsError('ImportNotFoundException', `Import not found: Import not found: ${arn}`, 400, DYNAMODB);

/**
 * A NextToken that is not one of this listing's: "Invalid Request: Provided nextToken is invalid:
 * <token>", for ListExports and ListImports alike (ack-api-quirks, DDB-EXPORT-006).
 */
export const invalidNextToken = (token: string): AwsError =>
  validationError(`Invalid Request: Provided nextToken is invalid: ${token}`);

/**
 * An ExportTime outside the PITR window (before its start, or in the future): "Export Time is
 * invalid" (ack-api-quirks, DDB-EXPORT-001; also quoted by scylladb's test_export.py,
 * test_export_table_invalid_export_time, as DynamoDB's answer).
 */
export const INVALID_EXPORT_TIME = 'Export Time is invalid';

/**
 * An ExportTime in the past but after LatestRestorableDateTime: "Point in Time Recovery is not
 * available for specified export time" (ack-api-quirks, DDB-EXPORT-001, ExportTime=now-1s).
 */
export const EXPORT_TIME_NOT_RESTORABLE = 'Point in Time Recovery is not available for specified export time';

export const invalidExportTime = (detail: string = INVALID_EXPORT_TIME): AwsError =>
  new AwsError('InvalidExportTimeException', detail, 400, DYNAMODB);

/**
 * S3SseKmsKeyId without S3SseAlgorithm KMS (omitted or AES256): "Invalid Request: KMS Key Id is
 * not supported for this encryption type" (ack-api-quirks, DDB-EXPORT-005).
 */
export const kmsKeyWithoutKms = (): AwsError =>
  validationError('Invalid Request: KMS Key Id is not supported for this encryption type');

/** [I] A server started without --export-dir has no stand-in for S3. */
export const noExportDir = (): AwsError =>
  validationError(
    'This sealdb has no export directory: start it with --export-dir <dir> (S3 buckets are its subfolders)',
  );

/** AWS's FailureCode and S3's message for a bucket that does not exist. */
export const NO_SUCH_BUCKET = { code: 'S3NoSuchBucket', message: 'The specified bucket does not exist' } as const;

/** AWS's FailureCode and message of an import with items that failed validation. */
export const ITEM_VALIDATION_FAILED = {
  code: 'ItemValidationError',
  message:
    'Some of the items failed validation checks and were not imported. Please check CloudWatch error logs for more details.',
} as const;

/**
 * INCREMENTAL_EXPORT's rules. The rules are AWS's: the window is ExportFromTime (inclusive) to
 * ExportToTime (exclusive) (API Reference, IncrementalExportSpecification), "from 15 minutes up
 * to 24 hours" long (AWS Database Blog, "Introducing incremental export from Amazon DynamoDB to
 * Amazon S3"), inside the PITR window ("you can export data from any time within the point in
 * time recovery window", API Reference, ExportTableToPointInTime). The texts are the live
 * service's (ack-api-quirks, export.md, DDB-EXPORT-003 for the pairing of ExportType and the
 * specification, all ValidationException; DDB-EXPORT-004 for the window, all
 * InvalidExportTimeException, checked in this order: from, to, length).
 */
export const incrementalRule = {
  specWithoutType:
    'Invalid Request: Export Type expected to be Incremental Export when incremental export specification is provided',
  specWithFull:
    'Invalid Request: When Export Type is Full Export , Incremental Export Specification should not be provided',
  noSpec: 'Invalid Request: Incremental Export Specification expected when export type is set as Incremental Export',
  noFromTime: 'Invalid Request: ExportFromTime must be provided in IncrementalExportSpecification',
  /** [I] ExportTime with INCREMENTAL_EXPORT: the recording met the window check first (DDB-EXPORT-003). */
  exportTimeGiven: 'Invalid Request: ExportTime cannot be provided when export type is set as Incremental Export',
} as const;

/** ExportFromTime before the history (the recording names it "the table creation time"). */
export const incrementalFromTooEarly = (from: number): AwsError =>
  invalidExportTime(
    `Incremental export period from time cannot be less than the table creation time : ${isoSeconds(from)}`,
  );

export const incrementalToInFuture = (to: number): AwsError =>
  invalidExportTime(`Incremental export period to time cannot be greater than the current time : ${isoSeconds(to)}`);

/** Shorter than 15 minutes (an inverted window too); [I] the 24-hour text, after the 15-minute one. */
export const incrementalLength = (tooLong: boolean): AwsError =>
  invalidExportTime(
    `Difference between export period from time and export period to time is ${
      tooLong ? 'greater than 24 hours' : 'less than 15 minutes'
    }`,
  );
