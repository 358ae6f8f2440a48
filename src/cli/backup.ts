/**
 * `sealdb backup list|create|restore`: on-demand backups of a running server, through its
 * DynamoDB API (SigV4-signed JSON 1.0, so the command needs no AWS SDK at run time), with a
 * progress line while a backup is copied or a restore fills its table.
 */
import type { Command } from 'commander';
import { callSignedJson, RemoteError } from '../http/sigv4-client.js';
import { type ApiFlags, withApiOptions } from './api-options.js';

export interface BackupCliIo {
  out(text: string): void;
  /** The progress line, rewritten in place on a terminal. */
  progress(text: string): void;
}

const consoleIo: BackupCliIo = {
  out: (text) => console.log(text),
  progress: (text) => {
    if (process.stderr.isTTY) process.stderr.write(`\r\u001b[2K${text}`);
    else process.stderr.write(`${text}\n`);
  },
};

/** One DynamoDB API call; an error answer throws with the server's type and message. */
export async function callDynamoDb(
  flags: ApiFlags,
  operation: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  try {
    return await callSignedJson(
      {
        endpoint: flags.endpointUrl,
        region: flags.region,
        credentials: { accessKeyId: flags.accessKeyId, secretAccessKey: flags.secretAccessKey },
        service: 'dynamodb',
        contentType: 'application/x-amz-json-1.0',
        target: `DynamoDB_20120810.${operation}`,
      },
      input,
    );
  } catch (error) {
    if (error instanceof RemoteError) throw new Error(`${error.code}: ${error.detail}`);
    // An answer that is not JSON came from the server: only a failed fetch means it cannot be reached.
    if (error instanceof SyntaxError) throw error;
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error);
    throw new Error(`cannot reach ${new URL(flags.endpointUrl)}: ${cause}`);
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const when = (epochSeconds: unknown) => new Date(Number(epochSeconds) * 1000).toISOString();
const megabytes = (bytes: unknown) => `${(Number(bytes ?? 0) / 1e6).toFixed(1)} MB`;

export async function listBackups(
  flags: ApiFlags & { table?: string; type?: string },
  io: BackupCliIo = consoleIo,
): Promise<void> {
  let start: string | undefined;
  let shown = 0;
  do {
    const page = await callDynamoDb(flags, 'ListBackups', {
      ...(flags.table ? { TableName: flags.table } : {}),
      ...(flags.type ? { BackupType: flags.type } : {}),
      ...(start ? { ExclusiveStartBackupArn: start } : {}),
    });
    for (const s of (page.BackupSummaries ?? []) as Record<string, unknown>[]) {
      io.out(
        `${when(s.BackupCreationDateTime)}  ${s.TableName}  ${s.BackupName}  ${s.BackupType}  ${s.BackupStatus}  ` +
          `${megabytes(s.BackupSizeBytes)}  ${s.BackupArn}`,
      );
      shown++;
    }
    start = page.LastEvaluatedBackupArn as string | undefined;
  } while (start);
  if (shown === 0) io.out('no backups');
}

export async function createBackup(
  flags: ApiFlags & { table: string; name: string; wait: boolean },
  io: BackupCliIo = consoleIo,
): Promise<string> {
  const created = await callDynamoDb(flags, 'CreateBackup', { TableName: flags.table, BackupName: flags.name });
  const details = created.BackupDetails as Record<string, unknown>;
  const arn = details.BackupArn as string;
  if (flags.wait) {
    const started = Date.now();
    for (;;) {
      const described = await callDynamoDb(flags, 'DescribeBackup', { BackupArn: arn });
      const status = (described.BackupDescription as { BackupDetails: { BackupStatus: string } }).BackupDetails
        .BackupStatus;
      io.progress(`backing up ${flags.table} (${megabytes(details.BackupSizeBytes)}): ${status}, ${elapsed(started)}`);
      if (status === 'AVAILABLE') break;
      await pause(250);
    }
  }
  io.out(arn);
  return arn;
}

export async function restoreBackup(
  flags: ApiFlags & { backupArn: string; target: string; sse?: string; billingMode?: string; wait: boolean },
  io: BackupCliIo = consoleIo,
): Promise<void> {
  const described = await callDynamoDb(flags, 'DescribeBackup', { BackupArn: flags.backupArn });
  const total = Number(
    (described.BackupDescription as { SourceTableDetails?: { ItemCount?: number } }).SourceTableDetails?.ItemCount ?? 0,
  );
  await callDynamoDb(flags, 'RestoreTableFromBackup', {
    TargetTableName: flags.target,
    BackupArn: flags.backupArn,
    ...(flags.billingMode ? { BillingModeOverride: flags.billingMode } : {}),
    ...(flags.sse ? { SSESpecificationOverride: sseOverride(flags.sse) } : {}),
  });
  if (flags.wait) {
    const started = Date.now();
    for (;;) {
      const table = (await callDynamoDb(flags, 'DescribeTable', { TableName: flags.target })).Table as {
        TableStatus: string;
        ItemCount?: number;
      };
      io.progress(
        `restoring ${flags.target}: ${bar(table.ItemCount ?? 0, total)} ${table.TableStatus}, ${elapsed(started)}`,
      );
      if (table.TableStatus === 'ACTIVE') break;
      await pause(250);
    }
  }
  io.out(`restored ${flags.backupArn} into ${flags.target}`);
}

/** `owned`, `managed`, or a KMS key id, ARN or alias. */
function sseOverride(value: string): Record<string, unknown> {
  if (value === 'owned') return { Enabled: false };
  if (value === 'managed') return { Enabled: true, SSEType: 'KMS' };
  return { Enabled: true, SSEType: 'KMS', KMSMasterKeyId: value };
}

function bar(done: number, total: number): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const width = 30;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} items`;
}

const elapsed = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

export function registerBackupCommands(program: Command): void {
  const backup = program.command('backup').description('on-demand backups of a running server: list, create, restore');
  withApiOptions(backup.command('list').description('list backups, oldest first'))
    .option('--table <name>', 'only the backups of this table')
    .option('--type <type>', 'USER (default), SYSTEM (archival) or ALL')
    .action((flags: ApiFlags & { table?: string; type?: string }) => listBackups(flags));
  withApiOptions(backup.command('create').description('back up a table; prints the backup ARN'))
    .requiredOption('--table <name>', 'the table')
    .requiredOption('--name <name>', 'the backup name')
    .option('--no-wait', 'return at once instead of waiting until the backup is AVAILABLE')
    .action(async (flags: ApiFlags & { table: string; name: string; wait: boolean }) => {
      await createBackup(flags);
    });
  withApiOptions(backup.command('restore').description('restore a backup into a new table'))
    .requiredOption('--backup-arn <arn>', 'the backup')
    .requiredOption('--target <name>', 'the new table')
    .option('--sse <key>', 'the new table key: owned, managed, or a KMS key id/ARN/alias (default: as the backup)')
    .option('--billing-mode <mode>', 'PAY_PER_REQUEST or PROVISIONED (default: as the backup)')
    .option('--no-wait', 'return at once instead of waiting until the table is ACTIVE')
    .action(
      (flags: ApiFlags & { backupArn: string; target: string; sse?: string; billingMode?: string; wait: boolean }) =>
        restoreBackup(flags),
    );
}
