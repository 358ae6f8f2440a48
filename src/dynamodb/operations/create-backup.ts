import { backupDetails } from '../backups/description.js';
import { backupsOf } from '../backups/environment.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';

export interface CreateBackupInput {
  TableName: string;
  BackupName: string;
}

export const createBackup: Operation<CreateBackupInput> = {
  name: 'CreateBackup',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const record = await backupsOf(env).create(env.tables, ctx.principal.accountId, name, input.BackupName, ctx);
    return { BackupDetails: backupDetails(record) };
  },
};
