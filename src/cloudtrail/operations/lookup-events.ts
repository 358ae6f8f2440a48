/**
 * LookupEvents: an account's events, newest first, within a time range (default and limit: the
 * last 90 days), optionally filtered by one lookup attribute, a page of at most 50 at a time.
 */
import { createHash } from 'node:crypto';
import {
  invalidEventCategory,
  invalidLookupAttributes,
  invalidMaxResults,
  invalidNextToken,
  invalidTimeRange,
} from '../errors.js';
import { HOUR_MS } from '../layout.js';
import type { NextTokenCodec, TrailPosition } from '../next-token.js';
import { type CloudTrailRecord, lookupUsername, recordTime } from '../record.js';
import type { TrailSource } from '../trail-source.js';

export const LOOKUP_KEYS = [
  'EventId',
  'EventName',
  'ReadOnly',
  'Username',
  'ResourceType',
  'ResourceName',
  'EventSource',
  'AccessKeyId',
] as const;
export type LookupKey = (typeof LOOKUP_KEYS)[number];

export const MAX_RESULTS = 50;
const RETENTION_MS = 90 * 24 * HOUR_MS;
const MAX_ATTRIBUTE_VALUE = 2000;

export interface LookupAttribute {
  readonly AttributeKey: LookupKey;
  readonly AttributeValue: string;
}

/** The request after the JSON type check (unknown members dropped, timestamps in epoch seconds). */
export interface LookupEventsInput {
  readonly LookupAttributes?: readonly { AttributeKey?: unknown; AttributeValue?: unknown }[];
  readonly StartTime?: number;
  readonly EndTime?: number;
  readonly EventCategory?: string;
  readonly MaxResults?: number;
  readonly NextToken?: string;
}

export interface LookupEvent {
  readonly EventId: string;
  readonly EventName: string;
  readonly ReadOnly: string;
  readonly AccessKeyId?: string;
  /** Epoch seconds, as the JSON protocol sends timestamps. */
  readonly EventTime: number;
  readonly EventSource: string;
  readonly Username?: string;
  readonly Resources: readonly { ResourceType: string; ResourceName: string }[];
  readonly CloudTrailEvent: string;
}

export interface LookupEventsOutput {
  readonly Events: LookupEvent[];
  readonly NextToken?: string;
}

export interface LookupContext {
  readonly source: TrailSource;
  readonly tokens: NextTokenCodec;
  readonly accountId: string;
  readonly now: number;
}

const MATCHERS: Readonly<Record<LookupKey, (record: CloudTrailRecord, value: string) => boolean>> = {
  EventId: (r, v) => r.eventID === v,
  EventName: (r, v) => r.eventName === v,
  ReadOnly: (r, v) => String(r.readOnly) === v,
  Username: (r, v) => lookupUsername(r) === v,
  ResourceType: (r, v) => r.resources?.some((x) => x.type === v) ?? false,
  ResourceName: (r, v) => r.resources?.some((x) => x.ARN === v) ?? false,
  EventSource: (r, v) => r.eventSource === v,
  AccessKeyId: (r, v) => r.userIdentity.accessKeyId === v,
};

/** CloudTrail counts `_`, space, `,` and newline as two characters towards the 2000 limit. */
function attributeValueLength(value: string): number {
  let length = 0;
  for (const ch of value) length += ch === '_' || ch === ' ' || ch === ',' || ch === '\n' ? 2 : 1;
  return length;
}

function checkAttributes(input: LookupEventsInput): LookupAttribute | undefined {
  const list = input.LookupAttributes ?? [];
  if (list.length > 1) throw invalidLookupAttributes('You cannot specify more than one lookup attribute.');
  const [attribute] = list;
  if (!attribute) return undefined;
  const key = attribute.AttributeKey;
  if (typeof key !== 'string' || !(LOOKUP_KEYS as readonly string[]).includes(key)) {
    throw invalidLookupAttributes(
      `${key === undefined ? 'The lookup attribute key is missing' : `'${String(key)}' is not a valid lookup attribute key`}. ` +
        `Valid keys are: ${LOOKUP_KEYS.join(', ')}.`,
    );
  }
  const value = attribute.AttributeValue;
  if (typeof value !== 'string' || value.length === 0) {
    throw invalidLookupAttributes('The lookup attribute value must not be empty.');
  }
  if (attributeValueLength(value) > MAX_ATTRIBUTE_VALUE) {
    throw invalidLookupAttributes(
      `The lookup attribute value cannot be longer than ${MAX_ATTRIBUTE_VALUE} characters.`,
    );
  }
  return { AttributeKey: key as LookupKey, AttributeValue: value };
}

