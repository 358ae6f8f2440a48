/** What the table manager hands the backup side: narrow, typed, and never a file handle. */
import type { DataKeyScope } from '../../encryption/data-keys.js';
import type { TableKeyTarget } from '../../encryption/table-keys.js';
import type { TableDefinition } from '../table-definition.js';
import type { TableStats } from '../table-description.js';

/** A live table lent for the time of one synchronous call (TableManager.lend). */
export interface LentTable {
  readonly definition: TableDefinition;
  readonly target: TableKeyTarget;
  /** The table file's path (every write so far committed to it); over the engine the table id names its rows. */
  readonly file: string;
  readonly stats: TableStats;
  /** Plaintext keys, valid only during the call: copy nothing, wrap with them at once. */
  readonly tableKey: Buffer;
  readonly dataKey: Buffer;
}

/** A table being archived: its key is unusable, so only its file and wrapped data key are at hand. */
export interface ArchivingTable {
  readonly definition: TableDefinition;
  readonly target: TableKeyTarget;
  /** The table file (closed: an inaccessible table's file is not open); over the engine its rows, by table id. */
  readonly file: string;
  readonly wrappedKey: Buffer;
  readonly dataKeyScope: DataKeyScope;
  readonly stats: TableStats;
}

export interface ArchivalBackups {
  /** Makes the archival backup; returns its ARN (undefined when backups cannot be kept, in memory). */
  archive(table: ArchivingTable): Promise<string | undefined>;
}
