import { backupSummary } from '../backups/description.js';
import { backupsOf } from '../backups/environment.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';

export interface ListBackupsInput {
  TableName?: string;
  Limit?: number;
  /** epoch seconds (the SDKs send timestamps as numbers) */
  TimeRangeLowerBound?: number;
  TimeRangeUpperBound?: number;
  ExclusiveStartBackupArn?: string;
  BackupType?: 'USER' | 'SYSTEM' | 'AWS_BACKUP' | 'ALL';
}

export const listBackups: Operation<ListBackupsInput> = {
  name: 'ListBackups',
  async execute({ input, ctx, env }) {
    const { backups, lastEvaluated } = await backupsOf(env).list(ctx.principal.accountId, env.region, {
      ...(input.TableName !== undefined ? { tableName: resolveTableName(input.TableName, ctx) } : {}),
      // Lower bound inclusive, upper bound exclusive (the model's documentation of both members).
      ...(input.TimeRangeLowerBound !== undefined ? { from: toMs(input.TimeRangeLowerBound) } : {}),
      ...(input.TimeRangeUpperBound !== undefined ? { to: toMs(input.TimeRangeUpperBound) } : {}),
      // "USER … (The default setting if no other backup types are specified.)" (model documentation).
      type: input.BackupType ?? 'USER',
      ...(input.ExclusiveStartBackupArn !== undefined ? { exclusiveStartArn: input.ExclusiveStartBackupArn } : {}),
      ...(input.Limit !== undefined ? { limit: input.Limit } : {}),
    });
    return {
      BackupSummaries: backups.map(backupSummary),
      ...(lastEvaluated ? { LastEvaluatedBackupArn: lastEvaluated } : {}),
    };
  },
};

const toMs = (epochSeconds: number): number => Math.round(epochSeconds * 1000);
