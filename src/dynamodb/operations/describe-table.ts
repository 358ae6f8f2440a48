import type { Operation } from '../operation.js';
import { tableDescription } from '../table-description.js';
import { resolveTableName } from '../table-name.js';

export interface DescribeTableInput {
  TableName: string;
}

export const describeTable: Operation<DescribeTableInput> = {
  name: 'DescribeTable',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const definition = env.tables.describe(ctx.principal.accountId, name);
    return { Table: tableDescription(definition, env.tables.stats(definition)) };
  },
};
