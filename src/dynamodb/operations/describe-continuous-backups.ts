import { tableNotFound } from '../backups/errors.js';
import type { Operation } from '../operation.js';
import { continuousBackupsOf } from '../pitr/state.js';
import { resolveTableName } from '../table-name.js';

export interface DescribeContinuousBackupsInput {
  TableName: string;
}

export const describeContinuousBackups: Operation<DescribeContinuousBackupsInput> = {
  name: 'DescribeContinuousBackups',
  execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const definition = env.tables.find(ctx.principal.accountId, name);
    // TableNotFoundException is this operation's not-found error (model error list).
    if (!definition) throw tableNotFound(name);
    return {
      ContinuousBackupsDescription: continuousBackupsOf(definition, env.clock.now(), env.pitr?.inMemory ?? true),
    };
  },
};
