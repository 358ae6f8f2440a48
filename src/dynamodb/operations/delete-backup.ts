import { backupDescription } from '../backups/description.js';
import { backupsOf } from '../backups/environment.js';
import type { Operation } from '../operation.js';

export interface DeleteBackupInput {
  BackupArn: string;
}

export const deleteBackup: Operation<DeleteBackupInput> = {
  name: 'DeleteBackup',
  async execute({ input, ctx, env }) {
    const record = await backupsOf(env).delete(ctx.principal.accountId, env.region, input.BackupArn);
    return { BackupDescription: backupDescription(record, 'DELETED') };
  },
};
