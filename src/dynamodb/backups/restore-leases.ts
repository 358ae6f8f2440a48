/**
 * Restores (from a backup or to a point in time) as jobs: a restore whose process dies while it
 * fills its table must not leave that table CREATING for good, a table no request could use,
 * delete, or restore into again. A restore that fails or is stopped deletes its table (fill.ts);
 * one killed mid-fill (SIGKILL, power loss) cannot, so another process does:
 *
 * - the embedded store (one process per data directory): at start, every CREATING table with its
 *   restore in progress was the last process's, and goes as a failed restore's does;
 * - over a shared engine the restoring node holds the lease `restore/<account>/<region>/<name>`
 *   (cluster/job-leases.ts) from before the table exists until its fill ended, its fill's units
 *   fenced by it; a node's sweep that can take the lease of a CREATING restored table knows its
 *   node died, and drops the table.
 */
import { type JobLeases, takeOverJob } from '../../cluster/job-leases.js';
import type { Fence } from '../../storage/backend.js';
import type { TableManager } from '../tables.js';
import { tableAlreadyExists } from './errors.js';

const leaseOf = (account: string, region: string, name: string): string => `restore/${account}/${region}/${name}`;

export class RestoreJobs {
  readonly #leases: JobLeases | undefined;
  /**
   * The restores begun or filling on this node, by lease: the request that began each (over the
   * engine a request runs again after a fetch or a conflict, and must find its first run's lease).
   */
  readonly #here = new Map<string, { readonly owner: object; readonly fence: Fence | undefined }>();

  constructor(leases?: JobLeases) {
    this.#leases = leases;
  }

  /**
   * Before the restored table is created, by `owner` (its request's unitIdentity, the same over
   * the request's runs): over the engine its lease, whose fence the fill runs under. Another
   * request, or another node, restoring into the same name now: the table is taken.
   */
  async begin(account: string, region: string, name: string, owner: object): Promise<Fence | undefined> {
    const lease = leaseOf(account, region, name);
    const begun = this.#here.get(lease);
    if (begun) {
      if (begun.owner === owner) return begun.fence;
      throw tableAlreadyExists(name);
    }
    // Claimed before the first await: another request of this node restoring into the name now fails.
    this.#here.set(lease, { owner, fence: undefined });
    if (!this.#leases) return undefined;
    const fence = await this.#leases.hold(lease).catch((error: unknown) => {
      this.#here.delete(lease);
      throw error;
    });
    if (!fence) {
      this.#here.delete(lease);
      throw tableAlreadyExists(name);
    }
    this.#here.set(lease, { owner, fence });
    return fence;
  }

  /**
   * The restore `owner` began (its request's unitIdentity) ended: filled, failed, or its table was
   * never made. Another request's restore into the same name (the one that refused this) stays.
   */
  end(account: string, region: string, name: string, owner: object): void {
    const lease = leaseOf(account, region, name);
    if (this.#here.get(lease)?.owner !== owner) return;
    this.#here.delete(lease);
    void this.#leases?.release(lease).catch(() => undefined);
  }

  /**
   * Drops the tables of restores no process is filling: at start on the embedded store, at each
   * sweep over the engine (those whose lease this node can take). Returns their ARNs.
   */
  async dropUnfinished(tables: TableManager): Promise<string[]> {
    const dropped: string[] = [];
    for (const { scope, name, definition } of tables.allTables()) {
      if (definition.TableStatus !== 'CREATING' || !definition.RestoreSummary?.RestoreInProgress) continue;
      const lease = leaseOf(scope.accountId, scope.region, name);
      if (this.#here.has(lease)) continue;
      const regional = tables.inRegion(scope.region);
      const gone = await takeOverJob(this.#leases, lease, () =>
        tables.run(async () => {
          // Read again under the lease: a restore that ended meanwhile stays as it ended.
          const current = regional.find(scope.accountId, name);
          if (current?.TableStatus !== 'CREATING' || !current.RestoreSummary?.RestoreInProgress) return false;
          await regional.delete(scope.accountId, name);
          return true;
        }, 'write'),
      );
      if (gone) dropped.push(definition.TableArn);
    }
    return dropped;
  }
}
