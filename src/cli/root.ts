/**
 * `sealdb root rotate|pkcs11-keygen|status`: change the root of trust of a stopped data
 * directory (re-wrapping its master key), create a PKCS#11 root key, and show which root a data
 * directory needs.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createAuditTrail, openAuditSigner } from '../cloudtrail/index.js';
import { systemClock } from '../core/clock.js';
import { formatPkcs11Spec, PKCS11_PIN_ENV, Pkcs11Root, parsePkcs11Spec } from '../encryption/pkcs11-root.js';
import { CHECK_FILE, readCheckRecord } from '../encryption/root-of-trust.js';
import { type ConcreteRootSource, describeRoot, rotateRoot } from '../encryption/root-rotation.js';
import { DEFAULT_ACCOUNT_ID } from '../http/auth.js';
import { DataDirLock } from '../storage/data-dir-lock.js';
import { resolveConfig } from './config.js';

/** The new root's passphrase (the old one stays in SEALDB_ROOT_PASSPHRASE while rotating). */
export const NEW_PASSPHRASE_ENV = 'SEALDB_NEW_ROOT_PASSPHRASE';
/** The new token's PIN, when it differs from the old one's (default: SEALDB_PKCS11_PIN). */
export const NEW_PIN_ENV = 'SEALDB_NEW_PKCS11_PIN';

interface RootFlags {
  dataDir?: string;
  rootKeyFile?: string;
  rootPkcs11?: string;
  config?: string;
  region?: string;
}

/** `--to`: a PKCS#11 spec (has `module=`), the word `passphrase`, or a key file path. */
export function parseRotationTarget(text: string, env: NodeJS.ProcessEnv = process.env): ConcreteRootSource {
  if (text.includes('module=')) {
    return {
      kind: 'pkcs11',
      spec: parsePkcs11Spec(text.replace(/^pkcs11:/, '')),
      pin: env[NEW_PIN_ENV] || env[PKCS11_PIN_ENV] || undefined,
    };
  }
  if (text === 'passphrase') {
    const passphrase = env[NEW_PASSPHRASE_ENV];
    if (!passphrase) throw new Error(`--to passphrase takes the new passphrase from ${NEW_PASSPHRASE_ENV}: set it`);
    return { kind: 'passphrase', passphrase };
  }
  return { kind: 'key-file', path: text.replace(/^file:/, '') };
}

/** How to start sealdb with a root, for the operator. */
function startHint(source: ConcreteRootSource): string {
  switch (source.kind) {
    case 'key-file':
      return `--root-key-file ${resolve(source.path)}`;
    case 'passphrase':
      return `SEALDB_ROOT_PASSPHRASE set to the new passphrase (the value of ${NEW_PASSPHRASE_ENV})`;
    case 'pkcs11':
      return `--root-pkcs11 ${formatPkcs11Spec(source.spec)} and ${PKCS11_PIN_ENV}`;
  }
}

function currentRoot(flags: RootFlags): { dataDir: string; source: ConcreteRootSource; region: string } {
  const config = resolveConfig({
    ...(flags.dataDir !== undefined ? { dataDir: flags.dataDir } : {}),
    ...(flags.rootKeyFile !== undefined ? { rootKeyFile: flags.rootKeyFile } : {}),
    ...(flags.rootPkcs11 !== undefined ? { rootPkcs11: flags.rootPkcs11 } : {}),
    ...(flags.config !== undefined ? { config: flags.config } : {}),
    ...(flags.region !== undefined ? { region: flags.region } : {}),
  });
  const dataDir = config.dataDir;
  if (dataDir === undefined) throw new Error('an in-memory server has no root to rotate; give --data-dir');
  if (!existsSync(join(dataDir, CHECK_FILE))) throw new Error(`${dataDir} is not a sealdb data directory`);
  if (config.rootKey.kind === 'ephemeral') throw new Error('an in-memory server has no root to rotate');
  return { dataDir, source: config.rootKey, region: config.region };
}

const dataDirOptions = (command: Command): Command =>
  command
    .option('--data-dir <dir>', 'data directory (default ./sealdb-data; env SEALDB_DATA_DIR)')
    .option('--root-key-file <file>', 'its current root key file (env SEALDB_ROOT_KEY_FILE)')
    .option('--root-pkcs11 <spec>', 'its current PKCS#11 root: module=…,token=…,key-label=… (env SEALDB_ROOT_PKCS11)')
    .option('--config <file>', 'JSON config file (env SEALDB_CONFIG)');

