import type { Operation } from '../operation.js';

/** DynamoDB's default per-account and per-table provisioned capacity quotas. */
export const describeLimits: Operation<Record<string, never>> = {
  name: 'DescribeLimits',
  execute() {
    return {
      AccountMaxReadCapacityUnits: 80000,
      AccountMaxWriteCapacityUnits: 80000,
      TableMaxReadCapacityUnits: 40000,
      TableMaxWriteCapacityUnits: 40000,
    };
  },
};
