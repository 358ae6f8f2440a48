/**
 * Background work of engine storage run only while this node holds its lease (leases.ts): each
 * unit of work the work runs is fenced by the lease, so if the lease moved meanwhile the unit's
 * commit fails with FenceLost and nothing of it is written. The embedded store runs its work
 * unwrapped (one node, nothing to share).
 */
import type { TtlTables } from '../dynamodb/ttl/sweeper.js';
import type { UnitKind } from '../storage/backend.js';
import { FenceLost, fencedWork, fenceUnit, unitFence } from '../storage/postgres/unit-of-work.js';
import type { LeaseKeeper } from './leases.js';

/** The lease names of the background work on engine storage. */
export const LEASES = {
  ttl: 'ttl-sweep',
  streams: 'stream-trim',
  backfill: 'index-backfill',
  /** The tables' background key check, their return from INACCESSIBLE and their archival. */
  tables: 'table-keys',
  /** Point-in-time recovery's snapshots and trimming. */
  pitr: 'pitr-history',
  /** The removal of SYSTEM backups past their expiry. */
  backups: 'backup-expiry',
  /** Closing the audit trail's finished hours: their digests. */
  audit: 'audit-digests',
} as const;

/** The TTL sweeper's view of the tables: none while another node holds the TTL lease. */
export function leasedTtlTables(tables: TtlTables, leases: LeaseKeeper, name: string = LEASES.ttl): TtlTables {
  return {
    // Both run inside `run` below: without the lease the pass finds no table and a slice none to sweep.
    allTables: () => (unitFence()?.name === name ? tables.allTables() : []),
    openForTtl: async (scope, table, id) =>
      unitFence()?.name === name ? tables.openForTtl(scope, table, id) : undefined,
    damaged: (error) => tables.damaged(error),
    async run<T>(fn: () => Promise<T>, kind: UnitKind): Promise<T> {
      const fence = await leases.ensure(name);
      return tables.run(() => {
        if (fence) fenceUnit(fence);
        return fn();
      }, kind);
    },
  };
}

/**
 * Runs `work` (one unit of work or several of its own) only if this node holds (or can take) the
 * lease, with each unit it runs fenced by it; else, or once the lease moved (the unit that found
 * it so and those after it commit nothing, and the new holder does the work), skips it (undefined).
 */
export async function runLeasedWork<T>(
  leases: LeaseKeeper,
  name: string,
  work: () => Promise<T>,
): Promise<T | undefined> {
  const fence = await leases.ensure(name);
  if (!fence) return undefined;
  try {
    return await fencedWork(fence, work);
  } catch (error) {
    if (error instanceof FenceLost) return undefined;
    throw error;
  }
}

/** A unit of leased work found its lease gone at commit: expected when a lease moves, not a fault. */
export const isFenceLost = (error: unknown): boolean => error instanceof FenceLost;
