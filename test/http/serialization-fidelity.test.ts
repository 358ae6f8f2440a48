/**
 * Issue 11, item 11: DynamoDB's SerializationException for each JSON type mismatch, with its
 * message in the `Message` member. The SDKs never send such requests, so these go over raw HTTP.
 * Expected texts are DynamoDB's as recorded by dynalite's test helpers (assertType/assertSerialization).
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';

const AUTH =
  'AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00';

function call(server: TestServer, operation: string, body: unknown): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        path: '/',
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          'x-amz-date': '20240101T000000Z',
          authorization: AUTH,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) }),
        );
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

const CAST =
  "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and java.lang.Class are in module java.base of loader 'bootstrap')";
const STRUCT_OR_MAP = 'Start of structure or map found where not expected';
const AV_MAP = 'java.util.Map<java.lang.String, com.amazonaws.dynamodb.v20120810.AttributeValue>';

describe('SerializationException fidelity (issue 11)', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ inMemory: true });
  });
  after(() => server.cleanup());

  const expectSerialization = async (operation: string, body: unknown, message: string) => {
    const res = await call(server, operation, body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.deepEqual(
      res.body,
      { __type: 'com.amazon.coral.service#SerializationException', Message: message },
      `${operation} ${JSON.stringify(body)}`,
    );
  };

  it('words scalar mismatches as DynamoDB does', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['ListTables', { ExclusiveStartTableName: true }, 'TRUE_VALUE cannot be converted to String'],
      ['ListTables', { ExclusiveStartTableName: false }, 'FALSE_VALUE cannot be converted to String'],
      ['ListTables', { ExclusiveStartTableName: 23 }, 'NUMBER_VALUE cannot be converted to String'],
      ['ListTables', { ExclusiveStartTableName: 2147483648 }, 'NUMBER_VALUE cannot be converted to String'],
      ['ListTables', { ExclusiveStartTableName: 34.56 }, 'DECIMAL_VALUE cannot be converted to String'],
      ['ListTables', { ExclusiveStartTableName: [] }, 'Unrecognized collection type class java.lang.String'],
      ['ListTables', { ExclusiveStartTableName: {} }, STRUCT_OR_MAP],
      ['ListTables', { Limit: '23' }, 'STRING_VALUE cannot be converted to Integer'],
      ['ListTables', { Limit: true }, 'TRUE_VALUE cannot be converted to Integer'],
      ['ListTables', { Limit: [] }, 'Unrecognized collection type class java.lang.Integer'],
      ['ListTables', { Limit: {} }, STRUCT_OR_MAP],
      ['Scan', { TableName: 'abc', ConsistentRead: '23' }, 'Unexpected token received from parser'],
      ['Scan', { TableName: 'abc', ConsistentRead: 23 }, 'NUMBER_VALUE cannot be converted to Boolean'],
      ['Scan', { TableName: 'abc', ConsistentRead: 34.56 }, 'DECIMAL_VALUE cannot be converted to Boolean'],
      ['Scan', { TableName: 'abc', ConsistentRead: [] }, 'Unrecognized collection type class java.lang.Boolean'],
      [
        'CreateTable',
        { TableName: 'abc', ProvisionedThroughput: { ReadCapacityUnits: '1' } },
        'STRING_VALUE cannot be converted to Long',
      ],
      [
        'CreateTable',
        { TableName: 'abc', ProvisionedThroughput: { ReadCapacityUnits: [] } },
        'Unrecognized collection type class java.lang.Long',
      ],
    ];
    for (const [operation, body, message] of cases) await expectSerialization(operation, body, message);
  });

  it('words list, map and structure mismatches as DynamoDB does', async () => {
    const cases: Array<[string, unknown, string]> = [
      ['CreateTable', { AttributeDefinitions: '23' }, 'Unexpected field type'],
      ['CreateTable', { AttributeDefinitions: {} }, STRUCT_OR_MAP],
      ['CreateTable', { AttributeDefinitions: [23] }, 'Unexpected value type in payload'],
      [
        'CreateTable',
        { AttributeDefinitions: [[]] },
        'Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeDefinition',
      ],
      ['CreateTable', { ProvisionedThroughput: true }, 'Unexpected field type'],
      [
        'CreateTable',
        { ProvisionedThroughput: [] },
        'Unrecognized collection type class com.amazonaws.dynamodb.v20120810.ProvisionedThroughput',
      ],
      ['GetItem', { TableName: 'abc', ExpressionAttributeNames: 23 }, 'Unexpected field type'],
      [
        'GetItem',
        { TableName: 'abc', ExpressionAttributeNames: [] },
        'Unrecognized collection type java.util.Map<java.lang.String, java.lang.String>',
      ],
      ['PutItem', { TableName: 'abc', Item: 23 }, 'Unexpected field type'],
      ['PutItem', { TableName: 'abc', Item: [] }, `Unrecognized collection type ${AV_MAP}`],
      [
        'BatchWriteItem',
        { RequestItems: [] },
        'Unrecognized collection type java.util.Map<java.lang.String, java.util.List<com.amazonaws.dynamodb.v20120810.WriteRequest>>',
      ],
      ['BatchWriteItem', { RequestItems: { abc: 23 } }, CAST],
      ['BatchWriteItem', { RequestItems: { abc: {} } }, STRUCT_OR_MAP],
      ['BatchWriteItem', { RequestItems: { abc: [true] } }, 'Unexpected value type in payload'],
      ['BatchGetItem', { RequestItems: { abc: { Keys: [23] } } }, CAST],
      ['BatchGetItem', { RequestItems: { abc: { Keys: [[]] } } }, `Unrecognized collection type ${AV_MAP}`],
    ];
    for (const [operation, body, message] of cases) await expectSerialization(operation, body, message);
  });

  it('words AttributeValue mismatches as DynamoDB does', async () => {
    const item = (value: unknown) => ({ TableName: 'abc', Item: { a: value } });
    const cases: Array<[unknown, string]> = [
      [23, 'Unexpected value type in payload'],
      [[], 'Unrecognized collection type class com.amazonaws.dynamodb.v20120810.AttributeValue'],
      [{ S: 23 }, 'NUMBER_VALUE cannot be converted to String'],
      [{ N: 34.56 }, 'DECIMAL_VALUE cannot be converted to String'],
      [{ S: [] }, 'Unrecognized collection type class java.lang.String'],
      [{ S: {} }, STRUCT_OR_MAP],
      [{ B: true }, 'only base-64-encoded strings are convertible to bytes'],
      [{ B: [] }, 'Unrecognized collection type class java.nio.ByteBuffer'],
      [{ B: '23456' }, 'Base64 encoded length is expected a multiple of 4 bytes but found: 5'],
      [{ B: '=+/=' }, 'Invalid last non-pad Base64 character dectected'],
      [{ B: '+/+=' }, 'Invalid last non-pad Base64 character dectected'],
      [{ BOOL: '23' }, 'Unexpected token received from parser'],
      [{ NULL: 23 }, 'NUMBER_VALUE cannot be converted to Boolean'],
      [{ SS: '23' }, 'Unexpected field type'],
      [{ SS: {} }, STRUCT_OR_MAP],
      [{ SS: [true] }, 'TRUE_VALUE cannot be converted to String'],
      [{ BS: [23] }, 'only base-64-encoded strings are convertible to bytes'],
      [{ L: 23 }, 'Unexpected field type'],
      [{ L: [23] }, 'Unexpected value type in payload'],
      [{ L: [{ BS: [true] }] }, 'only base-64-encoded strings are convertible to bytes'],
      [{ M: 23 }, 'Unexpected field type'],
      [{ M: [] }, `Unrecognized collection type ${AV_MAP}`],
      [{ M: { b: 23 } }, 'Unexpected value type in payload'],
    ];
    for (const [value, message] of cases) await expectSerialization('PutItem', item(value), message);
  });

  it('keeps the SDK-visible error name and the message for clients', async () => {
    const res = await call(server, 'PutItem', { TableName: 'abc', Item: { a: { S: 5 } } });
    const body = res.body as Record<string, unknown>;
    assert.equal(body.message, undefined);
    assert.equal(body.Message, 'NUMBER_VALUE cannot be converted to String');
  });
});
