/**
 * Server settings from, in increasing precedence: defaults, a JSON config file
 * (`--config` or SEALDB_CONFIG), environment variables, command-line flags.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PKCS11_PIN_ENV, parsePkcs11Spec } from '../encryption/pkcs11-root.js';
import { defaultRootKeyFile, type RootKeySource } from '../encryption/root-of-trust.js';
import type { AccountConfig } from '../http/auth.js';
import { LOG_LEVELS, type LogLevel } from '../http/request-log.js';
import type { AuthConfig, KmsConfig } from '../server.js';
import { DURABILITY_MODES, type Durability } from '../storage/wal-sync.js';

export interface StartFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  inMemory?: boolean;
  storage?: string;
  region?: string;
  rootKeyFile?: string;
  rootPkcs11?: string;
  auth?: string;
  keyCacheScope?: string;
  durability?: string;
  config?: string;
  logLevel?: string;
  sharedDb?: boolean;
  cors?: string;
  allowTimeTravel?: boolean;
  exportDir?: string;
  kms?: string;
  kmsEndpoint?: string;
  kmsKeyId?: string;
  kmsGraceSeconds?: string;
  leaseSeconds?: string;
  ttlSweepSeconds?: string;
}

interface ConfigFile {
  host?: string;
  port?: number;
  dataDir?: string;
  inMemory?: boolean;
  storage?: string;
  region?: string;
  rootKeyFile?: string;
  rootPkcs11?: string;
  auth?: 'local' | 'strict';
  accounts?: AccountConfig[];
  keyCacheScope?: 'connection' | 'table';
  durability?: Durability;
  logLevel?: LogLevel;
  sharedDb?: boolean;
  cors?: string | string[];
  allowTimeTravel?: boolean;
  exportDir?: string;
  kms?: 'builtin' | 'external';
  kmsEndpoint?: string;
  kmsKeyId?: string;
  kmsGraceSeconds?: number;
  leaseSeconds?: number;
  ttlSweepSeconds?: number;
}

/** What each config-file key must hold; anything else in the file is refused, naming the key. */
const CONFIG_FILE_KEYS: Record<keyof ConfigFile, (value: unknown) => string | undefined> = {
  host: expectString,
  port: (v) => (typeof v === 'number' ? undefined : 'must be a number'),
  dataDir: expectString,
  storage: expectString,
  inMemory: expectBoolean,
  region: expectString,
  rootKeyFile: expectString,
  rootPkcs11: expectString,
  auth: expectString,
  accounts: (v) =>
    Array.isArray(v) && v.every((a) => typeof a === 'object' && a !== null && !Array.isArray(a))
      ? undefined
      : 'must be a list of objects ({"accountId": ..., "accessKeys": [...]})',
  keyCacheScope: expectString,
  durability: expectString,
  logLevel: expectString,
  sharedDb: expectBoolean,
  cors: (v) =>
    typeof v === 'string' || (Array.isArray(v) && v.every((o) => typeof o === 'string'))
      ? undefined
      : 'must be a string or a list of strings',
  allowTimeTravel: expectBoolean,
  exportDir: expectString,
  kms: expectString,
  kmsEndpoint: expectString,
  kmsKeyId: expectString,
  kmsGraceSeconds: (v) => (typeof v === 'number' ? undefined : 'must be a number'),
  leaseSeconds: (v) => (typeof v === 'number' ? undefined : 'must be a number'),
  ttlSweepSeconds: (v) => (typeof v === 'number' ? undefined : 'must be a number'),
};

function expectString(value: unknown): string | undefined {
  return typeof value === 'string' ? undefined : 'must be a string';
}

function expectBoolean(value: unknown): string | undefined {
  return typeof value === 'boolean' ? undefined : 'must be true or false';
}

export interface ResolvedConfig {
  host: string;
  port: number;
  dataDir: string | undefined;
  /** A PostgreSQL-compatible engine's URL; undefined = the embedded files. */
  storage?: string;
  region: string;
  rootKey: RootKeySource;
  auth: AuthConfig;
  keyCacheScope: 'connection' | 'table';
  durability: Durability;
  logLevel: LogLevel;
  /** DynamoDB Local's -sharedDb: one account and region for every caller. */
  sharedDb: boolean;
  /** Origins a browser may call from (`*` = any); undefined = the server's default. */
  corsAllowedOrigins: string[] | undefined;
  /** Test only: `POST /_sealdb/time` may move the server's clock forward. */
  allowTimeTravel: boolean;
  /** The folder standing in for S3 (exports and imports); undefined = none. */
  exportDir: string | undefined;
  /** For the startup banner: where the root key comes from (never the key itself). */
  rootKeyDescription: string;
  /** Where table keys come from. */
  kms: KmsConfig;
  /** Engine storage: how long a background-work lease stands unrenewed (renewed every third of it). */
  leases?: { ttlMs: number };
  /** Real milliseconds between TTL passes (undefined: the server's default). */
  ttlSweepIntervalMs?: number;
}

