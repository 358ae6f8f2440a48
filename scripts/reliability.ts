/**
 * `npm run test:reliability` (issue 17): the whole reliability and security suite, each part with
 * its seed printed, results in test-results/reliability.json. `npm run soak` runs the soak alone.
 *
 *   node dist/scripts/reliability.js [--part crash,tamper,fuzz,http,auth,soak] [--seed N] [--quick]
 *     [--kinds "table file,…"] [--digest-every N]
 *
 * The seed of a part is derived from the run's seed (SEALDB_RELIABILITY_SEED or --seed), so one
 * number replays the whole run; a part can be replayed alone with the seed it printed and --part.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAuthIsolation } from '../test/reliability/auth-isolation.js';
import { type PartResult, Rng, runSeed } from '../test/reliability/common.js';
import { runCrashLoop } from '../test/reliability/crash-loop.js';
import { runFuzz } from '../test/reliability/fuzz.js';
import { runHostileHttp } from '../test/reliability/hostile-http.js';
import { runSoak } from '../test/reliability/soak.js';
import { runTamper } from '../test/reliability/tamper.js';

interface Args {
  parts: Set<string>;
  /** Tamper only these file kinds (by name, comma-separated): a kind replays alone with its seed. */
  kinds: string[] | undefined;
  seed: number;
  quick: boolean;
  /** Fuzz: refused requests between comparisons of the data (1 names the very case that changed it). */
  digestEvery: number | undefined;
  partSeeded: boolean;
}

const ALL = ['crash', 'tamper', 'fuzz', 'http', 'auth'];

function parseArgs(argv: string[]): Args {
  let parts = new Set(ALL);
  let seed: number | undefined;
  let quick = false;
  let kinds: string[] | undefined;
  let digestEvery: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--part') parts = new Set((argv[++i] ?? '').split(','));
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--quick') quick = true;
    else if (a === '--kinds') kinds = (argv[++i] ?? '').split(',');
    else if (a === '--digest-every') digestEvery = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  for (const p of parts) if (![...ALL, 'soak'].includes(p)) throw new Error(`unknown part ${p}`);
  return {
    parts,
    kinds,
    seed: seed ?? runSeed(),
    quick,
    digestEvery,
    partSeeded: seed !== undefined && parts.size === 1,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  const master = new Rng(args.seed);
  // Every part draws its seed in a fixed order, whether it runs or not, so a seed means the same.
  const seeds = Object.fromEntries([...ALL, 'soak'].map((p) => [p, master.int(1, 0x7fffffff)]));
  const seedOf = (p: string): number => (args.partSeeded ? args.seed : (seeds[p] as number));
  console.log(`reliability suite: run seed ${args.seed} (replay: SEALDB_RELIABILITY_SEED=${args.seed})`);
  const started = Date.now();
  const results: PartResult[] = [];
  const q = args.quick;
  const runPart = async (name: string, go: (seed: number) => Promise<PartResult | PartResult[]>) => {
    if (!args.parts.has(name)) return;
    const seed = seedOf(name);
    console.log(`\n== ${name} (seed ${seed}; alone: --part ${name} --seed ${seed})`);
    const out = await go(seed);
    for (const r of Array.isArray(out) ? out : [out]) {
      results.push(r);
      console.log(
        `${r.part}: ${r.cases} case(s) in ${(r.durationMs / 1000).toFixed(1)} s, ${r.failures.length} failure(s) ${JSON.stringify(r.figures)}`,
      );
      for (const f of r.failures.slice(0, 20)) console.log(`  FAIL [${f.where}] ${f.detail}`);
      if (r.failures.length > 20) console.log(`  … and ${r.failures.length - 20} more (see the JSON file)`);
    }
  };
  await runPart('crash', async (seed) => [
    await runCrashLoop({ seed, cycles: q ? 3 : 20, durability: 'process', log }),
    await runCrashLoop({ seed: seed + 1, cycles: q ? 3 : 20, durability: 'fsync', log }),
  ]);
  await runPart('tamper', (seed) =>
    runTamper({ seed, placesPerKind: q ? 4 : 50, ...(args.kinds ? { kinds: args.kinds } : {}), log }),
  );
  await runPart('fuzz', (seed) =>
    runFuzz({ seed, cases: q ? 1000 : 10_000, ...(args.digestEvery ? { digestEvery: args.digestEvery } : {}), log }),
  );
  await runPart('http', (seed) =>
    runHostileHttp({ seed, idleConnections: q ? 1000 : 10_000, slowTimeoutScale: q ? 'short' : 'real', log }),
  );
  await runPart('auth', (seed) => runAuthIsolation({ seed, log }));
  await runPart('soak', (seed) => runSoak({ seed, durationMs: q ? 60_000 : 600_000, log }));

  const failures = results.flatMap((r) => r.failures);
  const summary = {
    seed: args.seed,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    node: process.version,
    ok: failures.length === 0,
    parts: results,
  };
  mkdirSync('test-results', { recursive: true });
  const file = join('test-results', 'reliability.json');
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(
    `\n${failures.length === 0 ? 'PASS' : `FAIL: ${failures.length} failure(s)`} in ${((Date.now() - started) / 1000).toFixed(0)} s; seed ${args.seed}; ${file}`,
  );
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 2;
});
