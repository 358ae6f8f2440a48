import { tableNotFound } from '../backups/errors.js';
import type { Operation } from '../operation.js';
import { pitrOf } from '../pitr/environment.js';
import { continuousBackupsOf } from '../pitr/state.js';
import { resolveTableName } from '../table-name.js';

export interface UpdateContinuousBackupsInput {
  TableName: string;
  /** The model checks PointInTimeRecoveryEnabled is present and RecoveryPeriodInDays is 1–35. */
  PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: boolean; RecoveryPeriodInDays?: number };
}

export const updateContinuousBackups: Operation<UpdateContinuousBackupsInput> = {
  name: 'UpdateContinuousBackups',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const account = ctx.principal.accountId;
    // TableNotFoundException is this operation's not-found error (model error list).
    if (!env.tables.find(account, name)) throw tableNotFound(name);
    const pitr = pitrOf(env);
    const spec = input.PointInTimeRecoverySpecification;
    const definition = await pitr.update(
      env.tables,
      account,
      name,
      spec.PointInTimeRecoveryEnabled,
      spec.RecoveryPeriodInDays,
      ctx,
    );
    return { ContinuousBackupsDescription: continuousBackupsOf(definition, env.clock.now()) };
  },
};
