import { transfersOf } from '../exports/environment.js';
import { exportSummary } from '../exports/records.js';
import type { Operation } from '../operation.js';
import { exportedTableName } from './export-table-to-point-in-time.js';

export interface ListExportsInput {
  TableArn?: string;
  MaxResults?: number;
  NextToken?: string;
}

export const listExports: Operation<ListExportsInput> = {
  name: 'ListExports',
  async execute({ input, ctx, env }) {
    if (input.TableArn !== undefined) exportedTableName(input.TableArn, ctx);
    const { items, nextToken } = await transfersOf(env).listExports(
      ctx.principal.accountId,
      env.region,
      input.TableArn,
      input.MaxResults,
      input.NextToken,
    );
    return { ExportSummaries: items.map(exportSummary), ...(nextToken ? { NextToken: nextToken } : {}) };
  },
};
