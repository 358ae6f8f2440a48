/**
 * A deleted table's streams stay readable for 24 hours, DISABLED: "If you have DynamoDB Streams
 * enabled on the table, then the corresponding stream on that table goes into the DISABLED state,
 * and the stream is automatically deleted after 24 hours" (DynamoDB API reference, DeleteTable:
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_DeleteTable.html).
 *
 * Such a table keeps its file and its key; its catalog entry is re-filed under a name no table can
 * have (table names are [a-zA-Z0-9_.-]{3,255}, so `#` never clashes), so a new table of the same
 * name can be created at once while the old stream is still read. Listings and background table
 * work skip these entries; the stream trimmer removes them 24 hours after the delete.
 */
import type { TableDefinition } from '../dynamodb/table-definition.js';
import { type StreamDefinition, streamExpired } from './definition.js';

export const RETIRED_PREFIX = '#deleted#';

/** The catalog name of a deleted table kept for its streams. */
export const retiredName = (tableId: string): string => `${RETIRED_PREFIX}${tableId}`;

export const isRetired = (catalogName: string): boolean => catalogName.startsWith(RETIRED_PREFIX);

/**
 * The streams a DeleteTable keeps (the enabled one and those disabled whose records are younger
 * than 24 hours), each DISABLED as of now; undefined when none is readable (the table goes at once).
 */
export function retainedStreams(definition: TableDefinition, now: number): StreamDefinition[] | undefined {
  const kept = (definition.Streams ?? [])
    .filter((stream) => !streamExpired(stream, now))
    .map((stream) => ({ ...stream, DisabledAt: stream.DisabledAt ?? now, TableDeletedAt: now }));
  return kept.length > 0 ? kept : undefined;
}

/**
 * A retired entry goes once none of its streams is readable: at the latest 24 hours after the
 * delete (every stream was disabled at or before it), earlier when they were disabled before.
 */
export const retiredExpired = (definition: TableDefinition, now: number): boolean =>
  (definition.Streams ?? []).every((stream) => streamExpired(stream, now));
