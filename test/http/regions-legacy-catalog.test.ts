/**
 * Regions (issue 11, item 17) and a data directory from before them: the embedded catalog of that
 * version (no region column) is migrated in place. Embedded store only (`npm run test:postgres`
 * leaves it out): the engine's catalog has kept regions since it was first written.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  ListTablesCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { Scope } from '../../src/core/scope.js';
import type { TableDefinition } from '../../src/dynamodb/table-definition.js';
import { unwrapKey } from '../../src/encryption/key-wrap.js';
import { RootOfTrust } from '../../src/encryption/root-of-trust.js';
import { Catalog } from '../../src/storage/catalog.js';
import { DataDir } from '../../src/storage/data-dir.js';
import { openEncryptedDatabase } from '../../src/storage/encrypted-db.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const LOCAL_ACCOUNT = '000000000000';
const US = 'us-east-1';
const EU = 'eu-west-1';

/** DynamoDB clients of one server, each signing with the region it is given. */
function clientsOf(server: TestServer) {
  const made: DynamoDBClient[] = [];
  return {
    ddb: (region: string) => {
      const client = new DynamoDBClient({ ...server.clientConfig(), region });
      made.push(client);
      return client;
    },
    destroy: () => {
      for (const client of made) client.destroy();
    },
  };
}

const tableInput = (TableName: string): CreateTableCommandInput => ({
  TableName,
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  BillingMode: 'PAY_PER_REQUEST',
});

const tableArn = (region: string, name: string) => `arn:aws:dynamodb:${region}:${LOCAL_ACCOUNT}:table/${name}`;

async function tableNames(client: DynamoDBClient): Promise<string[]> {
  return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
}

describe('regions: a catalog from before regions', () => {
  test('a data directory from before regions keeps its tables, in the region of their ARNs', async () => {
    let server = await startTestServer();
    const { scratch, dataDir, rootKeyFile } = server;
    let clients = clientsOf(server);
    try {
      await clients.ddb(US).send(new CreateTableCommand(tableInput('Legacy')));
      await clients.ddb(US).send(new PutItemCommand({ TableName: 'Legacy', Item: { id: { S: 'old' } } }));
    } finally {
      clients.destroy();
      await server.close();
    }
    downgradeCatalog(dataDir, rootKeyFile);

    // Started with another default region: the table stays where its ARN (and its key) are.
    server = await startTestServer({ scratch, clock: server.clock, region: 'eu-west-3' });
    clients = clientsOf(server);
    try {
      const us = clients.ddb(US);
      assert.deepEqual(await tableNames(us), ['Legacy']);
      assert.ok((await us.send(new GetItemCommand({ TableName: 'Legacy', Key: { id: { S: 'old' } } }))).Item);
      assert.deepEqual(await tableNames(clients.ddb('eu-west-3')), []);
      assert.deepEqual(await tableNames(clients.ddb(EU)), []);
      // The catalog now keeps regions: a new table of the same name in another region is its own.
      await clients.ddb(EU).send(new CreateTableCommand(tableInput('Legacy')));
      assert.deepEqual(await tableNames(clients.ddb(EU)), ['Legacy']);
    } finally {
      clients.destroy();
      await server.close();
    }
    const scope: Scope = { accountId: LOCAL_ACCOUNT, region: US };
    withCatalog(dataDir, rootKeyFile, (catalog) => {
      assert.equal(catalog.get(scope, 'Legacy')?.definition.TableArn, tableArn(US, 'Legacy'));
      assert.equal(catalog.get({ ...scope, region: EU }, 'Legacy')?.definition.TableArn, tableArn(EU, 'Legacy'));
    });
    assert.ok(readdirSync(join(dataDir, 'tables')).length >= 2);
    await server.cleanup();
  });
});

function withCatalog<T>(dataDir: string, rootKeyFile: string, fn: (catalog: Catalog<TableDefinition>) => T): T {
  const root = RootOfTrust.open({ kind: 'key-file', path: rootKeyFile }, dataDir);
  const catalog = Catalog.open<TableDefinition>(new DataDir(dataDir), root, undefined, () => 'unused');
  try {
    return fn(catalog);
  } finally {
    catalog.close();
    root.destroy();
  }
}

/**
 * Rewrites the catalog in the format sealdb used before it kept regions (that version's `tables`
 * schema, verbatim), as an existing data directory has it. The catalog is opened as sealdb opens
 * it: its data key is wrapped under a key derived from the root of trust.
 */
function downgradeCatalog(dataDir: string, rootKeyFile: string): void {
  const purpose = 'sealdb/catalog-key-wrap/v1';
  const root = RootOfTrust.open({ kind: 'key-file', path: rootKeyFile }, dataDir);
  const kek = root.deriveKey(purpose);
  const wrapped = Buffer.from(readFileSync(join(dataDir, 'catalog.key'), 'utf8').trim(), 'base64');
  const key = unwrapKey(kek, wrapped, purpose);
  const db = openEncryptedDatabase({ file: join(dataDir, 'catalog.db'), key, mustExist: true });
  try {
    db.exec(`ALTER TABLE tables RENAME TO tables_with_region;
      CREATE TABLE tables (
      account TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL UNIQUE,
      definition TEXT NOT NULL, wrapped_key BLOB NOT NULL, PRIMARY KEY (account, name)) WITHOUT ROWID;
      INSERT INTO tables SELECT account, name, id, definition, wrapped_key FROM tables_with_region;
      DROP TABLE tables_with_region;`);
    const columns = db.prepare('PRAGMA table_info(tables)').all() as { name: string }[];
    assert.deepEqual(
      columns.map((c) => c.name),
      ['account', 'name', 'id', 'definition', 'wrapped_key'],
    );
  } finally {
    db.close();
    kek.fill(0);
    key.fill(0);
    root.destroy();
  }
}
