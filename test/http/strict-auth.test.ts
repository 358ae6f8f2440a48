import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const ALICE = { accessKeyId: 'AKIAALICE0000000001', secretAccessKey: 'alice-secret-key' };
const BOB = { accessKeyId: 'AKIABOB00000000000002', secretAccessKey: 'bob-secret-key' };

describe('strict authentication and account isolation', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({
      auth: {
        accounts: [
          { accountId: '111111111111', accessKeys: [{ ...ALICE, userName: 'alice' }] },
          { accountId: '222222222222', accessKeys: [BOB] },
        ],
      },
    });
  });
  after(() => server.cleanup());

  it('accepts correctly signed requests and keeps each account to its own tables', async () => {
    const alice = new DynamoDBClient(server.clientConfig(ALICE));
    const bob = new DynamoDBClient(server.clientConfig(BOB));
    const created = await alice.send(
      new CreateTableCommand({
        TableName: 'shared-name',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    assert.equal(created.TableDescription?.TableArn, 'arn:aws:dynamodb:us-east-1:111111111111:table/shared-name');
    await alice.send(new PutItemCommand({ TableName: 'shared-name', Item: { id: { S: 'a' }, owner: { S: 'alice' } } }));

    assert.deepEqual((await bob.send(new ListTablesCommand({}))).TableNames, []);
    await rejectsWith(
      bob.send(new GetItemCommand({ TableName: 'shared-name', Key: { id: { S: 'a' } } })),
      'ResourceNotFoundException',
    );
    await rejectsWith(
      bob.send(new GetItemCommand({ TableName: created.TableDescription?.TableArn, Key: { id: { S: 'a' } } })),
      'ResourceNotFoundException',
    );
    // The same name in another account is another table.
    await bob.send(
      new CreateTableCommand({
        TableName: 'shared-name',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    assert.equal(
      (await bob.send(new GetItemCommand({ TableName: 'shared-name', Key: { id: { S: 'a' } } }))).Item,
      undefined,
    );
    assert.equal(
      (await alice.send(new GetItemCommand({ TableName: 'shared-name', Key: { id: { S: 'a' } } }))).Item?.owner?.S,
      'alice',
    );
    alice.destroy();
    bob.destroy();
  });

  it('rejects unknown keys, wrong secrets and stale signatures', async () => {
    const stranger = new DynamoDBClient(server.clientConfig({ accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'x' }));
    await rejectsWith(
      stranger.send(new ListTablesCommand({})),
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
    stranger.destroy();

    const forger = new DynamoDBClient(
      server.clientConfig({ accessKeyId: ALICE.accessKeyId, secretAccessKey: 'not-alice' }),
    );
    await rejectsWith(
      forger.send(new ListTablesCommand({})),
      'InvalidSignatureException',
      /signature we calculated does not match/,
    );
    forger.destroy();

    // The server's clock runs 20 minutes ahead of the client's signature.
    server.clock.advance(20 * 60 * 1000);
    const late = new DynamoDBClient({ ...server.clientConfig(ALICE), systemClockOffset: 0 });
    await rejectsWith(late.send(new ListTablesCommand({})), 'InvalidSignatureException', /Signature expired/);
    late.destroy();
    server.clock.advance(-20 * 60 * 1000);
  });
});
