/**
 * A counter read from a plain number when /metrics is scraped: the hot paths bump numbers of their
 * own (a prom-client call per record or unit would cost more than the work counted).
 */
import { Counter, type Registry } from 'prom-client';

export function countedCounter(registry: Registry, name: string, help: string, value: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(value());
    },
  });
}
