import type { Log, PartResult } from './common.js';
// biome-ignore lint: stub
export async function runHostileHttp(o: { seed: number; log?: Log; [k: string]: unknown }): Promise<PartResult> {
  return { part: 'hostile-http', seed: o.seed, cases: 0, durationMs: 0, figures: {}, failures: [] };
}
