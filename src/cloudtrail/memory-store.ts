/** The trail of an in-memory server (`--in-memory`): lookups work, nothing touches the disk, no digests. */
import type { Clock } from '../core/clock.js';
import { hourStart } from './layout.js';
import type { CloudTrailRecord, Delivery } from './record.js';
import type { TrailStore } from './trail-source.js';

export class MemoryTrailStore implements TrailStore {
  readonly #accounts = new Map<string, Map<number, CloudTrailRecord[]>>();

  constructor(private readonly clock: Clock) {}

  async append(deliveries: readonly Delivery[]): Promise<void> {
    const hour = hourStart(this.clock.now());
    for (const { accountId, record } of deliveries) {
      const hours = this.#accounts.get(accountId) ?? new Map<number, CloudTrailRecord[]>();
      this.#accounts.set(accountId, hours);
      // Never append to an hour before one that already has records, so positions stay ordered.
      const last = Math.max(hour, ...hours.keys());
      const list = hours.get(last) ?? [];
      hours.set(last, list);
      list.push(record);
    }
  }

  async hours(accountId: string): Promise<readonly number[]> {
    return [...(this.#accounts.get(accountId)?.keys() ?? [])].sort((a, b) => a - b);
  }

  async readHour(accountId: string, hour: number): Promise<readonly CloudTrailRecord[]> {
    return this.#accounts.get(accountId)?.get(hour) ?? [];
  }

  async closeFinishedHours(): Promise<void> {}

  async close(): Promise<void> {}
}
