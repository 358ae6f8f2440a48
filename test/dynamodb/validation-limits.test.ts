/**
 * The constraint checker skips values that no constraint can reach and measures long strings
 * without walking them (issue 12, item 11): what clients are told must not change. Messages as
 * DynamoDB words them (Coral's `N validation errors detected`, recorded by dynalite's tests).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchWriteItemCommand, GetItemCommand, PutItemCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { useServerWithTable } from '../helpers/table-fixture.js';

describe('validation of large and over-long requests', () => {
  const fixture = useServerWithTable('Limits');

  it('reports a too long WriteRequests list first, then what is wrong inside its elements', async () => {
    const requests: WriteRequest[] = Array.from({ length: 26 }, (_, i) => ({
      PutRequest: { Item: { id: { S: `k${i}` }, nested: { M: { x: { L: [{ S: 'a' }, { N: '1' }] } } } } },
    }));
    // An attribute name one code point over AttributeName's 65535.
    requests[25] = { PutRequest: { Item: { id: { S: 'k25' }, ['n'.repeat(65536)]: { S: 'v' } } } };
    const hash = '[0-9a-f]+';
    const writeRequest = `com\\.amazonaws\\.dynamodb\\.v20120810\\.WriteRequest@${hash}`;
    const attributeValue = `com\\.amazonaws\\.dynamodb\\.v20120810\\.AttributeValue@${hash}`;
    await rejectsWith(
      fixture.ddb.send(new BatchWriteItemCommand({ RequestItems: { Limits: requests } })),
      'ValidationException',
      new RegExp(
        `^2 validation errors detected: Value '\\[(${writeRequest}, ){25}${writeRequest}\\]' at 'requestItems\\.Limits\\.member' failed to satisfy constraint: Member must have length less than or equal to 25; ` +
          `Value '\\{id=${attributeValue}, n{65536}=${attributeValue}\\}' at 'requestItems\\.Limits\\.member\\.26\\.member\\.putRequest\\.item' failed to satisfy constraint: Map keys must satisfy constraint: \\[Member must have length less than or equal to 65535\\]$`,
      ),
    );
  });

  it('reports a missing required member deep inside an otherwise valid batch', async () => {
    const requests = [
      { PutRequest: { Item: { id: { S: 'a' }, big: { S: 'x'.repeat(100_000) } } } },
      { DeleteRequest: {} },
    ] as WriteRequest[];
    await rejectsWith(
      fixture.ddb.send(new BatchWriteItemCommand({ RequestItems: { Limits: requests } })),
      'ValidationException',
      "1 validation error detected: Value null at 'requestItems.Limits.member.2.member.deleteRequest.key' failed to satisfy constraint: Member must not be null",
    );
  });

  it('counts code points, not UTF-16 units, for a long attribute name', async () => {
    // 40,000 emoji: 80,000 UTF-16 units but 40,000 code points, within AttributeName's 65535.
    const name = '\u{1F600}'.repeat(40_000);
    await fixture.ddb.send(
      new PutItemCommand({ TableName: 'Limits', Item: { id: { S: 'emoji' }, [name]: { S: 'v' } } }),
    );
    const got = await fixture.ddb.send(new GetItemCommand({ TableName: 'Limits', Key: { id: { S: 'emoji' } } }));
    assert.equal(got.Item?.[name]?.S, 'v');

    const tooLong = '\u{1F600}'.repeat(65_536);
    await rejectsWith(
      fixture.ddb.send(
        new PutItemCommand({ TableName: 'Limits', Item: { id: { S: 'emoji2' }, [tooLong]: { S: 'v' } } }),
      ),
      'ValidationException',
      /^1 validation error detected: Value '\{.*\}' at 'item' failed to satisfy constraint: Map keys must satisfy constraint: \[Member must have length less than or equal to 65535\]$/su,
    );
  });

  it("refuses an over-sized item with DynamoDB's size message, not a model one", async () => {
    await rejectsWith(
      fixture.ddb.send(
        new PutItemCommand({ TableName: 'Limits', Item: { id: { S: 'huge' }, v: { S: 'y'.repeat(2_000_000) } } }),
      ),
      'ValidationException',
      'Item size has exceeded the maximum allowed size',
    );
  });
});
