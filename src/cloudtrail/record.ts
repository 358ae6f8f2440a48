/**
 * A KMS call event as the CloudTrail record (eventVersion 1.08) each affected account receives:
 * the caller's account always, and the key owner's too when the key belongs to another account
 * (both copies share a `sharedEventID`). Member order follows CloudTrail's records.
 */
import { randomUUID } from 'node:crypto';
import type { KmsCallEvent } from '../kms/index.js';
import { isAccountId, isoSeconds } from './layout.js';

export const EVENT_VERSION = '1.08';
export const KMS_EVENT_SOURCE = 'kms.amazonaws.com';
/** CloudTrail truncates user agents beyond 1 KB. */
const MAX_USER_AGENT = 1024;
/**
 * CloudTrail's record contents reference: requestParameters and responseElements have a maximum
 * size of 100 KB, beyond which their content is omitted; "if a field is truncated, omitted is
 * present with a value of true". The other fields are bounded by the server (identities, key
 * ARNs) or below, so a record stays a few hundred KB at most (the frame bound is 1 MiB), whatever
 * a client sends: a hostile request can neither bloat nor break the trails its record goes to
 * (the caller's and the key owner's).
 */
const MAX_FIELD_BYTES = 100 * 1024;
/** Error messages quote request values (a 9 MB KeyId); kept to 1 KB like user agents. */
const MAX_ERROR_MESSAGE = 1024;
const OMITTED = Object.freeze({ omitted: true });

export interface UserIdentity {
  readonly type: 'Root' | 'IAMUser' | 'AWSService';
  readonly principalId?: string;
  readonly arn?: string;
  readonly accountId?: string;
  readonly accessKeyId?: string;
  readonly userName?: string;
  readonly invokedBy?: string;
}

export interface RecordResource {
  readonly ARN: string;
  readonly accountId: string;
  readonly type: string;
}

export interface CloudTrailRecord {
  readonly eventVersion: string;
  readonly userIdentity: UserIdentity;
  readonly eventTime: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly awsRegion: string;
  readonly sourceIPAddress: string;
  readonly userAgent: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestParameters: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly additionalEventData?: Record<string, unknown>;
  readonly requestID: string;
  readonly eventID: string;
  readonly readOnly: boolean;
  readonly resources?: readonly RecordResource[];
  readonly eventType: 'AwsApiCall';
  readonly managementEvent: true;
  readonly recipientAccountId: string;
  readonly sharedEventID?: string;
  readonly eventCategory: 'Management';
}

/** One record for one account's trail. */
export interface Delivery {
  readonly accountId: string;
  readonly record: CloudTrailRecord;
}

function userIdentity(event: KmsCallEvent): UserIdentity {
  const p = event.principal;
  // DynamoDB acting on its own (GenerateDataKey for a new table key) shows only the service.
  if (p.type === 'AWSService') return { type: 'AWSService', invokedBy: event.invokedBy ?? p.principalId };
  return {
    type: p.type,
    principalId: p.principalId,
    arn: p.arn,
    accountId: p.accountId,
    ...(p.accessKeyId !== undefined ? { accessKeyId: p.accessKeyId } : {}),
    ...(p.type === 'IAMUser' && p.userName !== undefined ? { userName: p.userName } : {}),
    ...(event.invokedBy !== undefined ? { invokedBy: event.invokedBy } : {}),
  };
}

/** The accounts whose trails get the event: the caller's, then each other key owner's. */
function recipients(event: KmsCallEvent): string[] {
  const accounts = [event.principal.accountId, event.keyOwnerAccountId, ...event.resources.map((r) => r.accountId)];
  // A service principal without an account, or anything else that is not an account id, has no trail.
  return [...new Set(accounts.filter(isAccountId))];
}

export function toDeliveries(event: KmsCallEvent, newId: () => string = randomUUID): Delivery[] {
  const accounts = recipients(event);
  const sharedEventID = accounts.length > 1 ? newId() : undefined;
  const base = {
    eventVersion: EVENT_VERSION,
    userIdentity: userIdentity(event),
    eventTime: isoSeconds(event.eventTime),
    eventSource: KMS_EVENT_SOURCE,
    eventName: event.eventName,
    awsRegion: event.region,
    sourceIPAddress: event.invokedBy ?? event.sourceIp,
    userAgent: event.userAgent.slice(0, MAX_USER_AGENT),
    ...(event.errorCode !== undefined ? { errorCode: event.errorCode.slice(0, MAX_USER_AGENT) } : {}),
    ...(event.errorMessage !== undefined ? { errorMessage: event.errorMessage.slice(0, MAX_ERROR_MESSAGE) } : {}),
    requestParameters: bounded(event.requestParameters),
    // CloudTrail never shows responses of read-only calls.
    responseElements: event.readOnly ? null : bounded(event.responseElements),
    ...(event.additionalEventData !== undefined ? { additionalEventData: bounded(event.additionalEventData) } : {}),
  };
  return accounts.map((accountId) => ({
    accountId,
    record: {
      ...base,
      requestID: event.requestId,
      eventID: newId(),
      readOnly: event.readOnly,
      ...(event.resources.length > 0
        ? { resources: event.resources.map((r) => ({ ARN: r.ARN, accountId: r.accountId, type: r.type })) }
        : {}),
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: accountId,
      ...(sharedEventID !== undefined ? { sharedEventID } : {}),
      eventCategory: 'Management',
    },
  }));
}

function bounded<T extends Record<string, unknown> | null>(field: T): T | typeof OMITTED {
  if (field === null) return field;
  return Buffer.byteLength(JSON.stringify(field), 'utf8') > MAX_FIELD_BYTES ? OMITTED : field;
}

/** Epoch milliseconds of a record's `eventTime`. */
export const recordTime = (record: CloudTrailRecord): number => Date.parse(record.eventTime);

/** What LookupEvents calls the user: the IAM user name, `root`, or nothing for a service. */
export function lookupUsername(record: CloudTrailRecord): string | undefined {
  const identity = record.userIdentity;
  if (identity.type === 'IAMUser') return identity.userName;
  if (identity.type === 'Root') return 'root';
  return undefined;
}
