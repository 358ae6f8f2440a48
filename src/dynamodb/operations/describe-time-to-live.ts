import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';
import { timeToLiveDescription } from '../ttl/state.js';

export interface DescribeTimeToLiveInput {
  TableName: string;
}

export const describeTimeToLive: Operation<DescribeTimeToLiveInput> = {
  name: 'DescribeTimeToLive',
  execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const definition = env.tables.describe(ctx.principal.accountId, name);
    return { TimeToLiveDescription: timeToLiveDescription(definition.TimeToLive, env.clock.now()) };
  },
};
