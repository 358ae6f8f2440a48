/**
 * The tables the index (and backup) tests share: Orders, with an LSI and GSIs of every projection
 * and a multi-attribute GSI; the pk/sk table with LSI byTotal and GSI byStatus; a plain table.
 */
import {
  type AttributeValue,
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type Projection,
} from '@aws-sdk/client-dynamodb';

export type Item = Record<string, AttributeValue>;

export const s = (v: string): AttributeValue => ({ S: v });
export const n = (v: number): AttributeValue => ({ N: String(v) });

/**
 * Orders: pk/sk; LSI byTotal (pk, amount; KEYS_ONLY); GSI byStatus (status, amount; INCLUDE note);
 * GSI statusOnly (status; KEYS_ONLY); GSI byRegion (region+city, day+label: multi-attribute; ALL).
 */
export async function createOrders(ddb: DynamoDBClient, name = 'Orders'): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'amount', AttributeType: 'N' },
        { AttributeName: 'region', AttributeType: 'S' },
        { AttributeName: 'city', AttributeType: 'S' },
        { AttributeName: 'day', AttributeType: 'N' },
        { AttributeName: 'label', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      LocalSecondaryIndexes: [
        {
          IndexName: 'byTotal',
          KeySchema: [
            { AttributeName: 'pk', KeyType: 'HASH' },
            { AttributeName: 'amount', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byStatus',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'amount', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['note'] },
        },
        {
          IndexName: 'statusOnly',
          KeySchema: [{ AttributeName: 'status', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: 'byRegion',
          KeySchema: [
            { AttributeName: 'region', KeyType: 'HASH' },
            { AttributeName: 'city', KeyType: 'HASH' },
            { AttributeName: 'day', KeyType: 'RANGE' },
            { AttributeName: 'label', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

export const byKey = (a: Item, b: Item): number => `${a.pk?.S}/${a.sk?.S}`.localeCompare(`${b.pk?.S}/${b.sk?.S}`);

/** A table with no index: pk only. */
export async function createPlain(ddb: DynamoDBClient, name = 'Plain'): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

export interface StatusTotalOptions {
  /** LSI byTotal's projection (default KEYS_ONLY). */
  readonly local?: Projection;
  /** GSI byStatus's projection (default ALL). */
  readonly global?: Projection;
  /** GSI byStatus sorted by total (default: partition key only). */
  readonly globalByTotal?: boolean;
  /** Provisioned: the table's read/write units and the GSI's (default pay per request). */
  readonly provisioned?: { readonly table: [number, number]; readonly index: [number, number] };
}

const units = ([ReadCapacityUnits, WriteCapacityUnits]: [number, number]) => ({
  ReadCapacityUnits,
  WriteCapacityUnits,
});

/** pk/sk with LSI byTotal (pk, total) and GSI byStatus (status [, total]). */
export function statusTotalSchema(options: StatusTotalOptions = {}): Omit<CreateTableCommandInput, 'TableName'> {
  const { provisioned } = options;
  return {
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'status', AttributeType: 'S' },
      { AttributeName: 'total', AttributeType: 'N' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    LocalSecondaryIndexes: [
      {
        IndexName: 'byTotal',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'total', KeyType: 'RANGE' },
        ],
        Projection: options.local ?? { ProjectionType: 'KEYS_ONLY' },
      },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: 'byStatus',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          ...(options.globalByTotal ? [{ AttributeName: 'total', KeyType: 'RANGE' as const }] : []),
        ],
        Projection: options.global ?? { ProjectionType: 'ALL' },
        ...(provisioned ? { ProvisionedThroughput: units(provisioned.index) } : {}),
      },
    ],
    BillingMode: provisioned ? 'PROVISIONED' : 'PAY_PER_REQUEST',
    ...(provisioned ? { ProvisionedThroughput: units(provisioned.table) } : {}),
  };
}

export async function createStatusTotal(
  ddb: DynamoDBClient,
  name: string,
  options: StatusTotalOptions = {},
  extra: Partial<CreateTableCommandInput> = {},
): Promise<void> {
  await ddb.send(new CreateTableCommand({ ...statusTotalSchema(options), ...extra, TableName: name }));
}
