/**
 * Leases of single jobs (an export, a backup copy, a restore) over a shared engine: held by the
 * node running the job from before anyone can see it until it ends, renewed with the node's
 * other leases (leases.ts). A node that can take the lease of a job still unfinished knows the
 * job's node stopped renewing it (it died), so it may act on the job with no other node doing so.
 */
import { type Fence, fencedWork } from '../storage/backend.js';

export interface JobLeases {
  /** Takes (and keeps renewing) a job's lease; undefined: another node holds it. */
  hold(name: string): Promise<Fence | undefined>;
  /** Gives it up (its row goes) once the job's end is recorded. */
  release(name: string): Promise<void>;
}

/** Work fenced by a job's lease (engine storage), or as it is. */
export const fenced = <T>(fence: Fence | undefined, work: () => Promise<T>): Promise<T> =>
  fence ? fencedWork(fence, work) : work();
