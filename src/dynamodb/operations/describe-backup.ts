import { backupDescription } from '../backups/description.js';
import { backupsOf } from '../backups/environment.js';
import type { Operation } from '../operation.js';

export interface DescribeBackupInput {
  BackupArn: string;
}

export const describeBackup: Operation<DescribeBackupInput> = {
  name: 'DescribeBackup',
  async execute({ input, ctx, env }) {
    const record = await backupsOf(env).describe(ctx.principal.accountId, env.region, input.BackupArn);
    return { BackupDescription: backupDescription(record) };
  },
};
