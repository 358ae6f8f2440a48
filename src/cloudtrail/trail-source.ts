/**
 * What lookups read and what the audit hook writes: records per account and region (a source is
 * one region's), grouped by the hour they were appended in. Within an hour records keep append
 * order, so `(hour, position)` is a stable place that pagination can resume from.
 */
import type { CloudTrailRecord, Delivery } from './record.js';
import type { RecordFilter } from './record-filter.js';

export interface HourScan {
  /** Only positions below this one (undefined: from the newest record). */
  readonly before?: number;
  /** Lets the source skip records that certainly do not match; the visitor still checks. */
  readonly filter?: RecordFilter;
}

/** Called newest first with each record and its position; returning false stops the scan. */
export type RecordVisitor = (record: CloudTrailRecord, position: number) => boolean;

export interface TrailSource {
  /** Starts of the hours holding records for the account, ascending. */
  hours(accountId: string): Promise<readonly number[]>;
  /**
   * Visits the hour's records newest first. Sources read only what they visit (records are
   * streamed from disk), so a lookup's cost follows the page it returns, not the hour's size.
   */
  scanHour(accountId: string, hour: number, scan: HourScan, visit: RecordVisitor): Promise<void>;
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

/** A scan of an in-memory list of an hour's records (oldest first). */
export function scanList(
  records: readonly CloudTrailRecord[],
  first: number,
  scan: HourScan,
  visit: RecordVisitor,
): boolean {
  const end = scan.before === undefined ? first + records.length : Math.min(scan.before, first + records.length);
  for (let position = end - 1; position >= first; position--) {
    if (!visit(records[position - first] as CloudTrailRecord, position)) return false;
  }
  return true;
}
