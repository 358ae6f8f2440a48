import type { Operation } from '../operation.js';

export interface ListTablesInput {
  ExclusiveStartTableName?: string;
  Limit?: number;
}

const DEFAULT_LIMIT = 100;

export const listTables: Operation<ListTablesInput> = {
  name: 'ListTables',
  execute({ input, ctx, env }) {
    const limit = input.Limit ?? DEFAULT_LIMIT;
    // One more than asked tells whether another page exists.
    const names = env.tables.list(ctx.principal.accountId, input.ExclusiveStartTableName ?? '', limit + 1);
    const page = names.slice(0, limit);
    return names.length > limit
      ? { TableNames: page, LastEvaluatedTableName: page[page.length - 1] }
      : { TableNames: page };
  },
};
