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
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runAuthIsolation } from '../test/reliability/auth-isolation.js';
import { type PartResult, Rng, runSeed } from '../test/reliability/common.js';
import { runCrashLoop } from '../test/reliability/crash-loop.js';
import { runFuzz } from '../test/reliability/fuzz.js';
import { runHostileHttp } from '../test/reliability/hostile-http.js';
import { runSoak } from '../test/reliability/soak.js';
import { fileKindNames, runTamper } from '../test/reliability/tamper.js';

interface Args {
  parts: Set<string>;
  /** Tamper only these file kinds (by name, comma-separated): a kind replays alone with its seed. */
  kinds: string[] | undefined;
  seed: number;
  quick: boolean;
  /** Fuzz: refused requests between comparisons of the data (1 names the very case that changed it). */
  digestEvery: number | undefined;
  /** Parts (and halves of the tamper part) run at once in child processes (1: one after another, here). */
  lanes: number;
  /** Crash loop of one durability only (a lane's share of the crash part). */
  crashDurability: 'process' | 'fsync' | undefined;
  /** Where the results go (a lane writes its own file; the parent merges them). */
  out: string;
  /** The soak runs beside other lanes: SIGUSR2 from the parent says they have finished. */
  beside: boolean;
  partSeeded: boolean;
}

const ALL = ['crash', 'tamper', 'fuzz', 'http', 'auth', 'soak'];
/**
 * Lanes by default: the crash loops, the two halves of the tamper part and the fuzz part run at
 * once (each mostly one core's work, or waiting on processes it started), then the hostile-HTTP
 * part (its timeouts and memory bound are measured: none of the lanes run beside it), then the
 * auth part; the soak runs beside all of them from the start (its 10 minutes would otherwise leave
 * the others 5 of the 15-minute budget). Run one after another they took twice as long.
 */
const DEFAULT_LANES = 3;

function parseArgs(argv: string[]): Args {
  let parts = new Set(ALL);
  let seed: number | undefined;
  let quick = false;
  let kinds: string[] | undefined;
  let digestEvery: number | undefined;
  let lanes = DEFAULT_LANES;
  let crashDurability: Args['crashDurability'];
  let out = join('test-results', 'reliability.json');
  let beside = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--part') parts = new Set((argv[++i] ?? '').split(','));
    else if (a === '--seed') seed = Number(argv[++i]);
    else if (a === '--quick') quick = true;
    else if (a === '--kinds') kinds = (argv[++i] ?? '').split(',');
    else if (a === '--digest-every') digestEvery = Number(argv[++i]);
    else if (a === '--lanes') lanes = Math.max(1, Number(argv[++i]) || 1);
    else if (a === '--crash-durability') crashDurability = argv[++i] === 'fsync' ? 'fsync' : 'process';
    else if (a === '--out') out = argv[++i] ?? out;
    else if (a === '--beside') beside = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const p of parts) if (!ALL.includes(p)) throw new Error(`unknown part ${p}`);
  return {
    parts,
    kinds,
    seed: seed ?? runSeed(),
    quick,
    digestEvery,
    lanes,
    crashDurability,
    out,
    beside,
    partSeeded: seed !== undefined && parts.size === 1,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const units = args.lanes > 1 ? planLanes(args) : [];
  if (units.length > 1) return runLanes(args, units);
  const log = (line: string) => console.log(line);
  const master = new Rng(args.seed);
  // Every part draws its seed in a fixed order, whether it runs or not, so a seed means the same.
  const seeds = Object.fromEntries(ALL.map((p) => [p, master.int(1, 0x7fffffff)]));
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
    ...(args.crashDurability !== 'fsync'
      ? [await runCrashLoop({ seed, cycles: q ? 3 : 20, durability: 'process', log })]
      : []),
    ...(args.crashDurability !== 'process'
      ? [await runCrashLoop({ seed: seed + 1, cycles: q ? 3 : 20, durability: 'fsync', log })]
      : []),
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
  const othersDone = args.beside ? new Promise<void>((resolve) => process.once('SIGUSR2', () => resolve())) : undefined;
  await runPart('soak', (seed) =>
    runSoak({ seed, durationMs: q ? 60_000 : 600_000, ...(othersDone ? { othersDone } : {}), log }),
  );

  const failures = results.flatMap((r) => r.failures);
  const summary = {
    seed: args.seed,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    node: process.version,
    ok: failures.length === 0,
    parts: results,
  };
  const file = args.out;
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(
    `\n${failures.length === 0 ? 'PASS' : `FAIL: ${failures.length} failure(s)`} in ${((Date.now() - started) / 1000).toFixed(0)} s; seed ${args.seed}; ${file}`,
  );
  process.exitCode = failures.length === 0 ? 0 : 1;
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 2;
  })
  // The results are written: a process left over by a failed part (a server that never started)
  // must not keep the run, or its lane, waiting.
  .finally(() => process.exit());

