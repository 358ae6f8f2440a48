/** Shared steps of the PITR tests: a model of the table over time, and reading a table back whole. */
import assert from 'node:assert/strict';
import {
  type AttributeValue,
  type DynamoDBClient,
  paginateScan,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

/** Every item of a table, sorted by its JSON (order-free comparison). */
export async function allItems(ddb: DynamoDBClient, table: string): Promise<string[]> {
  const out: string[] = [];
  for await (const page of paginateScan({ client: ddb }, { TableName: table, ConsistentRead: true })) {
    for (const item of page.Items ?? []) out.push(canonical(item));
  }
  return out.sort();
}

export function canonical(item: Item): string {
  return JSON.stringify(Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** The model's state as the same sorted list. */
export const modelItems = (model: ReadonlyMap<string, Item>): string[] => [...model.values()].map(canonical).sort();

export async function enablePitr(ddb: DynamoDBClient, table: string, days?: number): Promise<void> {
  const out = await ddb.send(
    new UpdateContinuousBackupsCommand({
      TableName: table,
      PointInTimeRecoverySpecification: {
        PointInTimeRecoveryEnabled: true,
        ...(days !== undefined ? { RecoveryPeriodInDays: days } : {}),
      },
    }),
  );
  assert.equal(out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus, 'ENABLED');
}
