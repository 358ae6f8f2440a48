/** The trail of an in-memory server (`--in-memory`): lookups work, nothing touches the disk, no digests. */
import type { Clock } from '../core/clock.js';
import { scopeKey } from '../core/scope.js';
import { hourStart } from './layout.js';
import type { CloudTrailRecord, Delivery } from './record.js';
import { scanList, type TrailSource, type TrailStore } from './trail-source.js';

export class MemoryTrailStore implements TrailStore {
  /** Per account and region (scopeKey), the records of each hour. */
  readonly #trails = new Map<string, Map<number, CloudTrailRecord[]>>();

  constructor(private readonly clock: Clock) {}

  inRegion(region: string): TrailSource {
    const trail = (accountId: string) => this.#trails.get(scopeKey({ accountId, region }));
    return {
      hours: async (accountId) => [...(trail(accountId)?.keys() ?? [])].sort((a, b) => a - b),
      scanHour: async (accountId, hour, scan, visit) => {
        scanList(trail(accountId)?.get(hour) ?? [], 0, scan, visit);
      },
    };
  }

  async append(deliveries: readonly Delivery[]): Promise<void> {
    const hour = hourStart(this.clock.now());
    for (const { accountId, record } of deliveries) {
      const key = scopeKey({ accountId, region: record.awsRegion });
      const hours = this.#trails.get(key) ?? new Map<number, CloudTrailRecord[]>();
      this.#trails.set(key, hours);
      // Never append to an hour before one that already has records, so positions stay ordered.
      const last = Math.max(hour, ...hours.keys());
      const list = hours.get(last) ?? [];
      hours.set(last, list);
      list.push(record);
    }
  }

  async closeFinishedHours(): Promise<void> {}

  async close(): Promise<void> {}
}