export const DEFAULTS = { host: '127.0.0.1', port: 8000, dataDir: './sealdb-data', region: 'us-east-1' } as const;

/** The environment variable whose value, when set, is the root passphrase (stretched with scrypt). */
export const PASSPHRASE_ENV = 'SEALDB_ROOT_PASSPHRASE';

export function resolveConfig(flags: StartFlags, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const configPath = flags.config ?? env.SEALDB_CONFIG;
  const file: ConfigFile = configPath ? readConfigFile(configPath) : {};
  const pick = <T>(flag: T | undefined, envValue: T | undefined, fileValue: T | undefined, fallback: T): T =>
    flag ?? envValue ?? fileValue ?? fallback;

  const inMemory = pick(flags.inMemory, boolEnv(env.SEALDB_IN_MEMORY), file.inMemory, false);
  const portText = pick(flags.port, env.SEALDB_PORT, file.port?.toString(), String(DEFAULTS.port));
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port: ${portText}`);
  const authMode = pick(flags.auth, env.SEALDB_AUTH, file.auth, 'local');
  if (authMode !== 'local' && authMode !== 'strict') throw new Error(`--auth must be local or strict, not ${authMode}`);
  if (authMode === 'strict' && !file.accounts?.length) {
    throw new Error('--auth strict needs "accounts" with access keys in the config file');
  }
  const keyCacheScope = pick(flags.keyCacheScope, env.SEALDB_KEY_CACHE_SCOPE, file.keyCacheScope, 'connection');
  if (keyCacheScope !== 'connection' && keyCacheScope !== 'table') {
    throw new Error(`--key-cache-scope must be connection or table, not ${keyCacheScope}`);
  }
  const durability = pick<string>(flags.durability, env.SEALDB_DURABILITY, file.durability, 'process');
  if (!(DURABILITY_MODES as readonly string[]).includes(durability)) {
    throw new Error(`--durability must be process or fsync, not ${durability}`);
  }
  if (inMemory && durability === 'fsync') {
    throw new Error(
      '--durability fsync cannot be used with --in-memory: nothing is written to disk, so there is nothing to flush',
    );
  }
  const logLevel = pick<string>(flags.logLevel, env.SEALDB_LOG_LEVEL || undefined, file.logLevel, 'off');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new Error(`--log-level must be ${LOG_LEVELS.slice(0, -1).join(', ')} or debug, not ${logLevel}`);
  }
  const corsAllowedOrigins = parseOrigins(
    pick<string | string[] | undefined>(flags.cors, env.SEALDB_CORS || undefined, file.cors, undefined),
  );
  const passphrase = env[PASSPHRASE_ENV];
  const rootKeyFile = pick(flags.rootKeyFile, env.SEALDB_ROOT_KEY_FILE, file.rootKeyFile, defaultRootKeyFile(env));
  const pkcs11Text = flags.rootPkcs11 ?? (env.SEALDB_ROOT_PKCS11 || undefined) ?? file.rootPkcs11;
  if (pkcs11Text !== undefined && passphrase) {
    throw new Error(`--root-pkcs11 and ${PASSPHRASE_ENV} name two roots of trust: choose one`);
  }
  const pkcs11 = pkcs11Text !== undefined ? parsePkcs11Spec(pkcs11Text) : undefined;
  const rootKey: RootKeySource = pkcs11
    ? { kind: 'pkcs11', spec: pkcs11, pin: env[PKCS11_PIN_ENV] || undefined }
    : passphrase
      ? { kind: 'passphrase', passphrase }
      : { kind: 'key-file', path: rootKeyFile };
  const kms = resolveKms(flags, env, file);
  const storage = resolveStorage(
    pick(flags.storage, env.SEALDB_STORAGE || undefined, file.storage, 'embedded'),
    inMemory,
  );
  const leaseText = flags.leaseSeconds ?? (env.SEALDB_LEASE_SECONDS || undefined) ?? file.leaseSeconds?.toString();
  const leaseSeconds = leaseText === undefined ? undefined : positiveSeconds('--lease-seconds', leaseText);
  const ttlText =
    flags.ttlSweepSeconds ?? (env.SEALDB_TTL_SWEEP_SECONDS || undefined) ?? file.ttlSweepSeconds?.toString();
  const ttlSweepSeconds = ttlText === undefined ? undefined : positiveSeconds('--ttl-sweep-seconds', ttlText);
  return {
    ...(storage !== undefined ? { storage } : {}),
    ...(leaseSeconds !== undefined ? { leases: { ttlMs: Math.round(leaseSeconds * 1000) } } : {}),
    ...(ttlSweepSeconds !== undefined ? { ttlSweepIntervalMs: Math.round(ttlSweepSeconds * 1000) } : {}),
    host: pick(flags.host, env.SEALDB_HOST, file.host, DEFAULTS.host),
    port,
    dataDir: inMemory ? undefined : pick(flags.dataDir, env.SEALDB_DATA_DIR, file.dataDir, DEFAULTS.dataDir),
    region: pick(flags.region, env.SEALDB_REGION, file.region, DEFAULTS.region),
    rootKey,
    auth: authMode === 'strict' ? { mode: 'strict', accounts: file.accounts ?? [] } : { mode: 'local' },
    keyCacheScope,
    durability: durability as Durability,
    logLevel: logLevel as LogLevel,
    sharedDb: pick(flags.sharedDb, boolEnv(env.SEALDB_SHARED_DB), file.sharedDb, false),
    corsAllowedOrigins,
    allowTimeTravel: pick(flags.allowTimeTravel, boolEnv(env.SEALDB_ALLOW_TIME_TRAVEL), file.allowTimeTravel, false),
    exportDir: pick<string | undefined>(flags.exportDir, env.SEALDB_EXPORT_DIR || undefined, file.exportDir, undefined),
    rootKeyDescription: inMemory
      ? 'ephemeral (in memory)'
      : pkcs11
        ? `PKCS#11 key "${pkcs11.keyLabel}" on token "${pkcs11.token}" (${pkcs11.module}; PIN from ${PKCS11_PIN_ENV})`
        : passphrase
          ? `passphrase from ${PASSPHRASE_ENV} (scrypt)`
          : `key file ${resolve(rootKeyFile)}`,
    kms,
  };
}

