/**
 * Point-in-time recovery: enabling and disabling it, the snapshots its history starts from, the
 * trimming of history past the recovery window, images of a table at a past instant, and
 * restores from them.
 *
 * History = snapshots of the table (storage/pitr-snapshots.ts: a copy of the table file on a
 * worker thread, or of its rows in the engine; each under a key derived from the table's data
 * key, snapshot-key.ts) + the change log in the table's store (change-log.ts). The image at T is the newest snapshot taken at or before T with the logged
 * changes up to T that it does not hold laid over it. A snapshot is taken when PITR is enabled
 * and then every `snapshotIntervalMs` (clock-driven, by `pass`), so a restore replays at most
 * that much log. `pass` also trims: snapshots older than the one the recovery window starts
 * from go, and so does the log they hold.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fenced } from '../../cluster/job-leases.js';
import type { Clock } from '../../core/clock.js';
import type { Scope } from '../../core/scope.js';
import { KeyAccessError } from '../../encryption/key-access-error.js';
import type { KeyCaller, KeyChoice } from '../../encryption/table-keys.js';
import {
  inUnit,
  oncePerUnit,
  outsideUnit,
  unitIdentity,
  whenCommitted,
  whenRolledBack,
} from '../../storage/backend.js';
import { type BackupReader, groupsOf } from '../../storage/backup-storage.js';
import { DamagedFileError } from '../../storage/damage.js';
import type { PitrSnapshotCopy, PitrSnapshotImage, PitrSnapshotStorage } from '../../storage/pitr-snapshots.js';
import type { ItemKey, StoredItem } from '../../storage/table-file.js';
import { restoreTargetTaken, tableNotFound } from '../backups/errors.js';
import { fillInBackground } from '../backups/fill.js';
import type { LentTable } from '../backups/lent-table.js';
import { type RestoredTable, sameKeyAs } from '../backups/manager.js';
import type { RestoreJobs } from '../backups/restore-leases.js';
import { kmsValidationError } from '../kms-errors.js';
import type { TableDefinition } from '../table-definition.js';
import type { TableManager } from '../tables.js';
import { changeLogOf, changesBetween, decodeChange, trimBefore } from './change-log.js';
import { continuousBackupsUnavailable, invalidRestoreTime, pitrNotKept, pitrUnavailable } from './errors.js';
import { snapshotKey } from './snapshot-key.js';
import {
  DAY_MS,
  DEFAULT_RECOVERY_PERIOD_DAYS,
  enabledPitr,
  historyWindow,
  type PitrSnapshot,
  type PointInTimeRecoveryState,
  restorableWindow,
} from './state.js';

export interface PitrManagerOptions {
  /** Where snapshots are kept (the data directory, or the engine). */
  readonly snapshots: PitrSnapshotStorage;
  readonly clock: Clock;
  /** How often a new snapshot starts (clock time; default 24 hours): a restore replays at most this much log. */
  readonly snapshotIntervalMs?: number;
  /** Told when a snapshot or a restore fails after its call was answered. */
  readonly onError?: (error: unknown) => void;
  /** Most work per slice of a restore before yielding to requests (default 8 ms). */
  readonly sliceMs?: number;
  /** Restores as jobs (shared with the backups'): a restore whose process died leaves no CREATING table. */
  readonly restores: RestoreJobs;
}

/** A table as it was at one instant: read-only, consistent, valid until `close`. */
export interface PitrImage {
  /** The source table's current definition (DynamoDB restores with the source's current settings). */
  readonly definition: TableDefinition;
  /** epoch ms */
  readonly at: number;
  /**
   * Every item of the table at `at`, each once (snapshot order, then the items changed since):
   * an iterator over a snapshot file, read in groups over the engine.
   */
  readonly items: IterableIterator<StoredItem> | Pick<BackupReader, 'read'>;
  close(): void;
}

/** One item's change over an incremental export's window (PitrManager.changes). */
export interface WindowChange {
  readonly hash: number;
  readonly pk: Buffer;
  readonly sk: Buffer;
  /** Microseconds since the epoch of the item's last write in the window. */
  readonly micros: number;
  /** The item at the window's end; absent: deleted. */
  readonly item?: StoredItem;
  /** The item just before the window began; absent: it did not exist. */
  old?: StoredItem;
}

/** The changes of a window, valid until `close`. */
export interface PitrChanges {
  readonly definition: TableDefinition;
  /** `undefined` entries carry no change: the reader may yield there. */
  readonly changes: AsyncIterator<WindowChange | undefined>;
  close(): void;
}

