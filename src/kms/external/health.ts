/** `GET /health` and the outage metrics of the table keys' KMS. */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { KmsOutage } from '../../encryption/kms-outage.js';

export interface HealthReport {
  readonly status: 'ok' | 'degraded' | 'unavailable';
  readonly kms: {
    readonly mode: 'builtin' | 'external';
    readonly endpoint?: string;
    /** True while the external KMS fails transiently (the `/health` flag). */
    readonly outage: boolean;
    readonly outageSince?: string;
    readonly servingFromCachedKeys?: boolean;
    readonly graceEndsAt?: string;
    readonly lastError?: string;
  };
}

export function healthReport(
  mode: 'builtin' | 'external',
  endpoint: string | undefined,
  outage?: KmsOutage,
): HealthReport {
  const state = outage?.state();
  if (!outage || !state || state.since === undefined) {
    return { status: 'ok', kms: { mode, ...(endpoint ? { endpoint } : {}), outage: false } };
  }
  const within = outage.withinGrace();
  return {
    // Within the grace tables are served; after it, requests on KMS-keyed tables fail.
    status: within ? 'degraded' : 'unavailable',
    kms: {
      mode,
      ...(endpoint ? { endpoint } : {}),
      outage: true,
      outageSince: new Date(state.since).toISOString(),
      servingFromCachedKeys: within,
      graceEndsAt: new Date(state.graceEndsAt ?? state.since).toISOString(),
      ...(state.lastError ? { lastError: state.lastError } : {}),
    },
  };
}

export function healthRoute(
  mode: 'builtin' | 'external',
  endpoint: string | undefined,
  outage?: KmsOutage,
): () => Promise<{ contentType: string; body: string }> {
  return async () => ({
    contentType: 'application/json',
    body: `${JSON.stringify(healthReport(mode, endpoint, outage))}\n`,
  });
}

/** `sealdb_kms_outage` (0/1), the seconds of grace left, and keys served from cache in an outage. */
export function registerOutageMetrics(registry: Registry, outage: KmsOutage): void {
  new Gauge({
    name: 'sealdb_kms_outage',
    help: 'The external KMS fails transiently (1) or answers (0)',
    registers: [registry],
    collect() {
      this.set(outage.inOutage ? 1 : 0);
    },
  });
  new Gauge({
    name: 'sealdb_kms_outage_grace_remaining_seconds',
    help: 'Seconds left in an outage during which cached table keys are still used (0 outside an outage or past it)',
    registers: [registry],
    collect() {
      this.set(outage.graceRemainingMs() / 1000);
    },
  });
  new Counter({
    name: 'sealdb_table_keys_from_outage_cache_total',
    help: 'Table keys used from the cache because the external KMS could not be reached',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(outage.servedFromReserveCount);
    },
  });
}
