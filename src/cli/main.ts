#!/usr/bin/env node
/** The `sealdb` command. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { systemClock } from '../core/clock.js';
import { createRequestLogger } from '../http/request-log.js';
import { startServer } from '../server.js';
import { registerAuditCommands } from './audit.js';
import { registerBackupCommands } from './backup.js';
import { resolveConfig, type StartFlags } from './config.js';
import { ignoredFlagReason, translateDynamoDbLocalArgs } from './dynamodb-local-args.js';
import { registerExportCommands } from './export.js';
import { registerRootCommands } from './root.js';
import { registerTimeCommands } from './time.js';

// dist/src/cli/main.js → the package's own package.json.
const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command();
program
  .name('sealdb')
  .description('A DynamoDB-compatible database that keeps every byte encrypted at rest')
  .version(version, '-V, --version', 'print the version of sealdb');

program
  .command('start')
  .description('start the server')
  .option('--host <host>', 'address to listen on (default 127.0.0.1; env SEALDB_HOST)')
  .option('--port <port>', 'port to listen on (default 8000; env SEALDB_PORT)')
  .option('--data-dir <dir>', 'data directory (default ./sealdb-data; env SEALDB_DATA_DIR)')
  .option('--in-memory', 'keep everything in memory; nothing is written to disk (env SEALDB_IN_MEMORY)')
  .option(
    '--storage <url>',
    'where tables live: embedded (default, encrypted files in the data directory) or postgres://… (a PostgreSQL-compatible engine shared by many nodes; env SEALDB_STORAGE)',
  )
  .option(
    '--lease-seconds <seconds>',
    'engine storage: how long a node holds the lease of background work (TTL sweeps, stream trimming) without renewing it; renewed every third of it (default 15; env SEALDB_LEASE_SECONDS)',
  )
  .option(
    '--ttl-sweep-seconds <seconds>',
    'seconds between passes of the TTL sweeper over tables with Time to Live enabled (default 10; env SEALDB_TTL_SWEEP_SECONDS)',
  )
  .option(
    '--region <region>',
    'default region, for requests whose SigV4 credential scope names none (default us-east-1; env SEALDB_REGION)',
  )
  .option('--root-key-file <file>', 'root key file, created 0600 on first start (env SEALDB_ROOT_KEY_FILE)')
  .option(
    '--root-pkcs11 <spec>',
    'root key in a PKCS#11 token: module=<lib.so>,token=<label>,key-label=<label>; PIN from SEALDB_PKCS11_PIN (env SEALDB_ROOT_PKCS11)',
  )
  .option(
    '--kms <where>',
    'builtin (table keys from the KMS built in, also served on the port) or external (from --kms-endpoint; the built-in KMS API is off; env SEALDB_KMS)',
  )
  .option(
    '--kms-endpoint <url>',
    'external AWS-KMS-compatible endpoint; region per table, credentials from the AWS SDK default chain (env SEALDB_KMS_ENDPOINT)',
  )
  .option(
    '--kms-key-id <key>',
    'external KMS: the key of tables that ask for the AWS managed key (SSEType KMS without a key; env SEALDB_KMS_KEY_ID)',
  )
  .option(
    '--kms-grace-seconds <seconds>',
    'external KMS: how long cached table keys serve while the KMS is unreachable (default 900; env SEALDB_KMS_GRACE_SECONDS)',
  )
  .option('--auth <mode>', 'local (accept any credentials) or strict (verify SigV4; env SEALDB_AUTH)')
  .option(
    '--key-cache-scope <scope>',
    'connection (a table key per client connection, refreshed every 5 minutes, as DynamoDB) or table (one per table; env SEALDB_KEY_CACHE_SCOPE)',
  )
  .option(
    '--durability <mode>',
    'process (acknowledged writes survive a crash of sealdb) or fsync (also power loss; env SEALDB_DURABILITY)',
  )
  .option('--config <file>', 'JSON config file (env SEALDB_CONFIG)')
  .option(
    '--log-level <level>',
    'request log: off (default), error, warn, info (one line per request) or debug (env SEALDB_LOG_LEVEL)',
  )
  .option('--shared-db', 'one account and region for every caller, as DynamoDB Local -sharedDb (env SEALDB_SHARED_DB)')
  .option('--cors <origins>', 'comma-separated origins browsers may call from, * for any (env SEALDB_CORS)')
  .option(
    '--allow-time-travel',
    'TESTS ONLY: POST /_sealdb/time (or `sealdb time advance`) moves the clock forward (env SEALDB_ALLOW_TIME_TRAVEL)',
  )
  .option(
    '--export-dir <dir>',
    'the folder standing in for S3 in ExportTableToPointInTime / ImportTable: bucket B is <dir>/B (env SEALDB_EXPORT_DIR)',
  )
  .addHelpText(
    'after',
    '\nDynamoDB Local flags work too: -port, -inMemory, -dbPath, -sharedDb, -cors, -help; ' +
      '-delayTransientStatuses, -optimizeDbBeforeStartup and -disableTelemetry are accepted and ignored.',
  )
  .action(async (flags: StartFlags) => {
    const config = resolveConfig(flags);
    const onRequestComplete = createRequestLogger(config.logLevel, systemClock, (line) =>
      process.stdout.write(`${line}\n`),
    );
    const server = await startServer({
      ...config,
      onInternalError: (error) =>
        console.error('sealdb: internal error:', error instanceof Error ? error.message : error),
      onRootKeyCreated: (keyFile) =>
        console.log(
          `sealdb: created a new root key at ${keyFile}. Back it up now, and keep it apart from the data directory: ` +
            'without it the data cannot be read.',
        ),
      ...(onRequestComplete ? { onRequestComplete } : {}),
    });
    // Before the banner: a script may signal as soon as it sees it, and without a listener a signal kills at once.
    const stop = (signal: string) => {
      console.log(`sealdb: ${signal} received, stopping`);
      server.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('sealdb: error while stopping:', error instanceof Error ? error.message : error);
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    console.log(`sealdb ${version} listening on ${server.endpoint}`);
    console.log(
      `data directory: ${config.dataDir !== undefined ? resolve(config.dataDir) : '(in memory: nothing is written to disk; all data is lost when sealdb stops)'}`,
    );
    console.log(`root key: ${config.rootKeyDescription}`);
    console.log(`table-key cache: per ${config.keyCacheScope}`);
    console.log(
      config.kms.mode === 'builtin'
        ? 'KMS: built in (table keys from the KMS served on this port)'
        : `KMS: external, ${config.kms.endpoint ?? 'AWS KMS of each table region'} (built-in KMS API off; ` +
            `cached table keys serve for ${(config.kms.graceMs ?? 900_000) / 1000} s of an outage)`,
    );
    console.log(
      `durability: ${config.dataDir === undefined ? 'none (in memory)' : config.durability === 'fsync' ? 'fsync (writes are flushed to disk before they are acknowledged)' : 'process (writes survive a crash of sealdb; flushed to disk by checkpoints)'}`,
    );
    if (config.sharedDb) console.log('shared db: one account and region for every caller');
    if (config.corsAllowedOrigins) console.log(`CORS: allowed origins ${config.corsAllowedOrigins.join(', ')}`);
    if (config.logLevel !== 'off') console.log(`request log: ${config.logLevel}`);
    if (config.exportDir) {
      console.log(
        `exports: S3 buckets are the folders of ${resolve(config.exportDir)}; exported files are NOT encrypted ` +
          'unless the export asks for S3SseAlgorithm KMS',
      );
    }
    if (config.allowTimeTravel) {
      console.log(
        `WARNING: time travel is on (--allow-time-travel): anyone who may call POST ${server.endpoint}/_sealdb/time ` +
          `${config.auth.mode === 'strict' ? 'from this host ' : ''}can move the clock forward, which deletes keys ` +
          'pending deletion and archives tables for good. For tests only: never use it with data you keep.',
      );
    }
    console.log(
      config.auth.mode === 'local'
        ? 'auth: local (any credentials are accepted into account 000000000000; signatures are not verified)'
        : `auth: strict (SigV4 verified; ${config.auth.accounts.length} account(s) configured)`,
    );
  });

registerAuditCommands(program);
registerRootCommands(program);
registerExportCommands(program);
registerTimeCommands(program);
registerBackupCommands(program);

const translated = translateDynamoDbLocalArgs(process.argv.slice(2));
for (const flag of translated.ignored) console.error(`sealdb: ${flag} is ignored: ${ignoredFlagReason(flag)}`);

program.parseAsync(translated.args, { from: 'user' }).catch((error: unknown) => {
  console.error(`sealdb: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
