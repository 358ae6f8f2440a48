/**
 * DynamoDB's SSESpecification (which key protects a table) and SSEDescription
 * (what DescribeTable says about it), with the real service's messages.
 */
import type { KeyChoice } from '../encryption/table-keys.js';
import { invalidParameter, limitExceeded } from './errors.js';
import type { TableDefinition } from './table-definition.js';

export interface SseSpecification {
  Enabled?: boolean;
  SSEType?: 'AES256' | 'KMS';
  KMSMasterKeyId?: string;
}

/** omitted or Enabled:false → AWS owned key; Enabled:true → `alias/aws/dynamodb`; a KMSMasterKeyId → that key. */
export function keyChoice(spec: SseSpecification | undefined): KeyChoice {
  if (!spec) return { kind: 'OWNED' };
  if (spec.SSEType === 'AES256') throw invalidParameter('SSEType AES256 is not supported');
  if (spec.KMSMasterKeyId !== undefined && spec.SSEType !== 'KMS') {
    throw invalidParameter('SSEType KMS is required if KMSMasterKeyId is specified');
  }
  if (spec.Enabled !== true) {
    if (spec.KMSMasterKeyId !== undefined) {
      throw invalidParameter('KMSMasterKeyId can only be specified when server-side encryption is enabled');
    }
    return { kind: 'OWNED' };
  }
  return spec.KMSMasterKeyId !== undefined ? { kind: 'CUSTOMER', keyId: spec.KMSMasterKeyId } : { kind: 'MANAGED' };
}

export interface SseDescription {
  Status: 'ENABLED' | 'UPDATING';
  SSEType: 'KMS';
  KMSMasterKeyArn: string;
  InaccessibleEncryptionDateTime?: number;
}

/**
 * The SSEDescription of a table: absent for the AWS owned key. `updating` describes a key
 * switch being reported: a move to the owned key still names the key being left.
 */
export function sseDescription(definition: TableDefinition, updating = false): SseDescription | undefined {
  const arn = definition.TableKey.kmsKeyArn ?? (updating ? definition.PreviousKmsKeyArn : undefined);
  if (!arn) return undefined;
  return {
    Status: updating ? 'UPDATING' : 'ENABLED',
    SSEType: 'KMS',
    KMSMasterKeyArn: arn,
    ...(definition.InaccessibleSince !== undefined
      ? { InaccessibleEncryptionDateTime: definition.InaccessibleSince / 1000 }
      : {}),
  };
}

export interface EncryptionChangeLimit {
  /** Changes allowed freely in a 24-hour window (DynamoDB: 4). */
  readonly perDay: number;
  /** After those, the least time between changes (DynamoDB: 6 hours). */
  readonly intervalMs: number;
}

export const DYNAMODB_ENCRYPTION_CHANGE_LIMIT: EncryptionChangeLimit = { perDay: 4, intervalMs: 6 * 60 * 60 * 1000 };

const DAY_MS = 24 * 60 * 60 * 1000;

/** DynamoDB's limit on encryption-key changes: 4 in 24 hours, then one every 6 hours. */
export function checkEncryptionChangeLimit(
  definition: TableDefinition,
  now: number,
  limit: EncryptionChangeLimit,
): void {
  const recent = definition.SseChanges.filter((t) => now - t < DAY_MS).sort((a, b) => a - b);
  if (recent.length < limit.perDay) return;
  const last = recent[recent.length - 1] as number;
  if (now - last >= limit.intervalMs) return;
  const windowEnd = new Date((recent[0] as number) + DAY_MS).toISOString();
  throw limitExceeded(
    `Subscriber limit exceeded: Encryption mode changes are limited in the 24h window ending at ${windowEnd}. ` +
      `After the first ${limit.perDay} change, each subsequent change in the same window can be performed at most once every ` +
      `${Math.round(limit.intervalMs / 1000)} seconds. Number of updates today: ${recent.length}`,
  );
}
