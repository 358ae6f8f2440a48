import { transfersOf } from '../exports/environment.js';
import { importDescription } from '../exports/records.js';
import type { Operation } from '../operation.js';

export interface DescribeImportInput {
  ImportArn: string;
}

export const describeImport: Operation<DescribeImportInput> = {
  name: 'DescribeImport',
  async execute({ input, ctx, env }) {
    const record = await transfersOf(env).describeImport(ctx.principal.accountId, env.region, input.ImportArn);
    return { ImportTableDescription: importDescription(record) };
  },
};
