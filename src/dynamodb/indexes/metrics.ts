/**
 * Index counters for /metrics: plain numbers bumped by the backfill (per process), read when
 * /metrics is scraped, as the stream counters are (src/streams/metrics.ts).
 */
import type { Registry } from 'prom-client';
import { countedCounter } from '../../metrics/counted.js';

export const indexCounts = {
  /** Items the online backfill wrote index entries for (slices committed on this node). */
  backfilled: 0,
};

export function registerIndexMetrics(registry: Registry): void {
  countedCounter(
    registry,
    'sealdb_index_backfill_items_total',
    'Items read by online GSI backfills on this node (their slices committed)',
    () => indexCounts.backfilled,
  );
}
