/** What sealdb keeps of each export and import (in the encrypted exports catalog), and how the API shows it. */
import type { ExportFormat, InputFormat } from './formats.js';

export interface S3Destination {
  readonly S3Bucket: string;
  readonly S3BucketOwner?: string;
  readonly S3Prefix?: string;
  readonly S3SseAlgorithm?: 'AES256' | 'KMS';
  readonly S3SseKmsKeyId?: string;
}

export interface ExportRecord {
  readonly kind: 'export';
  readonly accountId: string;
  readonly region: string;
  readonly ExportArn: string;
  ExportStatus: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  /** epoch ms */
  readonly startTime: number;
  endTime?: number;
  readonly exportTime: number;
  ExportManifest?: string;
  readonly TableArn: string;
  readonly TableId: string;
  readonly ClientToken: string;
  readonly destination: S3Destination;
  readonly ExportFormat: ExportFormat;
  /** Only when the request named it: DynamoDB leaves ExportType out of the description otherwise. */
  readonly ExportType?: 'FULL_EXPORT' | 'INCREMENTAL_EXPORT';
  FailureCode?: string;
  FailureMessage?: string;
  BilledSizeBytes?: number;
  ItemCount?: number;
  /** The resolved ARN of S3SseKmsKeyId, once the first file is sealed. */
  kmsKeyArn?: string;
  /** An INCREMENTAL_EXPORT's window (epoch ms, `to` exclusive) and view. */
  readonly incremental?: IncrementalWindow;
}

export type ExportViewType = 'NEW_IMAGE' | 'NEW_AND_OLD_IMAGES';

export interface IncrementalWindow {
  readonly from: number;
  readonly to: number;
  readonly view: ExportViewType;
}

export interface ImportErrorEntry {
  readonly itemS3Pointer: { readonly bucket: string; readonly key: string; readonly itemIndex: number };
  readonly importArn: string;
  readonly errorMessages: string[];
}

export interface ImportRecord {
  readonly kind: 'import';
  readonly accountId: string;
  readonly region: string;
  readonly ImportArn: string;
  ImportStatus: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  readonly TableArn: string;
  readonly TableId: string;
  readonly ClientToken: string;
  readonly S3BucketSource: { S3Bucket: string; S3BucketOwner?: string; S3KeyPrefix?: string };
  readonly InputFormat: InputFormat;
  readonly InputFormatOptions?: { Csv?: { Delimiter?: string; HeaderList?: string[] } };
  readonly InputCompressionType: 'GZIP' | 'ZSTD' | 'NONE';
  readonly TableCreationParameters: Record<string, unknown>;
  readonly startTime: number;
  endTime?: number;
  ProcessedSizeBytes?: number;
  ProcessedItemCount: number;
  ImportedItemCount: number;
  ErrorCount: number;
  FailureCode?: string;
  FailureMessage?: string;
  /** The first errors, as DynamoDB writes them to the import's CloudWatch log stream. */
  errors: ImportErrorEntry[];
}

export type TransferRecord = ExportRecord | ImportRecord;

const seconds = (ms: number): number => ms / 1000;

export function exportDescription(r: ExportRecord): Record<string, unknown> {
  return {
    ExportArn: r.ExportArn,
    ExportStatus: r.ExportStatus,
    StartTime: seconds(r.startTime),
    ...(r.endTime !== undefined ? { EndTime: seconds(r.endTime) } : {}),
    ...(r.ExportManifest ? { ExportManifest: r.ExportManifest } : {}),
    TableArn: r.TableArn,
    TableId: r.TableId,
    // An incremental export is of a window, which IncrementalExportSpecification names.
    ...(r.incremental ? {} : { ExportTime: seconds(r.exportTime) }),
    ClientToken: r.ClientToken,
    S3Bucket: r.destination.S3Bucket,
    ...(r.destination.S3BucketOwner ? { S3BucketOwner: r.destination.S3BucketOwner } : {}),
    ...(r.destination.S3Prefix !== undefined ? { S3Prefix: r.destination.S3Prefix } : {}),
    S3SseAlgorithm: r.destination.S3SseAlgorithm ?? 'AES256',
    ...(r.destination.S3SseKmsKeyId ? { S3SseKmsKeyId: r.destination.S3SseKmsKeyId } : {}),
    ...(r.FailureCode ? { FailureCode: r.FailureCode, FailureMessage: r.FailureMessage ?? '' } : {}),
    ExportFormat: r.ExportFormat,
    ...(r.BilledSizeBytes !== undefined ? { BilledSizeBytes: r.BilledSizeBytes } : {}),
    ...(r.ItemCount !== undefined ? { ItemCount: r.ItemCount } : {}),
    ...(r.ExportType ? { ExportType: r.ExportType } : {}),
    ...(r.incremental
      ? {
          IncrementalExportSpecification: {
            ExportFromTime: seconds(r.incremental.from),
            ExportToTime: seconds(r.incremental.to),
            ExportViewType: r.incremental.view,
          },
        }
      : {}),
  };
}

/** ListExports' summary names the type even when the request did not (as DynamoDB's does). */
export const exportSummary = (r: ExportRecord): Record<string, unknown> => ({
  ExportArn: r.ExportArn,
  ExportStatus: r.ExportStatus,
  ExportType: r.ExportType ?? 'FULL_EXPORT',
});

/** DynamoDB's import log group: /aws-dynamodb/imports (its streams are named after the import). */
export const importLogGroupArn = (r: ImportRecord): string =>
  `arn:aws:logs:${r.region}:${r.accountId}:log-group:/aws-dynamodb/imports:*`;

export function importDescription(r: ImportRecord): Record<string, unknown> {
  return {
    ImportArn: r.ImportArn,
    ImportStatus: r.ImportStatus,
    TableArn: r.TableArn,
    TableId: r.TableId,
    ClientToken: r.ClientToken,
    S3BucketSource: r.S3BucketSource,
    ErrorCount: r.ErrorCount,
    CloudWatchLogGroupArn: importLogGroupArn(r),
    InputFormat: r.InputFormat,
    ...(r.InputFormatOptions ? { InputFormatOptions: r.InputFormatOptions } : {}),
    InputCompressionType: r.InputCompressionType,
    TableCreationParameters: r.TableCreationParameters,
    StartTime: seconds(r.startTime),
    ...(r.endTime !== undefined ? { EndTime: seconds(r.endTime) } : {}),
    ...(r.ProcessedSizeBytes !== undefined ? { ProcessedSizeBytes: r.ProcessedSizeBytes } : {}),
    ProcessedItemCount: r.ProcessedItemCount,
    ImportedItemCount: r.ImportedItemCount,
    ...(r.FailureCode ? { FailureCode: r.FailureCode, FailureMessage: r.FailureMessage ?? '' } : {}),
  };
}

export const importSummary = (r: ImportRecord): Record<string, unknown> => ({
  ImportArn: r.ImportArn,
  ImportStatus: r.ImportStatus,
  TableArn: r.TableArn,
  S3BucketSource: r.S3BucketSource,
  CloudWatchLogGroupArn: importLogGroupArn(r),
  InputFormat: r.InputFormat,
  StartTime: seconds(r.startTime),
  ...(r.endTime !== undefined ? { EndTime: seconds(r.endTime) } : {}),
});