/**
 * One lane's work: a child run of this script. `alone`: run after the others, by itself. `beside`:
 * started first and run alongside all the others, outside the lanes (the soak: 10 minutes of a
 * 15-minute budget), told by SIGUSR2 when they are done.
 */
interface Unit {
  readonly name: string;
  readonly argv: readonly string[];
  readonly alone?: boolean;
  readonly beside?: boolean;
}

function planLanes(args: Args): Unit[] {
  const master = new Rng(args.seed);
  const seeds = Object.fromEntries(ALL.map((p) => [p, master.int(1, 0x7fffffff)]));
  const seedOf = (p: string): string => String(args.partSeeded ? args.seed : seeds[p]);
  const common = [...(args.quick ? ['--quick'] : []), '--lanes', '1'];
  const units: Unit[] = [];
  if (args.parts.has('tamper')) {
    const kinds = fileKindNames().filter((k) => !args.kinds || args.kinds.includes(k));
    const half = Math.ceil(kinds.length / 2);
    for (const [i, share] of [kinds.slice(0, half), kinds.slice(half)].entries()) {
      if (share.length === 0) continue;
      units.push({
        name: `tamper-${i + 1}`,
        argv: ['--part', 'tamper', '--seed', seedOf('tamper'), '--kinds', share.join(','), ...common],
      });
    }
  }
  if (args.parts.has('fuzz')) {
    const every = args.digestEvery ? ['--digest-every', String(args.digestEvery)] : [];
    units.push({ name: 'fuzz', argv: ['--part', 'fuzz', '--seed', seedOf('fuzz'), ...every, ...common] });
  }
  if (args.parts.has('crash')) {
    for (const d of args.crashDurability ? [args.crashDurability] : ['process', 'fsync']) {
      units.push({
        name: `crash-${d}`,
        argv: ['--part', 'crash', '--seed', seedOf('crash'), '--crash-durability', d, ...common],
      });
    }
  }
  if (args.parts.has('http')) {
    units.push({ name: 'http', argv: ['--part', 'http', '--seed', seedOf('http'), ...common], alone: true });
  }
  if (args.parts.has('auth')) {
    units.push({ name: 'auth', argv: ['--part', 'auth', '--seed', seedOf('auth'), ...common], alone: true });
  }
  if (args.parts.has('soak')) {
    units.push({
      name: 'soak',
      argv: ['--part', 'soak', '--seed', seedOf('soak'), '--beside', ...common],
      beside: true,
    });
  }
  return units;
}

interface RunFile {
  readonly parts: PartResult[];
}