/**
 * Log records are stamped when their write is derived; one made just before a snapshot was
 * pinned may commit just after (a cross-file transaction's staged writes). Records this close
 * before a snapshot are looked up in the snapshot's own copy of the log instead of assumed in it.
 */
const PIN_SLACK_MS = 60_000;
const DEFAULT_SNAPSHOT_INTERVAL_MS = DAY_MS;
const TRIM_SLICE = 500;
const TRIM_SLICES_PER_PASS = 40;
/** Over the engine: the longest a finished copy waits for the unit recording its snapshot to commit. */
const RECORD_WAIT_MS = 30_000;
/** Unref'd: a wait cut short by the race it is in must not keep a stopped process alive (30 s). */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export class PitrManager {
  readonly #options: PitrManagerOptions;
  /** Snapshot copies running, by file id. */
  readonly #copies = new Map<string, Promise<void>>();
  /** Readers of each snapshot file (images being read): not removed while read. */
  readonly #readers = new Map<string, number>();
  readonly #jobs = new Set<Promise<void>>();
  readonly #snapshots: PitrSnapshotStorage;
  /** The copies followed to their end (a request run again finds its first run's copy here). */
  readonly #tracked = new WeakSet<PitrSnapshotCopy>();
  /** Called once the unit recording a copy's snapshot has ended (committed or failed for good). */
  readonly #recorded = new WeakMap<PitrSnapshotCopy, () => void>();
  /** Over a shared engine: snapshots no table referred to at the last pass (another node's copy may be starting). */
  #suspects = new Set<string>();
  /** Over the engine: each table's log bytes as the last pass counted them (counting is a fetch). */
  readonly #logBytes = new Map<string, number>();
  #closing = false;

  constructor(options: PitrManagerOptions) {
    this.#options = options;
    this.#snapshots = options.snapshots;
  }

  /** An in-memory sealdb keeps no history. */
  get inMemory(): boolean {
    return !this.#snapshots.available;
  }

  /**
   * After a start: snapshots whose copy the last process did not finish are partial; they go
   * (the next pass takes a new one if a table is left without).
   */
  recover(tables: TableManager): void {
    // Over a shared engine another node may be copying them (a pass drops those left unready).
    if (!this.#snapshots.unfinishedAreOurs) return;
    for (const { scope, name, definition } of readableTables(tables)) {
      const state = definition.PointInTimeRecovery;
      const unfinished = (state?.Snapshots ?? []).filter((s) => !s.ready);
      if (!state || unfinished.length === 0) continue;
      for (const snapshot of unfinished) this.#remove(snapshot.fileId);
      this.#updateState(tables, scope, name, definition.TableId, (current) => ({
        ...current,
        Snapshots: (current.Snapshots ?? []).filter((s) => s.ready),
      }));
    }
  }

  /** UpdateContinuousBackups. Enabling takes the first snapshot (pinned before this answers). */
  async update(
    tables: TableManager,
    account: string,
    name: string,
    enabled: boolean,
    periodDays: number | undefined,
    caller: KeyCaller,
  ): Promise<TableDefinition> {
    if (this.inMemory) throw pitrNotKept();
    const table = tables.find(account, name);
    if (!table) throw tableNotFound(name);
    if (table.TableStatus !== 'ACTIVE') throw continuousBackupsUnavailable(name);
    const state = table.PointInTimeRecovery;
    if (!enabled) {
      if (!state?.Enabled) return table;
      const updated = tables.update(account, name, (current) => ({
        ...current,
        PointInTimeRecovery: retired(current.PointInTimeRecovery ?? state),
      }));
      this.#removeUnread(state.Snapshots ?? []);
      return updated;
    }
    // "If no value is provided, the value will default to 35" (model: RecoveryPeriodInDays).
    const period = periodDays ?? DEFAULT_RECOVERY_PERIOD_DAYS;
    if (state?.Enabled) {
      return tables.update(account, name, (current) => ({
        ...current,
        PointInTimeRecovery: { ...(current.PointInTimeRecovery ?? state), RecoveryPeriodInDays: period },
      }));
    }
    // The log starts now, a record log of its own; history starts with the snapshot's pin.
    const logStart = this.#options.clock.now();
    tables.update(account, name, (current) => {
      const space = freeSpace(current);
      return {
        ...current,
        NextIndexSpace: space + 1,
        PointInTimeRecovery: {
          Enabled: true,
          RecoveryPeriodInDays: period,
          Space: space,
          LogStart: logStart,
          Snapshots: [],
          ...(current.PointInTimeRecovery?.RetiredSpaces
            ? { RetiredSpaces: current.PointInTimeRecovery.RetiredSpaces }
            : {}),
        },
      };
    });
    const scope: Scope = { accountId: account, region: tables.region };
    try {
      await this.#snapshot(tables, scope, name, table.TableId, (use) => tables.lend(account, name, caller, use));
    } catch (error) {
      // Not enabled after all: nothing of this enablement is kept but its (empty) log.
      tables.update(account, name, (current) =>
        current.TableId === table.TableId && current.PointInTimeRecovery
          ? { ...current, PointInTimeRecovery: retired(current.PointInTimeRecovery) }
          : current,
      );
      throw error;
    }
    return tables.describe(account, name);
  }

  /** The table's PITR history as it stands now (what `image` and `changes` read); refused without one. */
  #history(tables: TableManager, account: string, name: string) {
    const definition = tables.find(account, name);
    if (!definition) throw tableNotFound(name);
    const state = enabledPitr(definition);
    const changeLog = changeLogOf(state);
    if (!state || !changeLog) throw pitrUnavailable(name);
    const now = this.#options.clock.now();
    return { definition, state, changeLog, window: historyWindow(definition, now), now };
  }

  /**
   * A consistent read-only image of the table at `at` (epoch ms), read with the caller's access
   * to the table's key (a disabled or deleted key fails here, as the table's own reads do).
   * InvalidRestoreTimeException outside the history (EarliestRestorableDateTime to now).
   */
  async image(
    tables: TableManager,
    account: string,
    name: string,
    at: number,
    caller: KeyCaller,
    only?: readonly ItemKey[],
  ): Promise<PitrImage> {
    const { definition, state, changeLog, window, now } = this.#history(tables, account, name);
    // The history's own bounds: a restore has already held `at` to LatestRestorableDateTime, an
    // export may ask for any instant up to now.
    if (!window || at < window.earliest || at > window.latest) {
      throw invalidRestoreTime(at, window?.earliest ?? now, window?.latest ?? now);
    }
    // A snapshot another node is still copying (over the engine) is not read: an older one is.
    const snapshot = [...(state.Snapshots ?? [])]
      .reverse()
      .find((s) => s.takenAt <= at && (s.ready || this.#copies.has(s.fileId)));
    if (!snapshot) throw invalidRestoreTime(at, window.earliest, window.latest);
    this.#read(snapshot.fileId, +1);
    let opened: PitrSnapshotImage | undefined;
    try {
      await this.#copies.get(snapshot.fileId);
      const { store } = await tables.open(account, name, caller);
      const key = await tables.lend(account, name, caller, (lent) => snapshotKey(lent.dataKey, snapshot.fileId));
      try {
        opened = await this.#snapshots.open(snapshot.fileId, key, changeLog.log);
      } finally {
        key.fill(0);
      }
      const inSnapshot = opened.holds;
      // The final state at `at` of every item changed since the snapshot (null: deleted).
      const changed = new Map<string, StoredItem | null>();
      for (const record of changesBetween(store, changeLog, snapshot.takenAt - PIN_SLACK_MS, at)) {
        if (inSnapshot(record.position)) continue;
        const change = decodeChange(changeLog, record);
        changed.set(itemId(change), change.item ?? null);
      }
      const image = opened;
      // `only`: those items alone, each looked up where the snapshot can (the changed ones, else
      // in the snapshot), so the cost follows the keys asked for, not the table's size.
      const items =
        only && image.lookup
          ? looked(only, changed, image.lookup)
          : 'read' in image.items
            ? overlaidReader(image.items, changed, only)
            : overlaid(image.items, changed, only);
      let closed = false;
      return {
        definition,
        at,
        items,
        close: () => {
          if (closed) return;
          closed = true;
          if (!('read' in items)) items.return?.();
          // An export closed before it read a row (no bucket) has a statement open that the
          // generator never started on: the connection refuses to close while it is open.
          image.close();
          this.#read(snapshot.fileId, -1);
        },
      };
    } catch (error) {
      opened?.close();
      this.#read(snapshot.fileId, -1);
      throw error;
    }
  }

  /**
   * The items changed from `from` (inclusive) to `to` (exclusive, epoch ms), compacted to one
   * change per item as an incremental export shows them: the item as it was just before `from`
   * (`old`, absent if it did not exist), as it is just before `to` (`item`, absent if deleted),
   * and the instant of its last write in the window. The old images come from the image of the
   * table just before `from`, of the changed items alone (looked up by key: the cost follows the
   * window's changes and the log since the snapshot, not the table's size); `undefined` is
   * yielded every few hundred lookups so a reader working in slices can yield between them.
   */
  async changes(
    tables: TableManager,
    account: string,
    name: string,
    from: number,
    to: number,
    caller: KeyCaller,
  ): Promise<PitrChanges> {
    const { definition, changeLog, window } = this.#history(tables, account, name);
    if (!window || from < window.earliest || to > window.latest) {
      throw invalidRestoreTime(from, window?.earliest ?? from, window?.latest ?? to);
    }
    const { store } = await tables.open(account, name, caller);
    // The final state of each item written in the window, in the log's (commit) order.
    const changed = new Map<string, WindowChange>();
    for (const record of changesBetween(store, changeLog, from, to - 1)) {
      const change = decodeChange(changeLog, record);
      const id = itemId(change);
      const micros = change.time * 1000 + Math.min(record.position % 4096, 999);
      changed.delete(id);
      changed.set(id, {
        hash: change.hash,
        pk: Buffer.from(change.pk),
        sk: Buffer.from(change.sk),
        micros,
        ...(change.item ? { item: { ...change.item, body: Buffer.from(change.item.body) } } : {}),
      });
    }
    if (changed.size === 0) return { definition, changes: (async function* () {})(), close: () => undefined };
    // Just before `from` (the image at T holds the writes stamped up to T).
    const keys = [...changed.values()].map(({ hash, pk, sk }) => ({ hash, pk, sk }));
    const before = await this.image(tables, account, name, Math.max(window.earliest, from - 1), caller, keys);
    const read = groupsOf(before.items);
    const changes = (async function* (): AsyncGenerator<WindowChange | undefined> {
      // In groups: a snapshot file's lookups, or the engine's snapshot rows read in pages.
      for (;;) {
        const group = await read(256);
        if (group.length === 0) break;
        for (const row of group) {
          const change = changed.get(itemId(row));
          if (change) change.old = row;
        }
        yield undefined;
      }
      before.close();
      yield* changed.values();
    })();
    return {
      definition,
      changes,
      close: () => {
        void changes.return(undefined);
        before.close();
      },
    };
  }

  /** RestoreTableToPointInTime: the new table is CREATING until every item of the image is in. */
  async restore(
    tables: TableManager,
    account: string,
    sourceName: string,
    at: number,
    table: RestoredTable,
    choice: KeyChoice | undefined,
    caller: KeyCaller,
  ): Promise<TableDefinition> {
    const taken = tables.find(account, table.TableName);
    if (taken) throw restoreTargetTaken(taken);
    const restores = this.#options.restores;
    const owner = unitIdentity();
    const fence = await restores.begin(account, tables.region, table.TableName, owner);
    let image: PitrImage;
    try {
      image = await this.image(tables, account, sourceName, at, caller);
    } catch (error) {
      restores.end(account, tables.region, table.TableName, owner);
      throw error;
    }
    // The restore ended (filled, failed, or its table never made): the image closes, the name is free.
    const ended = () => {
      image.close();
      restores.end(account, tables.region, table.TableName, owner);
    };
    let definition: TableDefinition;
    try {
      definition = await tables.create(
        account,
        {
          ...table,
          RestoreSummary: {
            SourceTableArn: image.definition.TableArn,
            RestoreDateTime: at / 1000,
            RestoreInProgress: true,
          },
        },
        // "Encryption settings ... come from the current settings of the source table at the time
        // of restore" (model documentation of RestoreTableToPointInTime).
        choice ?? sameKeyAs(image.definition.TableKey),
        caller,
        'CREATING',
      );
    } catch (error) {
      ended();
      if (error instanceof KeyAccessError) throw kmsValidationError(error);
      throw error;
    }
    // Filled once the new table is committed (at once with the embedded store; over the engine
    // after the request's unit), from outside that unit, fenced by the restore's lease.
    whenRolledBack(async () => ended());
    whenCommitted(() =>
      outsideUnit(() => {
        const job = fenced(fence, () =>
          fillInBackground({
            tables: tables,
            account,
            definition,
            items: image.items,
            caller,
            sliceMs: this.#options.sliceMs ?? 8,
            stopped: () => this.#closing,
            ...(this.#options.onError ? { onError: this.#options.onError } : {}),
            done: ended,
          }),
        );
        this.#jobs.add(job);
        void job.finally(() => this.#jobs.delete(job));
      }),
    );
    return definition;
  }

  /** Resolves once every restore and snapshot copy running now has finished (tests, bench). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.#jobs, ...this.#copies.values()]);
  }

  /**
   * The clock-driven work, run by the server's sweep: a new snapshot for each PITR table whose
   * newest is older than the interval (or that has none), trimming past the recovery window, the
   * logs of disabled enablements dropped, and snapshot files of deleted tables removed.
   */
  async pass(tables: TableManager): Promise<void> {
    if (this.inMemory) return;
    const now = this.#options.clock.now();
    const interval = this.#options.snapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS;
    const open = new Map(tables.openTables().map((t) => [t.definition.TableId, t.store]));
    let slices = TRIM_SLICES_PER_PASS;
    for (const { scope, name, definition } of tables.allTables()) {
      const state = definition.PointInTimeRecovery;
      if (!state) continue;
      const store = open.get(definition.TableId);
      // Logs of earlier enablements, dropped in bounded slices.
      for (const space of state.RetiredSpaces ?? []) {
        if (!store || slices <= 0) break;
        let dropped = TRIM_SLICE;
        while (dropped === TRIM_SLICE && slices-- > 0) {
          dropped = await this.#unit(tables, () => store.dropRecords(space, TRIM_SLICE));
          await nextTurn();
        }
        if (dropped < TRIM_SLICE) {
          await this.#updateState(tables, scope, name, definition.TableId, (current) => {
            const left = (current.RetiredSpaces ?? []).filter((s) => s !== space);
            const { RetiredSpaces: _r, ...rest } = current;
            return left.length > 0 ? { ...rest, RetiredSpaces: left } : rest;
          });
        }
      }
      if (!state.Enabled || definition.TableStatus !== 'ACTIVE') continue;
      const snapshots = state.Snapshots ?? [];
      const newest = snapshots.at(-1);
      if (!newest || (newest.ready && now - newest.takenAt >= interval)) {
        await this.#snapshot(tables, scope, name, definition.TableId, (use) =>
          this.#unit(tables, () => tables.inRegion(scope.region).lendAsService(scope, name, definition.TableId, use)),
        ).catch((error: unknown) => this.#options.onError?.(error));
      }
      slices = await this.#trim(tables, scope, name, definition, store, now, slices);
      if (tables.sharedStorage && store) {
        // Counted here, in a unit: the metrics read it without one.
        const changeLog = changeLogOf(state);
        if (changeLog) {
          this.#logBytes.set(
            definition.TableId,
            await this.#unit(tables, () => store.recordBytes(changeLog.log), 'read'),
          );
        }
      }
    }
    await this.#removeOrphans(tables);
  }

  /** Bytes of PITR history per table: its change log (in the table file) and its snapshot files, for metrics. */
  diskUse(tables: TableManager): { readonly table: string; readonly log: number; readonly snapshots: number }[] {
    const all = readableTables(tables);
    if (all.length === 0) return [];
    let open: Map<string, ReturnType<TableManager['openTables']>[number]['store']>;
    try {
      open = new Map(tables.openTables().map((t) => [t.definition.TableId, t.store]));
    } catch (error) {
      if (error instanceof DamagedFileError) return [];
      throw error;
    }
    return all.flatMap(({ definition }) => {
      const state = definition.PointInTimeRecovery;
      if (!state?.Enabled) return [];
      const store = open.get(definition.TableId);
      const changeLog = changeLogOf(state);
      const log =
        changeLog && tables.sharedStorage
          ? (this.#logBytes.get(definition.TableId) ?? 0)
          : changeLog && store
            ? store.recordBytes(changeLog.log)
            : 0;
      const snapshots = (state.Snapshots ?? []).reduce((sum, s) => sum + s.bytes, 0);
      return [{ table: definition.TableArn, log, snapshots }];
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.settled();
  }

  /**
   * Takes a snapshot of the table lent by `lend`: pinned before this resolves, recorded
   * (not ready) then, ready once copied. The first snapshot of an enablement starts its history.
   */
  async #snapshot(
    tables: TableManager,
    scope: Scope,
    name: string,
    tableId: string,
    lend: <T>(use: (table: LentTable) => T) => Promise<T | undefined>,
  ): Promise<void> {
    // Over the engine a request runs again after each fetch: the same snapshot over its runs.
    const fileId = oncePerUnit(() => randomUUID());
    // Held as read until its copy is tracked: a concurrent pass must not take it for an orphan.
    this.#read(fileId, +1);
    try {
      await this.#startSnapshot(tables, scope, name, tableId, fileId, lend);
    } finally {
      this.#read(fileId, -1);
    }
  }

  async #startSnapshot(
    tables: TableManager,
    scope: Scope,
    name: string,
    tableId: string,
    fileId: string,
    lend: <T>(use: (table: LentTable) => T) => Promise<T | undefined>,
  ): Promise<void> {
    const started = await lend((lent) => {
      const key = snapshotKey(lent.dataKey, fileId);
      try {
        const log = changeLogOf(lent.definition.PointInTimeRecovery)?.log ?? 0;
        // Started once per request, however often it runs again (at once with the embedded store).
        return oncePerUnit(() =>
          this.#snapshots.start({ tableId, file: lent.file, dataKey: lent.dataKey }, fileId, key, log),
        );
      } finally {
        key.fill(0);
      }
    });
    if (!started) return;
    await started.pinned;
    const takenAt = oncePerUnit(() => this.#options.clock.now());
    if (!this.#tracked.has(started)) {
      // Followed from outside the request's unit: the copy ends after that unit has committed.
      outsideUnit(() => this.#track(tables, scope, name, tableId, fileId, started));
    }
    const snapshot: PitrSnapshot = { fileId, takenAt, ready: false, bytes: 0 };
    try {
      await this.#updateState(tables, scope, name, tableId, (current) =>
        current.Enabled
          ? {
              ...current,
              ...(current.EnabledAt === undefined ? { EnabledAt: takenAt } : {}),
              Snapshots: [...(current.Snapshots ?? []), snapshot],
            }
          : current,
      );
    } finally {
      // The copy is marked ready once the snapshot's record has committed: over the engine, when
      // the request's unit commits after this returns (or fails for good); at once after the
      // record where no unit runs (a pass's snapshot, lent in a unit of its own). Told before the
      // record, a copy that ends first finds no snapshot of its id and is removed as nobody's.
      const recorded = this.#recorded.get(started);
      if (recorded) {
        whenCommitted(recorded);
        whenRolledBack(async () => recorded());
      }
    }
  }

  /** Follows a snapshot's copy to its end: ready in the catalog, or gone. */
  #track(
    tables: TableManager,
    scope: Scope,
    name: string,
    tableId: string,
    fileId: string,
    started: PitrSnapshotCopy,
  ): void {
    this.#tracked.add(started);
    let recordedResolve: () => void = () => undefined;
    const recorded = new Promise<void>((resolve) => {
      recordedResolve = resolve;
    });
    this.#recorded.set(started, () => recordedResolve());
    const copied = started.done.then(
      async ({ bytes }) => {
        // A unit started over after a conflict records another snapshot: this one is then nobody's.
        if (tables.sharedStorage) await Promise.race([recorded, pause(RECORD_WAIT_MS)]);
        const ready = (current: PointInTimeRecoveryState) => ({
          ...current,
          Snapshots: (current.Snapshots ?? []).map((s) => (s.fileId === fileId ? { ...s, ready: true, bytes } : s)),
        });
        await this.#updateState(tables, scope, name, tableId, ready);
        const referenced = await this.#unit(
          tables,
          () => this.#referenced(tables, scope, name, tableId, fileId),
          'read',
        );
        // Disabled or deleted meanwhile: the copy is nobody's.
        if (!referenced) this.#remove(fileId);
      },
      async (error: unknown) => {
        this.#remove(fileId);
        await this.#updateState(tables, scope, name, tableId, (current) => ({
          ...current,
          Snapshots: (current.Snapshots ?? []).filter((s) => s.fileId !== fileId),
        }));
        throw error;
      },
    );
    const tracked = copied.catch((error: unknown) => {
      if (!this.#closing) this.#options.onError?.(error);
    });
    this.#copies.set(fileId, tracked);
    void tracked.finally(() => this.#copies.delete(fileId));
  }

  /**
   * Past the recovery window: the snapshot the window starts from is the newest ready one taken at
   * or before the earliest restorable time; older snapshots go, and the log records they hold.
   */
  async #trim(
    tables: TableManager,
    scope: Scope,
    name: string,
    definition: TableDefinition,
    store: ReturnType<TableManager['openTables']>[number]['store'] | undefined,
    now: number,
    slices: number,
  ): Promise<number> {
    const window = restorableWindow(definition, now);
    const state = definition.PointInTimeRecovery;
    const changeLog = changeLogOf(state);
    if (!window || !state || !changeLog) return slices;
    const snapshots = state.Snapshots ?? [];
    const base = [...snapshots].reverse().find((s) => s.ready && s.takenAt <= window.earliest);
    if (!base) return slices;
    const older = snapshots.filter((s) => s.takenAt < base.takenAt);
    if (older.length > 0) {
      const gone = new Set(older.map((s) => s.fileId));
      await this.#updateState(tables, scope, name, definition.TableId, (current) => ({
        ...current,
        Snapshots: (current.Snapshots ?? []).filter((s) => !gone.has(s.fileId)),
      }));
      this.#removeUnread(older);
    }
    if (!store) return slices;
    let trimmed = TRIM_SLICE;
    while (trimmed === TRIM_SLICE && slices-- > 0) {
      trimmed = await this.#unit(tables, () => trimBefore(store, changeLog, base.takenAt - PIN_SLACK_MS, TRIM_SLICE));
      await nextTurn();
    }
    return slices;
  }

  /**
   * Runs `work` in a unit of work of its own where none is running (over the engine, background
   * work outside a request); in the request's own otherwise, and at once with the embedded store.
   */
  #unit<T>(tables: TableManager, work: () => T | Promise<T>, kind: 'read' | 'write' = 'write'): Promise<T> {
    // An async function runs its body at once, in the call, up to its first await.
    const now = async (): Promise<T> => work();
    if (!tables.sharedStorage || inUnit()) return now();
    return tables.run(now, kind);
  }

  #updateState(
    tables: TableManager,
    scope: Scope,
    name: string,
    tableId: string,
    change: (state: PointInTimeRecoveryState) => PointInTimeRecoveryState,
  ): Promise<void> {
    const apply = (): void => {
      const regional = tables.inRegion(scope.region);
      if (regional.find(scope.accountId, name)?.TableId !== tableId) return;
      regional.update(scope.accountId, name, (current) =>
        current.TableId === tableId && current.PointInTimeRecovery
          ? { ...current, PointInTimeRecovery: change(current.PointInTimeRecovery) }
          : current,
      );
    };
    // The embedded catalog is written at once, in the call, as the callers' order relies on.
    if (!tables.sharedStorage) {
      apply();
      return Promise.resolve();
    }
    return this.#unit(tables, apply);
  }

  #referenced(tables: TableManager, scope: Scope, name: string, tableId: string, fileId: string): boolean {
    const current = tables.inRegion(scope.region).find(scope.accountId, name);
    return (
      current?.TableId === tableId &&
      current.PointInTimeRecovery?.Enabled === true &&
      (current.PointInTimeRecovery.Snapshots ?? []).some((s) => s.fileId === fileId)
    );
  }

  #read(fileId: string, delta: number): void {
    const count = (this.#readers.get(fileId) ?? 0) + delta;
    if (count > 0) this.#readers.set(fileId, count);
    else this.#readers.delete(fileId);
  }

  /** Removes snapshots nobody reads (those being read go at a later pass, as orphans). */
  #removeUnread(snapshots: readonly PitrSnapshot[]): void {
    for (const s of snapshots) if (!this.#readers.has(s.fileId) && !this.#copies.has(s.fileId)) this.#remove(s.fileId);
  }

  /** Removes a snapshot's data (at once in the embedded store), telling the operator if that fails. */
  #remove(fileId: string): void {
    void this.#snapshots.remove(fileId).catch((error: unknown) => this.#options.onError?.(error));
  }

  /**
   * Snapshots no table refers to (its table deleted, PITR disabled while it was read). Over a
   * shared engine, only those no table referred to at the last pass either: another node's copy
   * is listed in the catalog moments after its rows begin.
   */
  async #removeOrphans(tables: TableManager): Promise<void> {
    // As the catalog is now: snapshots this pass took (and may have finished copying) are in it.
    const referenced = new Set(
      tables
        .allTables()
        .flatMap(({ definition }) => (definition.PointInTimeRecovery?.Snapshots ?? []).map((s) => s.fileId)),
    );
    const suspects = new Set<string>();
    for (const fileId of await this.#snapshots.stored()) {
      if (referenced.has(fileId) || this.#readers.has(fileId) || this.#copies.has(fileId)) continue;
      if (!this.#snapshots.unfinishedAreOurs && !this.#suspects.has(fileId)) {
        suspects.add(fileId);
        continue;
      }
      this.#remove(fileId);
    }
    this.#suspects = suspects;
  }
}