interface TimeRange {
  readonly startMs: number;
  readonly endMs: number;
}

function checkTimeRange(input: LookupEventsInput, now: number): TimeRange {
  const start = input.StartTime;
  const end = input.EndTime;
  if (start !== undefined && end !== undefined && start > end) {
    throw invalidTimeRange('The start time must not be after the end time.');
  }
  // Events older than 90 days are out of reach however far back the request asks.
  return {
    startMs: Math.max(start !== undefined ? start * 1000 : -Infinity, now - RETENTION_MS),
    endMs: end !== undefined ? end * 1000 : now,
  };
}

function checkMaxResults(input: LookupEventsInput): number {
  const max = input.MaxResults;
  if (max === undefined) return MAX_RESULTS;
  if (max < 1 || max > MAX_RESULTS) {
    throw invalidMaxResults(`MaxResults must be between 1 and ${MAX_RESULTS}; ${max} is not.`);
  }
  return max;
}

/** What a NextToken is bound to: the account and every parameter except the page size. */
function tokenBinding(accountId: string, input: LookupEventsInput, attribute: LookupAttribute | undefined): string {
  const params = JSON.stringify([attribute?.AttributeKey, attribute?.AttributeValue, input.StartTime, input.EndTime]);
  return `${accountId}\n${createHash('sha256').update(params).digest('hex')}`;
}

export function toLookupEvent(record: CloudTrailRecord): LookupEvent {
  const username = lookupUsername(record);
  return {
    EventId: record.eventID,
    EventName: record.eventName,
    ReadOnly: String(record.readOnly),
    ...(record.userIdentity.accessKeyId !== undefined ? { AccessKeyId: record.userIdentity.accessKeyId } : {}),
    EventTime: recordTime(record) / 1000,
    EventSource: record.eventSource,
    ...(username !== undefined ? { Username: username } : {}),
    Resources: (record.resources ?? []).map((r) => ({ ResourceType: r.type, ResourceName: r.ARN })),
    CloudTrailEvent: JSON.stringify(record),
  };
}

export async function lookupEvents(context: LookupContext, input: LookupEventsInput): Promise<LookupEventsOutput> {
  const attribute = checkAttributes(input);
  const range = checkTimeRange(input, context.now);
  if (input.EventCategory !== undefined && input.EventCategory !== 'insight') {
    throw invalidEventCategory(
      `'${input.EventCategory}' is not a valid event category. The only valid value is insight.`,
    );
  }
  const max = checkMaxResults(input);
  const binding = tokenBinding(context.accountId, input, attribute);
  let cursor: TrailPosition | undefined;
  if (input.NextToken !== undefined) {
    cursor = context.tokens.decode(input.NextToken, binding);
    if (!cursor) {
      throw invalidNextToken('The NextToken is not valid, or was issued for a request with different parameters.');
    }
  }
  // sealdb records no Insights events: asking for that category finds nothing.
  if (input.EventCategory === 'insight') return { Events: [] };

  const match = attribute ? MATCHERS[attribute.AttributeKey] : undefined;
  const found: { position: TrailPosition; record: CloudTrailRecord }[] = [];
  // Records of an hour were appended within it, so an hour ending before the range holds none of
  // them; one starting after it could only through a clock step, which the extra hour tolerates.
  const hours = (await context.source.hours(context.accountId))
    .filter((h) => h + HOUR_MS > range.startMs && h <= range.endMs + HOUR_MS)
    .filter((h) => !cursor || h <= cursor.hour)
    .sort((a, b) => b - a);
  const filter = {
    ...(attribute ? { attribute: { key: attribute.AttributeKey, value: attribute.AttributeValue } } : {}),
    startMs: range.startMs,
    endMs: range.endMs,
  };
  for (const hour of hours) {
    const before = cursor && hour === cursor.hour ? cursor.index : undefined;
    await context.source.scanHour(
      context.accountId,
      hour,
      { ...(before !== undefined ? { before } : {}), filter },
      (record, index) => {
        const time = recordTime(record);
        if (time < range.startMs || time > range.endMs) return true;
        if (match && attribute && !match(record, attribute.AttributeValue)) return true;
        found.push({ position: { hour, index }, record });
        return found.length <= max;
      },
    );
    if (found.length > max) break;
  }
  const page = found.slice(0, max);
  const last = page.at(-1);
  return {
    Events: page.map((f) => toLookupEvent(f.record)),
    ...(found.length > max && last ? { NextToken: context.tokens.encode(last.position, binding) } : {}),
  };
}
