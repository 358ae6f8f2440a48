import { transfersOf } from '../exports/environment.js';
import { importSummary } from '../exports/records.js';
import type { Operation } from '../operation.js';
import { exportedTableName } from './export-table-to-point-in-time.js';

export interface ListImportsInput {
  TableArn?: string;
  PageSize?: number;
  NextToken?: string;
}

export const listImports: Operation<ListImportsInput> = {
  name: 'ListImports',
  async execute({ input, ctx, env }) {
    if (input.TableArn !== undefined) exportedTableName(input.TableArn, ctx);
    const { items, nextToken } = await transfersOf(env).listImports(
      ctx.principal.accountId,
      env.region,
      input.TableArn,
      input.PageSize,
      input.NextToken,
    );
    return { ImportSummaryList: items.map(importSummary), ...(nextToken ? { NextToken: nextToken } : {}) };
  },
};
