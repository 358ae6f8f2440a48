/**
 * Server settings from, in increasing precedence: defaults, a JSON config file
 * (`--config` or SEALDB_CONFIG), environment variables, command-line flags.
 */
import { readFileSync } from 'node:fs';
import { defaultRootKeyFile, type RootKeySource } from '../encryption/root-of-trust.js';
import type { AccountConfig } from '../http/auth.js';
import type { AuthConfig } from '../server.js';
import { DURABILITY_MODES, type Durability } from '../storage/wal-sync.js';

export interface StartFlags {
  host?: string;
  port?: string;
  dataDir?: string;
  inMemory?: boolean;
  region?: string;
  rootKeyFile?: string;
  auth?: string;
  keyCacheScope?: string;
  durability?: string;
  config?: string;
}

interface ConfigFile {
  host?: string;
  port?: number;
  dataDir?: string;
  inMemory?: boolean;
  region?: string;
  rootKeyFile?: string;
  auth?: 'local' | 'strict';
  accounts?: AccountConfig[];
  keyCacheScope?: 'connection' | 'table';
  durability?: Durability;
}

export interface ResolvedConfig {
  host: string;
  port: number;
  dataDir: string | undefined;
  region: string;
  rootKey: RootKeySource;
  auth: AuthConfig;
  keyCacheScope: 'connection' | 'table';
  durability: Durability;
  /** For the startup banner: where the root key comes from (never the key itself). */
  rootKeyDescription: string;
}

export const DEFAULTS = { host: '127.0.0.1', port: 8000, dataDir: './sealdb-data', region: 'us-east-1' } as const;

/** The environment variable whose value, when set, is the root passphrase (stretched with scrypt). */
export const PASSPHRASE_ENV = 'SEALDB_ROOT_PASSPHRASE';

export function resolveConfig(flags: StartFlags, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const configPath = flags.config ?? env.SEALDB_CONFIG;
  const file: ConfigFile = configPath ? (JSON.parse(readFileSync(configPath, 'utf8')) as ConfigFile) : {};
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
  const passphrase = env[PASSPHRASE_ENV];
  const rootKeyFile = pick(flags.rootKeyFile, env.SEALDB_ROOT_KEY_FILE, file.rootKeyFile, defaultRootKeyFile(env));
  const rootKey: RootKeySource = passphrase
    ? { kind: 'passphrase', passphrase }
    : { kind: 'key-file', path: rootKeyFile };
  return {
    host: pick(flags.host, env.SEALDB_HOST, file.host, DEFAULTS.host),
    port,
    dataDir: inMemory ? undefined : pick(flags.dataDir, env.SEALDB_DATA_DIR, file.dataDir, DEFAULTS.dataDir),
    region: pick(flags.region, env.SEALDB_REGION, file.region, DEFAULTS.region),
    rootKey,
    auth: authMode === 'strict' ? { mode: 'strict', accounts: file.accounts ?? [] } : { mode: 'local' },
    keyCacheScope,
    durability: durability as Durability,
    rootKeyDescription: inMemory
      ? 'ephemeral (in memory)'
      : passphrase
        ? `passphrase from ${PASSPHRASE_ENV} (scrypt)`
        : `key file ${rootKeyFile}`,
  };
}

function boolEnv(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  return value === '1' || value.toLowerCase() === 'true';
}
