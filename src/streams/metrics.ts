/**
 * Stream counters for /metrics. Plain numbers bumped on the write path (a prom-client call per
 * record would cost more than the record) and read when /metrics is scraped; per process.
 */
import type { Registry } from 'prom-client';
import { countedCounter } from '../metrics/counted.js';

export const streamCounts = {
  /** Records derived from item writes. */
  written: 0,
  /** Records returned by GetRecords. */
  read: 0,
  /** Records removed by the trimmer after 24 hours, or with a stream that expired. */
  trimmed: 0,
};

export function registerStreamMetrics(registry: Registry): void {
  const counter = (name: string, help: string, value: () => number) => countedCounter(registry, name, help, value);
  counter(
    'sealdb_stream_records_total',
    'DynamoDB Streams records written with item changes',
    () => streamCounts.written,
  );
  counter(
    'sealdb_stream_records_read_total',
    'DynamoDB Streams records returned by GetRecords',
    () => streamCounts.read,
  );
  counter(
    'sealdb_stream_records_trimmed_total',
    'DynamoDB Streams records removed after the 24-hour retention',
    () => streamCounts.trimmed,
  );
}
