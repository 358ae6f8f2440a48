/**
 * What lookups read and what the audit hook writes: records per account and region (a source is
 * one region's), grouped by the hour they were appended in. Within an hour records keep append order, so `(hour, index)` is a stable
 * position that pagination can resume from.
 */
import type { CloudTrailRecord, Delivery } from './record.js';

export interface TrailSource {
  /** Starts of the hours holding records for the account, ascending. */
  hours(accountId: string): Promise<readonly number[]>;
  /** The hour's records in append order (oldest first). */
  readHour(accountId: string, hour: number): Promise<readonly CloudTrailRecord[]>;
}

/** Every region's trails; a record goes to the trail of its account and its `awsRegion`. */
export interface TrailStore {
  /** The trails of one region, as lookups in that region see them. */
  inRegion(region: string): TrailSource;
  /** Resolves once every delivery is durably stored. */
  append(deliveries: readonly Delivery[]): Promise<void>;
  /** Closes hours the clock has left and writes their digests (also done lazily on append). */
  closeFinishedHours(): Promise<void>;
  close(): Promise<void>;
}
