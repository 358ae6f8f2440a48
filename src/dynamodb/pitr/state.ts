/**
 * What sealdb keeps about a table's point-in-time recovery (part of the table's catalog
 * definition), and the ContinuousBackupsDescription DynamoDB answers with.
 *
 * History is a chain of snapshots of the table file (taken on a worker thread, see
 * storage/snapshot.ts) plus the table's own change log: an append-only record log of the table
 * file with a record per item write, written in the same SQLite transaction as the item
 * (change-log.ts). A
 * table's history covers every instant from its earliest restorable time (when PITR was last
 * enabled, or the start of the recovery window) to now; restores take instants up to
 * LatestRestorableDateTime, 5 minutes before now as DynamoDB's (`restorableWindow`).
 *
 * This module is the interface other features use (ExportTableToPointInTime): read a table's
 * state with `continuousBackupsOf` / `restorableWindow`, get a consistent image of a past second
 * from PitrManager.image (manager.ts).
 */
/** One snapshot of the table file, under a data key derived from the table's own (snapshot-key.ts). */
export interface PitrSnapshot {
  /** Names the snapshot's file (pitr/<fileId>.db). */
  readonly fileId: string;
  /** epoch ms: the snapshot holds every write answered before this, none made after. */
  readonly takenAt: number;
  /** false while its copy runs (a restore from it waits for the copy). */
  readonly ready: boolean;
  readonly bytes: number;
}

export interface PointInTimeRecoveryState {
  readonly Enabled: boolean;
  /** 1–35; DynamoDB's default is 35. */
  readonly RecoveryPeriodInDays: number;
  /** epoch ms since which history is kept (the first snapshot's time); unset while it is taken. */
  readonly EnabledAt?: number;
  /**
   * The number of the change log (a record log of the table file), from NextIndexSpace as every
   * index's and stream's Space is: never reused, never a stream log's number.
   */
  readonly Space?: number;
  /** epoch ms the change log's positions count from (change-log.ts): when this enablement began. */
  readonly LogStart?: number;
  /** Oldest first. */
  readonly Snapshots?: readonly PitrSnapshot[];
  /** Numbers of change logs left by an earlier enablement, still being dropped. */
  readonly RetiredSpaces?: readonly number[];
}

/** The PITR field of a table definition. */
export interface TablePitr {
  PointInTimeRecovery?: PointInTimeRecoveryState;
}

export const DEFAULT_RECOVERY_PERIOD_DAYS = 35;
export const DAY_MS = 24 * 60 * 60 * 1000;

/** The state of a table whose PITR is on and whose history has begun; undefined otherwise. */
export function enabledPitr(table: TablePitr): (PointInTimeRecoveryState & { EnabledAt: number }) | undefined {
  const state = table.PointInTimeRecovery;
  return state?.Enabled && state.EnabledAt !== undefined
    ? (state as PointInTimeRecoveryState & { EnabledAt: number })
    : undefined;
}

/**
 * How far LatestRestorableDateTime stays behind the current time: "LatestRestorableDateTime is
 * typically 5 minutes before the current time" (DynamoDB API Reference,
 * PointInTimeRecoveryDescription; the Developer Guide's "Enable point-in-time recovery in
 * DynamoDB" says the same). sealdb's change log is written with each write, so it could restore
 * to now; it answers as DynamoDB does, so code written against sealdb holds against DynamoDB.
 */
export const LATEST_RESTORABLE_LAG_MS = 5 * 60 * 1000;

/** The instants the table's history covers (epoch ms, both inclusive): its enablement or the window start, to now. */
export function historyWindow(table: TablePitr, now: number): { earliest: number; latest: number } | undefined {
  const state = enabledPitr(table);
  if (!state) return undefined;
  const earliest = Math.max(state.EnabledAt, now - state.RecoveryPeriodInDays * DAY_MS);
  return { earliest: Math.min(earliest, now), latest: now };
}

/**
 * The instants a table can be restored to (epoch ms, both inclusive): EarliestRestorableDateTime
 * is the later of the enablement and the start of the recovery window; LatestRestorableDateTime
 * is 5 minutes before now, but never before the earliest: right after PITR is enabled, the one
 * restorable instant is the enablement ("you can only immediately restore that table using the
 * LatestRestorableDateTime", Developer Guide, "Restore a table in DynamoDB").
 */
export function restorableWindow(table: TablePitr, now: number): { earliest: number; latest: number } | undefined {
  const history = historyWindow(table, now);
  if (!history) return undefined;
  return { earliest: history.earliest, latest: Math.max(history.earliest, now - LATEST_RESTORABLE_LAG_MS) };
}

/**
 * DescribeContinuousBackups' ContinuousBackupsDescription. Continuous backups are ENABLED on
 * every table ("Continuous backups are ENABLED on all tables at table creation", model
 * documentation of DescribeContinuousBackups), except on an in-memory sealdb, which keeps none.
 * Dates in epoch seconds with milliseconds, as DynamoDB's JSON carries them.
 */
export function continuousBackupsOf(table: TablePitr, now: number, inMemory = false) {
  if (inMemory) {
    return {
      ContinuousBackupsStatus: 'DISABLED',
      PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' },
    };
  }
  const state = table.PointInTimeRecovery;
  const window = restorableWindow(table, now);
  return {
    ContinuousBackupsStatus: 'ENABLED',
    PointInTimeRecoveryDescription:
      state?.Enabled && window
        ? {
            PointInTimeRecoveryStatus: 'ENABLED',
            RecoveryPeriodInDays: state.RecoveryPeriodInDays,
            EarliestRestorableDateTime: window.earliest / 1000,
            LatestRestorableDateTime: window.latest / 1000,
          }
        : state?.Enabled
          ? // Being enabled: the first snapshot is being pinned (a moment).
            { PointInTimeRecoveryStatus: 'ENABLED', RecoveryPeriodInDays: state.RecoveryPeriodInDays }
          : { PointInTimeRecoveryStatus: 'DISABLED' },
  };
}
