/** DynamoDB-shaped consumed capacity: writes per started 1 KB, reads per started 4 KB (half when eventually consistent). */

export type ReturnConsumedCapacity = 'INDEXES' | 'TOTAL' | 'NONE';

export const writeUnits = (sizeBytes: number): number => Math.max(1, Math.ceil(sizeBytes / 1024));

export const readUnits = (sizeBytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(sizeBytes / 4096)) * (consistent ? 1 : 0.5);

export function consumedCapacity(
  mode: ReturnConsumedCapacity | undefined,
  tableName: string,
  units: number,
  kind: 'read' | 'write',
) {
  if (mode !== 'TOTAL' && mode !== 'INDEXES') return {};
  const unitsMember = kind === 'read' ? { ReadCapacityUnits: units } : { WriteCapacityUnits: units };
  return {
    ConsumedCapacity: {
      TableName: tableName,
      CapacityUnits: units,
      ...unitsMember,
      ...(mode === 'INDEXES' ? { Table: { CapacityUnits: units, ...unitsMember } } : {}),
    },
  };
}
