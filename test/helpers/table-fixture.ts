/** The set-up many suites share: a test server, an SDK client, and one on-demand table keyed by `id` (S). */
import { after, before } from 'node:test';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startTestServer, type TestServer, type TestServerOptions } from './server.js';

export interface TableFixture {
  readonly server: TestServer;
  readonly ddb: DynamoDBClient;
}

/**
 * Registers the suite's before/after hooks: starts a server, creates `tableName`, and stops both
 * after the suite. Read `server` and `ddb` from the returned object inside tests (set by `before`).
 */
export function useServerWithTable(tableName: string, options: TestServerOptions = {}): TableFixture {
  const fixture: { server?: TestServer; ddb?: DynamoDBClient } = {};
  before(async () => {
    const server = await startTestServer(options);
    const ddb = new DynamoDBClient(server.clientConfig());
    fixture.server = server;
    fixture.ddb = ddb;
    await ddb.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });
  after(async () => {
    fixture.ddb?.destroy();
    await fixture.server?.cleanup();
  });
  return {
    get server(): TestServer {
      if (!fixture.server) throw new Error('the fixture is read before its suite started');
      return fixture.server;
    },
    get ddb(): DynamoDBClient {
      if (!fixture.ddb) throw new Error('the fixture is read before its suite started');
      return fixture.ddb;
    },
  };
}
