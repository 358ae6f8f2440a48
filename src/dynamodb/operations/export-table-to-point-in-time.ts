import type { CallContext } from '../../http/service.js';
import { tableNotFound } from '../backups/errors.js';
import { validationError } from '../errors.js';
import { transfersOf } from '../exports/environment.js';
import { incrementalRule, kmsKeyWithoutKms } from '../exports/errors.js';
import type { ExportFormat } from '../exports/formats.js';
import { type ExportViewType, exportDescription } from '../exports/records.js';
import type { Operation } from '../operation.js';

export interface ExportTableToPointInTimeInput {
  TableArn: string;
  /** epoch seconds */
  ExportTime?: number;
  ClientToken?: string;
  S3Bucket: string;
  S3BucketOwner?: string;
  S3Prefix?: string;
  S3SseAlgorithm?: 'AES256' | 'KMS';
  S3SseKmsKeyId?: string;
  ExportFormat?: ExportFormat;
  ExportType?: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
  IncrementalExportSpecification?: {
    /** epoch seconds */
    ExportFromTime?: number;
    /** epoch seconds */
    ExportToTime?: number;
    ExportViewType?: ExportViewType;
  };
}

const TABLE_ARN = /^arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table\/([a-zA-Z0-9_.-]{3,255})$/;

/** The table an export names by ARN; another account's or region's table does not exist for the caller. */
export function exportedTableName(arn: string, ctx: CallContext): string {
  const match = TABLE_ARN.exec(arn);
  // DynamoDB's words for a TableArn that is no table ARN (as resolveTableName answers them).
  if (!match) throw validationError(`Invalid TableArn: Invalid ResourceArn provided as input ${arn}`);
  const [, region, account, name] = match as unknown as [string, string, string, string];
  if (account !== ctx.principal.accountId || region !== ctx.region) throw tableNotFound(name);
  return name;
}

export const exportTableToPointInTime: Operation<ExportTableToPointInTimeInput> = {
  name: 'ExportTableToPointInTime',
  async execute({ input, ctx, env }) {
    const tableName = exportedTableName(input.TableArn, ctx);
    const spec = input.IncrementalExportSpecification;
    const incremental = input.ExportType === 'INCREMENTAL_EXPORT';
    // The parameters' pairing (rules and sources in exports/errors.ts); the window's own bounds
    // are checked against the table's history by the manager.
    if (spec && !incremental) {
      throw validationError(
        input.ExportType === 'FULL_EXPORT' ? incrementalRule.specWithFull : incrementalRule.specWithoutType,
      );
    }
    if (incremental) {
      if (!spec) throw validationError(incrementalRule.noSpec);
      if (spec.ExportFromTime === undefined) throw validationError(incrementalRule.noFromTime);
    }
    if (input.S3SseKmsKeyId !== undefined && input.S3SseAlgorithm !== 'KMS') throw kmsKeyWithoutKms();
    if (input.S3SseAlgorithm === 'KMS' && input.S3SseKmsKeyId === undefined) {
      // [I] AWS exports with the account's aws/s3 key then (KMS without a key COMPLETED, described
      // with no S3SseKmsKeyId: ack-api-quirks, DDB-EXPORT-012); sealdb's KMS has no aws/s3 key, so
      // the key must be named.
      throw validationError('sealdb needs S3SseKmsKeyId (a KMS key id, ARN or alias) with S3SseAlgorithm KMS');
    }
    const record = await transfersOf(env).startExport(
      env.tables,
      ctx.principal.accountId,
      {
        tableName,
        ...(input.ExportTime !== undefined ? { exportTime: Math.round(input.ExportTime * 1000) } : {}),
        ...(input.ClientToken !== undefined ? { clientToken: input.ClientToken } : {}),
        destination: {
          S3Bucket: input.S3Bucket,
          ...(input.S3BucketOwner !== undefined ? { S3BucketOwner: input.S3BucketOwner } : {}),
          ...(input.S3Prefix !== undefined ? { S3Prefix: input.S3Prefix } : {}),
          ...(input.S3SseAlgorithm !== undefined ? { S3SseAlgorithm: input.S3SseAlgorithm } : {}),
          ...(input.S3SseKmsKeyId !== undefined ? { S3SseKmsKeyId: input.S3SseKmsKeyId } : {}),
        },
        format: input.ExportFormat ?? 'DYNAMODB_JSON',
        ...(input.ExportType ? { type: input.ExportType } : {}),
        ...(incremental && spec?.ExportFromTime !== undefined
          ? {
              incremental: {
                from: Math.round(spec.ExportFromTime * 1000),
                ...(spec.ExportToTime !== undefined ? { to: Math.round(spec.ExportToTime * 1000) } : {}),
                // "The default value is NEW_AND_OLD_IMAGES" (model: IncrementalExportSpecification).
                view: spec.ExportViewType ?? 'NEW_AND_OLD_IMAGES',
                ...(input.ExportTime !== undefined ? { exportTime: true } : {}),
              },
            }
          : {}),
      },
      ctx,
    );
    return { ExportDescription: exportDescription(record) };
  },
};