/**
 * The tables, or none while the catalog is damaged: startup and metrics go on, and the damage is
 * reported by the table manager (and answered to every request) as it is without PITR.
 */
function readableTables(tables: TableManager): ReturnType<TableManager['allTables']> {
  try {
    return tables.allTables();
  } catch (error) {
    if (error instanceof DamagedFileError) return [];
    throw error;
  }
}

/** The state once PITR is disabled: no history, the change log to drop. */
function retired(state: PointInTimeRecoveryState): PointInTimeRecoveryState {
  const spaces = [...(state.RetiredSpaces ?? []), ...(state.Space !== undefined ? [state.Space] : [])];
  return {
    Enabled: false,
    RecoveryPeriodInDays: state.RecoveryPeriodInDays,
    ...(spaces.length > 0 ? { RetiredSpaces: spaces } : {}),
  };
}

/**
 * A Space no index, stream or change log of the table has used: change logs and stream logs are
 * both numbered by their Space, so this keeps them apart.
 */
function freeSpace(definition: TableDefinition): number {
  const used = [
    ...(definition.LocalSecondaryIndexes ?? []),
    ...(definition.GlobalSecondaryIndexes ?? []),
    ...(definition.Streams ?? []),
  ].map((s) => s.Space);
  const pitr = definition.PointInTimeRecovery;
  if (pitr?.Space !== undefined) used.push(pitr.Space);
  used.push(...(pitr?.RetiredSpaces ?? []));
  return Math.max(definition.NextIndexSpace ?? 1, ...used.map((s) => s + 1));
}

