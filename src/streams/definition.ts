/**
 * What sealdb keeps about a table's DynamoDB Streams (part of the table's catalog definition):
 * the specification DescribeTable shows and every stream still readable. Each stream's records
 * live in a keyspace of the table's own encrypted file, so they share its keys and its fate.
 */

export type StreamViewType = 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY';

export interface StreamSpecification {
  StreamEnabled: boolean;
  StreamViewType?: StreamViewType;
}

export interface StreamDefinition {
  /** DynamoDB's label: the creation time as ISO 8601 with milliseconds and no zone, unique per table. */
  StreamLabel: string;
  StreamViewType: StreamViewType;
  /** The keyspace of this stream's records in the table file (from NextIndexSpace: never reused). */
  Space: number;
  /** epoch ms; shards roll over every SHARD_ROLL_MS from here. */
  CreatedAt: number;
  /** epoch ms; absent while the stream takes records. */
  DisabledAt?: number;
  /** epoch ms: the table was deleted (the stream stays readable for 24 hours, DISABLED). */
  TableDeletedAt?: number;
}

/** The stream fields of a table definition. */
export interface TableStreams {
  /** Present once a stream was asked for (enabled, or disabled after being enabled). */
  StreamSpecification?: StreamSpecification;
  /** Oldest first; the last is the latest (LatestStreamArn). Old ones go once their records expired. */
  Streams?: StreamDefinition[];
}

/** A new shard every 4 hours of the clock (DynamoDB rolls shards over about that often). */
export const SHARD_ROLL_MS = 4 * 60 * 60 * 1000;
/** DynamoDB keeps stream records 24 hours. */
export const RETENTION_MS = 24 * 60 * 60 * 1000;
/** A shard iterator expires 15 minutes after GetShardIterator returned it (DynamoDB Streams API reference). */
export const ITERATOR_TTL_MS = 15 * 60 * 1000;

export const streamArn = (tableArn: string, label: string): string => `${tableArn}/stream/${label}`;

/** `2015-05-11T21:21:33.291`, as DynamoDB labels streams. */
export const streamLabel = (epochMs: number): string => new Date(epochMs).toISOString().slice(0, -1);

/**
 * How long a stream shows ENABLING after it is enabled and DISABLING after it is disabled. The
 * API reference lists both states (StreamDescription.StreamStatus: "ENABLING - Streams is
 * currently being enabled on the DynamoDB table", "DISABLING - ... being disabled"); DynamoDB
 * settles them within seconds. A short window of the clock, as for TTL (ttl/state.ts), so a
 * poller can see them and a test can move past them.
 */
export const STREAM_TRANSITION_MS = 1_000;

export type StreamStatus = 'ENABLING' | 'ENABLED' | 'DISABLING' | 'DISABLED';

export function streamStatus(stream: StreamDefinition, now: number): StreamStatus {
  if (stream.DisabledAt === undefined) return now - stream.CreatedAt < STREAM_TRANSITION_MS ? 'ENABLING' : 'ENABLED';
  // A deleted table's stream is DISABLED at once: nothing is being switched off.
  if (stream.TableDeletedAt !== undefined) return 'DISABLED';
  return now - stream.DisabledAt < STREAM_TRANSITION_MS ? 'DISABLING' : 'DISABLED';
}

/** The stream that takes the table's writes now, if any. */
export function enabledStream(streams: TableStreams): StreamDefinition | undefined {
  const latest = streams.Streams?.at(-1);
  return latest && latest.DisabledAt === undefined ? latest : undefined;
}

/** A disabled stream is readable until its last records expired. */
export const streamExpired = (stream: StreamDefinition, now: number): boolean =>
  stream.DisabledAt !== undefined && now - stream.DisabledAt >= RETENTION_MS;
