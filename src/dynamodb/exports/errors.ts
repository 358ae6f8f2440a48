/**
 * The export and import API's errors. Types from the model's error lists; texts as recorded
 * against DynamoDB by ScyllaDB's conformance tests (scylladb/scylladb test/alternator/
 * test_export.py and test_import.py, run against AWS): "Duplicate request detected …" for
 * ExportConflictException / ImportConflictException, "Invalid Export ARN" / "Invalid Import ARN",
 * FailureCode S3NoSuchBucket with "bucket does not exist", "Table already exists: …". Texts
 * marked [I] are sealdb's own words where no recorded AWS answer was found.
 */
import { AwsError } from '../../http/aws-error.js';
import { validationError } from '../errors.js';

const DYNAMODB = 'com.amazonaws.dynamodb.v20120810';

export const exportConflict = (): AwsError =>
  new AwsError('ExportConflictException', 'Duplicate request detected with conflicting parameters', 400, DYNAMODB);

export const importConflict = (): AwsError =>
  new AwsError('ImportConflictException', 'Duplicate request detected with conflicting parameters', 400, DYNAMODB);

export const invalidExportArn = (arn: string): AwsError => validationError(`Invalid Export ARN: ${arn}`);
export const invalidImportArn = (arn: string): AwsError => validationError(`Invalid Import ARN: ${arn}`);

/** [I] */
export const exportNotFound = (arn: string): AwsError =>
  new AwsError('ExportNotFoundException', `Export not found: ${arn}`, 400, DYNAMODB);

/** [I] */
export const importNotFound = (arn: string): AwsError =>
  new AwsError('ImportNotFoundException', `Import not found: ${arn}`, 400, DYNAMODB);

/** [I] */
export const invalidNextToken = (operation: 'ListExports' | 'ListImports'): AwsError =>
  validationError(`Invalid NextToken provided for ${operation}`);

/** [I] */
export const invalidExportTime = (detail: string): AwsError =>
  new AwsError('InvalidExportTimeException', detail, 400, DYNAMODB);

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
 * Amazon S3"; Developer Guide, S3DataExport.HowItWorks), inside the PITR window ("you can
 * export data from any time within the point in time recovery window", API Reference,
 * ExportTableToPointInTime). [I] The texts: no recorded answer of the live service was found
 * (moto, LocalStack and scylladb's conformance tests do not build incremental exports).
 */
export const incrementalRule = {
  specWithoutType: 'IncrementalExportSpecification can only be specified when ExportType is INCREMENTAL_EXPORT',
  noFromTime: 'ExportFromTime must be specified in IncrementalExportSpecification for an INCREMENTAL_EXPORT',
  exportTimeGiven: 'ExportTime cannot be specified for an INCREMENTAL_EXPORT: use IncrementalExportSpecification',
  order: 'ExportFromTime must be earlier than ExportToTime',
  tooShort: 'The incremental export period must be at least 15 minutes (ExportToTime - ExportFromTime)',
  tooLong: 'The incremental export period must be at most 24 hours (ExportToTime - ExportFromTime)',
} as const;

/** [I] The incremental window outside the table's PITR history, in the words of the full export's rule. */
export const invalidIncrementalWindow = (earliest: number, latest: number): AwsError =>
  invalidExportTime(
    `ExportFromTime and ExportToTime must be between EarliestRestorableDateTime and the current time ` +
      `(${new Date(earliest).toISOString()} and ${new Date(latest).toISOString()})`,
  );
