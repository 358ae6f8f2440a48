import { backupsOf } from '../backups/environment.js';
import { type RestoreOverrides, restoredTable } from '../backups/restore-overrides.js';
import { creatingDescription } from '../indexes/description.js';
import type { Operation } from '../operation.js';
import { keyChoice, type SseSpecification } from '../sse.js';
import { tableDescription } from '../table-description.js';
import { resolveTableName } from '../table-name.js';

export interface RestoreTableFromBackupInput extends RestoreOverrides {
  TargetTableName: string;
  BackupArn: string;
  SSESpecificationOverride?: SseSpecification;
}

export const restoreTableFromBackup: Operation<RestoreTableFromBackupInput> = {
  name: 'RestoreTableFromBackup',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TargetTableName, ctx, 'targetTableName');
    const backups = backupsOf(env);
    const account = ctx.principal.accountId;
    const record = await backups.describe(account, env.region, input.BackupArn);
    const table = restoredTable(record.source, name, input, env.clock.now() / 1000);
    const choice = input.SSESpecificationOverride ? keyChoice(input.SSESpecificationOverride) : undefined;
    const definition = await backups.restore(env.tables, account, env.region, input.BackupArn, table, choice, ctx);
    return { TableDescription: creatingDescription(tableDescription(definition)) };
  },
};
