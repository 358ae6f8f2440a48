/** The tables the index tests share: one with an LSI and GSIs of every projection, one multi-attribute. */
import { type AttributeValue, CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

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
