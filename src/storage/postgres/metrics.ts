/**
 * The engine's units of work for /metrics: how many ran, and how many were run again after a
 * serialization failure or to take a log's turn (node-turns.ts). Retries are the engine's
 * contention seen from this node: what an operator watches when writes slow down.
 */
import type { Registry } from 'prom-client';
import { countedCounter } from '../../metrics/counted.js';
import type { Engine } from './engine.js';

export function registerEngineMetrics(registry: Registry, engine: Engine): void {
  const counter = (name: string, help: string, value: () => number) => countedCounter(registry, name, help, value);
  counter(
    'sealdb_engine_units_total',
    'Units of work (requests and background steps) run on the engine',
    () => engine.counters.units,
  );
  counter(
    'sealdb_engine_retries_total',
    'Units of work run again from the start after a serialization failure or deadlock',
    () => engine.counters.retries,
  );
  counter(
    'sealdb_engine_turn_restarts_total',
    "Units of work run again to take a record log's turn on this node before their transaction",
    () => engine.counters.turnRestarts,
  );
}
