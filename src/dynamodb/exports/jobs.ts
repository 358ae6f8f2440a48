/**
 * Where export and import jobs run, and their records' writes. A job runs on the node that
 * accepted its request. Over a shared engine it holds a lease of its own (`transfer/<ARN>`,
 * src/cluster/leases.ts) from before its record is listed until its end is recorded: its units of
 * work (fencedWork) and that last record are fenced by it, and a node that can take the lease of
 * a job still IN_PROGRESS knows the job's node stopped renewing it (it died), so it may act on the
 * job with no other node doing the same.
 */

import { fenced, type JobLeases, takeOverJob } from '../../cluster/job-leases.js';
import { type Fence, FenceLost, outsideUnit, unitIdentity } from '../../storage/backend.js';
import type { BackupRecords } from '../../storage/backup-storage.js';
import type { TransferRecord } from './records.js';

export const arnOf = (r: TransferRecord): string => (r.kind === 'export' ? r.ExportArn : r.ImportArn);

export const statusOf = (r: TransferRecord): string => (r.kind === 'export' ? r.ExportStatus : r.ImportStatus);

const leaseOf = (arn: string): string => `transfer/${arn}`;

const entryOf = (record: TransferRecord) => ({ arn: arnOf(record), record, wrappedKey: Buffer.alloc(0) });

export class TransferJobs {
  readonly #catalog: BackupRecords<TransferRecord>;
  readonly #leases: JobLeases | undefined;
  readonly #onError: (error: unknown) => void;
  readonly #jobs = new Set<Promise<void>>();
  /** The ARNs of the jobs running here. */
  readonly #running = new Set<string>();
  /** The leases of the jobs begun here (engine storage), by ARN. */
  readonly #fences = new Map<string, Fence>();
  /**
   * The job a request's unit of work began, by the unit (unitIdentity): over the engine a request
   * runs again after a fetch or a conflict, and must find its first run's job.
   */
  readonly #begun = new WeakMap<object, TransferRecord>();
  #stopping = false;

  constructor(
    catalog: BackupRecords<TransferRecord>,
    leases: JobLeases | undefined,
    onError: (error: unknown) => void,
  ) {
    this.#catalog = catalog;
    this.#leases = leases;
    this.#onError = onError;
  }

  /** True once the server is stopping: jobs stop (and record it). */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** The job this request began in an earlier run of its unit of work (over the engine). */
  begunHere(): TransferRecord | undefined {
    return this.#begun.get(unitIdentity());
  }

  /**
   * A new job listed (IN_PROGRESS): over the engine under its lease, taken first, so no other
   * node takes the job for an interrupted one. Returns the lease's fence.
   */
  async begin(record: TransferRecord): Promise<Fence | undefined> {
    const arn = arnOf(record);
    let fence: Fence | undefined;
    if (this.#leases) {
      fence = await this.#leases.hold(leaseOf(arn));
      if (!fence) throw new Error(`the lease of ${arn} is another node's`);
      this.#fences.set(arn, fence);
    }
    await this.#catalog.put(entryOf(record), fence);
    this.#begun.set(unitIdentity(), record);
    return fence;
  }

  /** A job's end recorded, fenced by its lease: one lost meanwhile means another node recorded it. */
  async finish(record: TransferRecord, fence = this.#fences.get(arnOf(record))): Promise<void> {
    try {
      await this.#catalog.put(entryOf(record), fence);
    } catch (error) {
      if (!(error instanceof FenceLost)) throw error;
    }
  }

  /** A job whose request failed after all (its unit rolled back): its record and its lease go. */
  async abandon(record: TransferRecord): Promise<void> {
    const arn = arnOf(record);
    if (this.#running.has(arn)) return;
    await this.#catalog.delete(arn).catch(() => undefined);
    await this.#release(arn).catch(() => undefined);
  }

  /** Runs a job off the request path (outside its unit of work), its units fenced by its lease. */
  run(record: TransferRecord, fence: Fence | undefined, job: () => Promise<void>): void {
    const arn = arnOf(record);
    this.#running.add(arn);
    outsideUnit(() => {
      // A turn later: the request's answer goes out before the first slice.
      const promise = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => fenced(fence, job))
        .catch((error: unknown) => {
          if (!this.#stopping && !(error instanceof FenceLost)) this.#onError(error);
        })
        .finally(() => this.#release(arn))
        .catch((error: unknown) => this.#onError(error))
        .finally(() => this.#running.delete(arn));
      this.#jobs.add(promise);
      void promise.finally(() => this.#jobs.delete(promise));
    });
  }

  /**
   * A job found IN_PROGRESS that no node runs any more, taken over to be failed: `work` runs
   * fenced by its lease (over the engine: only if this node could take it, and the record still
   * says IN_PROGRESS under it), then the lease goes. `ours`: every unfinished job was this
   * node's last process's (the embedded store). False: the job is not this node's to act on.
   */
  async takeOver(record: TransferRecord, ours: boolean, work: (fence?: Fence) => Promise<void>): Promise<boolean> {
    const arn = arnOf(record);
    // This node's own jobs (begun by a request, or running) are not interrupted ones.
    if (this.#running.has(arn) || this.#fences.has(arn)) return false;
    if (!ours && !this.#leases) return false;
    return takeOverJob(ours ? undefined : this.#leases, leaseOf(arn), async (fence) => {
      if (fence) {
        // Read again under the lease: a job that ended meanwhile stays as it ended.
        const current = (await this.#catalog.get(arn))?.record;
        if (!current || statusOf(current) !== 'IN_PROGRESS') return false;
      }
      await work(fence);
      return true;
    });
  }

  /** Resolves once every job running now has finished (tests, the CLI). */
  async settled(): Promise<void> {
    while (this.#jobs.size > 0) await Promise.all([...this.#jobs]);
  }

  /** Stops the jobs running here (each records that it stopped): before this node gives its leases up. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.allSettled([...this.#jobs]);
  }

  /** A job's lease given up (once its end is recorded, or it was found taken). */
  async #release(arn: string): Promise<void> {
    this.#fences.delete(arn);
    await this.#leases?.release(leaseOf(arn));
  }
}
