import { keepDeletedTableBackup } from '../backups/deleted-table.js';
import { validationError } from '../errors.js';
import { checkTableDeletable } from '../indexes/index-updates.js';
import type { Operation } from '../operation.js';
import { tableDescription } from '../table-description.js';
import { resolveTableName } from '../table-name.js';

export interface DeleteTableInput {
  TableName: string;
}

export const deleteTable: Operation<DeleteTableInput> = {
  name: 'DeleteTable',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const account = ctx.principal.accountId;
    const table = env.tables.describe(account, name);
    if (table.DeletionProtectionEnabled) {
      throw validationError(
        'Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.',
      );
    }
    checkTableDeletable(table);
    // PITR's history outlives the table as a SYSTEM backup (backups/deleted-table.ts).
    if (env.backups && env.pitr && !env.pitr.inMemory) {
      await keepDeletedTableBackup(env.backups, env.tables, account, table, ctx);
    }
    const stats = env.tables.stats(table);
    const definition = await env.tables.delete(account, name);
    // DynamoDB's DeleteTable leaves out the schema and the creation time (as recorded AWS CLI
    // outputs show: name, status, throughput, size, count, ARN, id, class, deletion protection).
    const {
      AttributeDefinitions: _a,
      KeySchema: _k,
      CreationDateTime: _c,
      ...description
    } = tableDescription(definition, stats);
    return { TableDescription: { ...description, TableStatus: 'DELETING' } };
  },
};
