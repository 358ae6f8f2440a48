import type { Operation } from '../operation.js';

export const describeEndpoints: Operation<Record<string, never>> = {
  name: 'DescribeEndpoints',
  execute({ ctx }) {
    return { Endpoints: [{ Address: `dynamodb.${ctx.region}.amazonaws.com`, CachePeriodInMinutes: 1440 }] };
  },
};