function positiveSeconds(flag: string, text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`${flag} must be a positive number of seconds, not ${text}`);
  return seconds;
}

/** `embedded` (the default) or an engine URL; an engine needs a root of trust that outlives the process. */
function resolveStorage(value: string, inMemory: boolean): string | undefined {
  if (value === 'embedded') return undefined;
  if (!/^postgres(ql)?:\/\//.test(value)) throw new Error('--storage must be embedded or a postgres:// URL');
  if (inMemory) {
    throw new Error('--storage postgres:// cannot be used with --in-memory: the root key would die with the process');
  }
  return value;
}

function resolveKms(flags: StartFlags, env: NodeJS.ProcessEnv, file: ConfigFile): KmsConfig {
  const endpoint = flags.kmsEndpoint ?? (env.SEALDB_KMS_ENDPOINT || undefined) ?? file.kmsEndpoint;
  const mode = flags.kms ?? (env.SEALDB_KMS || undefined) ?? file.kms ?? (endpoint ? 'external' : 'builtin');
  if (mode !== 'builtin' && mode !== 'external') throw new Error(`--kms must be builtin or external, not ${mode}`);
  const keyId = flags.kmsKeyId ?? (env.SEALDB_KMS_KEY_ID || undefined) ?? file.kmsKeyId;
  const graceText =
    flags.kmsGraceSeconds ?? (env.SEALDB_KMS_GRACE_SECONDS || undefined) ?? file.kmsGraceSeconds?.toString();
  if (mode === 'builtin') {
    if (endpoint || keyId || graceText) {
      throw new Error(
        '--kms-endpoint, --kms-key-id and --kms-grace-seconds are for --kms external (table keys from an external KMS)',
      );
    }
    return { mode: 'builtin' };
  }
  if (endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new Error(`--kms-endpoint must be a URL such as https://kms.us-east-1.amazonaws.com, not ${endpoint}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`--kms-endpoint must be an http or https URL, not ${endpoint}`);
    }
  }
  const grace = graceText === undefined ? undefined : Number(graceText);
  if (grace !== undefined && (!Number.isFinite(grace) || grace < 0)) {
    throw new Error(`--kms-grace-seconds must be a number of seconds (0 or more), not ${graceText}`);
  }
  return {
    mode: 'external',
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(keyId !== undefined ? { defaultKeyId: keyId } : {}),
    ...(grace !== undefined ? { graceMs: grace * 1000 } : {}),
  };
}

function readConfigFile(path: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    if (error instanceof SyntaxError) throw new Error(`the config file ${path} is not valid JSON: ${error.message}`);
    throw new Error(`cannot read the config file ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`the config file ${path} must hold a JSON object ({"port": 8000, ...})`);
  }
  const known = Object.keys(CONFIG_FILE_KEYS);
  for (const [key, value] of Object.entries(parsed)) {
    const check = CONFIG_FILE_KEYS[key as keyof ConfigFile];
    // A typo would otherwise be silently ignored and the default used instead.
    if (!check) throw new Error(`the config file ${path} has an unknown key "${key}"; known keys: ${known.join(', ')}`);
    const problem = check(value);
    if (problem) throw new Error(`the config file ${path}: "${key}" ${problem}`);
  }
  return parsed as ConfigFile;
}

/** DynamoDB Local's -cors value: a comma-separated list of origins, `*` for any. */
function parseOrigins(value: string | string[] | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const origins = (typeof value === 'string' ? value.split(',') : value).map((o) => o.trim()).filter((o) => o !== '');
  if (origins.length === 0) throw new Error('--cors needs at least one origin (or * for any)');
  return origins;
}

function boolEnv(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return value === '1' || value.toLowerCase() === 'true';
}