const itemId = (key: { readonly hash: number; readonly pk: Buffer; readonly sk: Buffer }): string =>
  `${key.hash}:${key.pk.toString('hex')}:${key.sk.toString('hex')}`;

/** Of `only` (every item when absent), those the image holds. */
const wanted = (only: readonly ItemKey[] | undefined): ((id: string) => boolean) => {
  if (!only) return () => true;
  const ids = new Set(only.map(itemId));
  return (id) => ids.has(id);
};

/** The items `only` names, each the changed version, else looked up in the snapshot. */
function* looked(
  only: readonly ItemKey[],
  changed: ReadonlyMap<string, StoredItem | null>,
  lookup: (key: ItemKey) => StoredItem | undefined,
): IterableIterator<StoredItem> {
  for (const key of only) {
    const id = itemId(key);
    const item = changed.has(id) ? changed.get(id) : lookup(key);
    if (item) yield item;
  }
}

/** The snapshot's items not changed since, then the changed ones as they are at the image's instant. */
function* overlaid(
  rows: IterableIterator<StoredItem>,
  changed: ReadonlyMap<string, StoredItem | null>,
  only?: readonly ItemKey[],
): IterableIterator<StoredItem> {
  const keep = wanted(only);
  for (const row of rows) {
    const id = itemId(row);
    if (keep(id) && !changed.has(id)) yield row;
  }
  for (const [id, item] of changed) if (item && keep(id)) yield item;
}

/** The same, over a snapshot read in groups (the engine's rows). */
function overlaidReader(
  rows: Pick<BackupReader, 'read'>,
  changed: ReadonlyMap<string, StoredItem | null>,
  only?: readonly ItemKey[],
): Pick<BackupReader, 'read'> {
  const keep = wanted(only);
  let rowsDone = false;
  let rest: IterableIterator<StoredItem> | undefined;
  return {
    async read(max: number): Promise<StoredItem[]> {
      const out: StoredItem[] = [];
      while (!rowsDone && out.length < max) {
        const group = await rows.read(max - out.length);
        if (group.length === 0) rowsDone = true;
        for (const row of group) {
          const id = itemId(row);
          if (keep(id) && !changed.has(id)) out.push(row);
        }
      }
      if (rowsDone) {
        rest ??= [...changed]
          .filter((entry): entry is [string, StoredItem] => entry[1] !== null && keep(entry[0]))
          .map(([, item]) => item)
          [Symbol.iterator]();
        while (out.length < max) {
          const next = rest.next();
          if (next.done) break;
          out.push(next.value);
        }
      }
      return out;
    },
  };
}
