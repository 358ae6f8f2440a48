import { transfersOf } from '../exports/environment.js';
import { exportDescription } from '../exports/records.js';
import type { Operation } from '../operation.js';

export interface DescribeExportInput {
  ExportArn: string;
}

export const describeExport: Operation<DescribeExportInput> = {
  name: 'DescribeExport',
  async execute({ input, ctx, env }) {
    const record = await transfersOf(env).describeExport(ctx.principal.accountId, env.region, input.ExportArn);
    return { ExportDescription: exportDescription(record) };
  },
};
