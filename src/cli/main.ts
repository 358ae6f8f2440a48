#!/usr/bin/env node
/** The `sealdb` command. */
import { Command } from 'commander';
import { startServer } from '../server.js';
import { registerAuditCommands } from './audit.js';
import { resolveConfig, type StartFlags } from './config.js';

const program = new Command();
program.name('sealdb').description('A DynamoDB-compatible database that keeps every byte encrypted at rest');

program
  .command('start')
  .description('start the server')
  .option('--host <host>', 'address to listen on (default 127.0.0.1; env SEALDB_HOST)')
  .option('--port <port>', 'port to listen on (default 8000; env SEALDB_PORT)')
  .option('--data-dir <dir>', 'data directory (default ./sealdb-data; env SEALDB_DATA_DIR)')
  .option('--in-memory', 'keep everything in memory; nothing is written to disk (env SEALDB_IN_MEMORY)')
  .option('--region <region>', 'AWS region the server answers as (default us-east-1; env SEALDB_REGION)')
  .option('--root-key-file <file>', 'root key file, created 0600 on first start (env SEALDB_ROOT_KEY_FILE)')
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
  .action(async (flags: StartFlags) => {
    const config = resolveConfig(flags);
    const server = await startServer({
      ...config,
      onInternalError: (error) =>
        console.error('sealdb: internal error:', error instanceof Error ? error.message : error),
    });
    console.log(`sealdb listening on ${server.endpoint}`);
    console.log(`data directory: ${config.dataDir ?? '(in memory: nothing is written to disk)'}`);
    console.log(`root key: ${config.rootKeyDescription}`);
    console.log(`table-key cache: per ${config.keyCacheScope}`);
    console.log(
      `durability: ${config.durability === 'fsync' ? 'fsync (writes are flushed to disk before they are acknowledged)' : 'process (writes survive a crash of sealdb; flushed to disk by checkpoints)'}`,
    );
    console.log(
      config.auth.mode === 'local'
        ? 'auth: local (any credentials are accepted into account 000000000000; signatures are not verified)'
        : `auth: strict (SigV4 verified; ${config.auth.accounts.length} account(s) configured)`,
    );
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
  });

registerAuditCommands(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`sealdb: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
