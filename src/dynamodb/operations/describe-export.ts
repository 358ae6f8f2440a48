import { transfersOf } from '../exports/environment.js';
import { exportDescription } from '../exports/records.js';
import type { Operation } from '../operation.js';

export interface DescribeExportInput {
  ExportArn: string;
}

export const describeExport: Operation<DescribeExportInput> = {
  name: 'DescribeExport',
  execute({ input, ctx, env }) {
    const record = transfersOf(env).describeExport(ctx.principal.accountId, env.region, input.ExportArn);
    return { ExportDescription: exportDescription(record) };
  },
};