export function registerRootCommands(program: Command): void {
  const root = program.command('root').description("the data directory's root of trust");

  dataDirOptions(
    root
      .command('rotate')
      .description(
        'seal the master key under a new root (sealdb stopped; takes milliseconds; a crash leaves the old or the new root working)',
      )
      .requiredOption(
        '--to <root>',
        `the new root: a key file path (created 0600 if missing), "passphrase" (from ${NEW_PASSPHRASE_ENV}) or a PKCS#11 spec module=…,token=…,key-label=… (PIN from ${NEW_PIN_ENV} or ${PKCS11_PIN_ENV})`,
      )
      .option('--account <id>', `account whose audit trail records the rotation (default ${DEFAULT_ACCOUNT_ID})`)
      .option('--region <region>', 'region of that record (default us-east-1; env SEALDB_REGION)'),
  ).action(async (flags: RootFlags & { to: string; account?: string }) => {
    const { dataDir, source, region } = currentRoot(flags);
    const target = parseRotationTarget(flags.to);
    let lock: DataDirLock;
    try {
      lock = DataDirLock.acquire(dataDir);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message} Stop it before rotating its root (the rotation takes milliseconds).`);
    }
    try {
      const result = await rotateRoot(
        dataDir,
        source,
        target,
        { accountId: flags.account ?? DEFAULT_ACCOUNT_ID, region },
        async (opened) => {
          const signer = await openAuditSigner(dataDir, opened);
          return createAuditTrail({ dataDir, root: opened, clock: systemClock, ...(signer ? { signer } : {}) });
        },
      );
      if (result.createdKeyFile) {
        console.log(`sealdb: created the new root key file ${result.createdKeyFile}; back it up now.`);
      }
      console.log(
        `sealdb: the root of ${resolve(dataDir)} is now the ${describeRoot(target)} (was the ${describeRoot(source)}); ` +
          `rotation ${result.id} took ${result.switchMs} ms, during which the data directory was locked. ` +
          'It is recorded in the audit trail (RotateRootKey).',
      );
      console.log(`sealdb: start sealdb with ${startHint(target)}.`);
      console.log(
        'sealdb: this data directory no longer needs the old root; backups made before the rotation still do.',
      );
    } finally {
      lock.release();
    }
  });

  root
    .command('pkcs11-keygen')
    .description(
      'create the root key in a PKCS#11 token: AES-256, sensitive, never extractable (PIN from SEALDB_PKCS11_PIN)',
    )
    .requiredOption('--root-pkcs11 <spec>', 'module=<lib.so>,token=<label>,key-label=<label>')
    .action((flags: { rootPkcs11: string }) => {
      const spec = parsePkcs11Spec(flags.rootPkcs11);
      Pkcs11Root.generateKey(spec, process.env[PKCS11_PIN_ENV] || undefined);
      console.log(
        `sealdb: created the AES-256 root key "${spec.keyLabel}" on PKCS#11 token "${spec.token}" (non-extractable).`,
      );
    });

  root
    .command('status')
    .description('which root of trust a data directory needs, and its last rotation')
    .option('--data-dir <dir>', 'data directory (default ./sealdb-data; env SEALDB_DATA_DIR)')
    .action((flags: { dataDir?: string }) => {
      const dataDir = flags.dataDir ?? process.env.SEALDB_DATA_DIR ?? './sealdb-data';
      const record = readCheckRecord(join(dataDir, CHECK_FILE));
      const where = record.pkcs11 ? ` (token "${record.pkcs11.token}", key "${record.pkcs11.keyLabel}")` : '';
      console.log(
        `root: ${record.kind}${where}; master key ${record.version === 2 ? 'sealed by the root' : 'is the root key'}`,
      );
      if (record.rotation) {
        console.log(
          `last rotation: ${record.rotation.id} at ${record.rotation.at}, ${record.rotation.from} -> ${record.rotation.to}` +
            `${record.rotation.audited ? '' : ' (audit record pending: written at the next start)'}`,
        );
      }
    });
}