async function runLanes(args: Args, units: readonly Unit[]): Promise<void> {
  console.log(
    `reliability suite: run seed ${args.seed} (replay: SEALDB_RELIABILITY_SEED=${args.seed}), ${args.lanes} lanes`,
  );
  const started = Date.now();
  const scratch = mkdtempSync(join(tmpdir(), 'sealdb-reliability-'));
  const results: PartResult[] = [];
  const running = new Map<Unit, ChildProcess>();
  const runUnit = (unit: Unit): Promise<void> =>
    new Promise((resolve) => {
      const out = join(scratch, `${unit.name}.json`);
      console.log(`[${unit.name}] node dist/scripts/reliability.js ${unit.argv.join(' ')}`);
      const child = spawn(process.execPath, [process.argv[1] as string, ...unit.argv, '--out', out], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      running.set(unit, child);
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          // The SDK's notice about Node versions, once per child, says nothing about the run.
          if (/NodeVersionSupportWarning|node >=22|a\.co\/|trace-warnings|AWS services, bug fixes|^\s*$/.test(line))
            return;
          console.log(`[${unit.name}] ${line}`);
        });
      }
      child.on('exit', (code) => {
        try {
          results.push(...(JSON.parse(readFileSync(out, 'utf8')) as RunFile).parts);
        } catch (error) {
          results.push({
            part: unit.name,
            seed: args.seed,
            cases: 0,
            durationMs: 0,
            figures: {},
            failures: [
              {
                part: unit.name,
                seed: args.seed,
                where: 'lane',
                detail: `no results (exit ${code}): ${String(error)}`,
              },
            ],
          });
        }
        resolve();
      });
    });
  const besides = units.filter((u) => u.beside).map(runUnit);
  const together = units.filter((u) => !u.alone && !u.beside);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(args.lanes, together.length) }, async () => {
      while (next < together.length) await runUnit(together[next++] as Unit);
    }),
  );
  for (const unit of units.filter((u) => u.alone)) await runUnit(unit);
  for (const unit of units.filter((u) => u.beside)) running.get(unit)?.kill('SIGUSR2');
  await Promise.all(besides);
  rmSync(scratch, { recursive: true, force: true });
  const parts = mergeTamper(results);
  const failures = parts.flatMap((r) => r.failures);
  console.log('');
  for (const r of parts) {
    console.log(
      `${r.part}: ${r.cases} case(s) in ${(r.durationMs / 1000).toFixed(1)} s, ${r.failures.length} failure(s) ${JSON.stringify(r.figures)}`,
    );
    for (const f of r.failures.slice(0, 20)) console.log(`  FAIL [${f.where}] ${f.detail}`);
  }
  const summary = {
    seed: args.seed,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    lanes: args.lanes,
    node: process.version,
    ok: failures.length === 0,
    parts,
  };
  mkdirSync(join(args.out, '..'), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(
    `\n${failures.length === 0 ? 'PASS' : `FAIL: ${failures.length} failure(s)`} in ${((Date.now() - started) / 1000).toFixed(0)} s; seed ${args.seed}; ${args.out}`,
  );
  process.exitCode = failures.length === 0 ? 0 : 1;
}

/** The tamper part's halves as one result (counts summed, per-kind tallies joined). */
function mergeTamper(results: readonly PartResult[]): PartResult[] {
  const halves = results.filter((r) => r.part === 'tamper');
  if (halves.length < 2) return [...results];
  const figures: Record<string, number | string | boolean> = {};
  for (const half of halves) {
    for (const [name, value] of Object.entries(half.figures)) {
      const had = figures[name];
      if (typeof value === 'number') figures[name] = (typeof had === 'number' ? had : 0) + value;
      else if (typeof value === 'string' && value.startsWith('{')) {
        const merged = typeof had === 'string' ? (JSON.parse(had) as Record<string, unknown>) : {};
        for (const [k, v] of Object.entries(JSON.parse(value) as Record<string, unknown>)) {
          merged[k] = typeof v === 'number' && typeof merged[k] === 'number' ? (merged[k] as number) + v : v;
        }
        figures[name] = JSON.stringify(merged);
      } else figures[name] = value;
    }
  }
  const cases = halves.reduce((n, r) => n + r.cases, 0);
  figures.detectionRate = cases === 0 ? 0 : Number(((100 * Number(figures.detected)) / cases).toFixed(2));
  const merged: PartResult = {
    part: 'tamper',
    seed: halves[0]?.seed ?? 0,
    cases,
    durationMs: Math.max(...halves.map((r) => r.durationMs)),
    figures,
    failures: halves.flatMap((r) => r.failures),
  };
  const first = results.indexOf(halves[0] as PartResult);
  return [
    ...results.slice(0, first).filter((r) => r.part !== 'tamper'),
    merged,
    ...results.slice(first).filter((r) => r.part !== 'tamper'),
  ];
}
