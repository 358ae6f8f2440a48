/**
 * DynamoDB Local's command-line flags as aliases of `sealdb start`'s options, so a script that runs
 * `java -jar DynamoDBLocal.jar -sharedDb -port 8000` runs `sealdb -sharedDb -port 8000` unchanged.
 * Flag names and meanings from DynamoDB Local's usage notes (Developer Guide, "DynamoDB local usage
 * notes", Command line options). commander knows no single-dash long options, hence this rewrite.
 */

/** Each DynamoDB Local flag and the sealdb option it means. */
const ALIASES: ReadonlyMap<string, string> = new Map([
  ['-port', '--port'],
  ['-inMemory', '--in-memory'],
  // DynamoDB Local's -dbPath is the directory its database files go to: sealdb's data directory.
  ['-dbPath', '--data-dir'],
  ['-sharedDb', '--shared-db'],
  ['-cors', '--cors'],
  ['-help', '--help'],
]);

/** Flags that change nothing in sealdb: accepted so scripts run, and reported as ignored. */
const IGNORED: ReadonlyMap<string, string> = new Map([
  ['-delayTransientStatuses', "sealdb's tables are usable as soon as CreateTable answers"],
  ['-optimizeDbBeforeStartup', 'sealdb needs no optimisation pass over its files before it starts'],
  ['-disableTelemetry', 'sealdb sends no telemetry'],
]);

/** `start` options whose next argument is their value, never a flag to translate. */
const TAKES_VALUE = new Set([
  '--host',
  '--port',
  '--data-dir',
  '--region',
  '--root-key-file',
  '--auth',
  '--key-cache-scope',
  '--durability',
  '--config',
  '--log-level',
  '--cors',
  '-port',
  '-dbPath',
  '-cors',
]);

export interface TranslatedArgs {
  /** The arguments for commander (without node and the script). */
  readonly args: string[];
  /** The DynamoDB Local flags that were dropped, in order. */
  readonly ignored: string[];
}

/** The reason sealdb ignores a DynamoDB Local flag, for the notice at startup. */
export function ignoredFlagReason(flag: string): string {
  return IGNORED.get(flag) ?? '';
}

/**
 * Rewrites the arguments of `sealdb start …`, and of `sealdb <DynamoDB Local flags…>` (which means
 * `start`, as DynamoDB Local has no commands). Every other command is left as it is.
 */
export function translateDynamoDbLocalArgs(argv: readonly string[]): TranslatedArgs {
  const [first] = argv;
  if (first === undefined) return { args: [...argv], ignored: [] };
  const implicitStart = ALIASES.has(first) || IGNORED.has(first);
  if (first !== 'start' && !implicitStart) return { args: [...argv], ignored: [] };
  const rest = implicitStart ? argv : argv.slice(1);
  const args = ['start'];
  const ignored: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (IGNORED.has(arg)) {
      ignored.push(arg);
      continue;
    }
    args.push(ALIASES.get(arg) ?? arg);
    if (TAKES_VALUE.has(arg) && i + 1 < rest.length) args.push(rest[++i] as string);
  }
  return { args, ignored };
}
