/**
 * Leases of single jobs (an export, a backup copy, a restore) over a shared engine: held by the
 * node running the job from before anyone can see it until it ends, renewed with the node's
 * other leases (leases.ts). A node that can take the lease of a job still unfinished knows the
 * job's node stopped renewing it (it died), so it may act on the job with no other node doing so.
 */
import { type Fence, FenceLost, fencedWork } from '../storage/backend.js';

export interface JobLeases {
  /** Takes (and keeps renewing) a job's lease; undefined: another node holds it. */
  hold(name: string): Promise<Fence | undefined>;
  /** Gives it up (its row goes) once the job's end is recorded. */
  release(name: string): Promise<void>;
}

/** Work fenced by a job's lease (engine storage), or as it is. */
export const fenced = <T>(fence: Fence | undefined, work: () => Promise<T>): Promise<T> =>
  fence ? fencedWork(fence, work) : work();

/**
 * A job whose node stopped renewing its lease (it died), taken over: if this node can take the
 * lease, `work` runs fenced by it (it reads the job again and answers whether it acted; a lease
 * lost meanwhile means another node acts), then the lease goes. False: another node holds it.
 * `leases` undefined (the embedded store, one process): every unfinished job is the last
 * process's, and `work` runs as it is.
 */
export async function takeOverJob(
  leases: JobLeases | undefined,
  name: string,
  work: (fence?: Fence) => Promise<boolean>,
): Promise<boolean> {
  if (!leases) return work();
  const fence = await leases.hold(name);
  if (!fence) return false;
  try {
    return await fencedWork(fence, () => work(fence));
  } catch (error) {
    if (error instanceof FenceLost) return false;
    throw error;
  } finally {
    await leases.release(name);
  }
}
