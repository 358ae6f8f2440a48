import type { Log, PartResult } from './common.js';
// biome-ignore lint: stub
export async function runAuthIsolation(o: { seed: number; log?: Log; [k: string]: unknown }): Promise<PartResult> {
  return { part: 'auth-isolation', seed: o.seed, cases: 0, durationMs: 0, figures: {}, failures: [] };
}
