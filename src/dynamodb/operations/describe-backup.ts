import { backupDescription } from '../backups/description.js';
import { backupsOf } from '../backups/environment.js';
import type { Operation } from '../operation.js';

export interface DescribeBackupInput {
  BackupArn: string;
}

export const describeBackup: Operation<DescribeBackupInput> = {
  name: 'DescribeBackup',
  execute({ input, ctx, env }) {
    const record = backupsOf(env).describe(ctx.principal.accountId, env.region, input.BackupArn);
    return { BackupDescription: backupDescription(record) };
  },
};
