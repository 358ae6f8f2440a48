/**
 * A page that fails its HMAC (sqlcipher) in a table file or the catalog: the operator gets one
 * log line and a metric naming the file, the affected table answers a clear error naming it,
 * other tables keep serving. And after a crash, DescribeTable counts what the file holds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../helpers/assert-aws.js';
import { type SealdbProcess, startSealdbProcess } from '../helpers/process.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const PAGE = 8192;

async function createTable(client: DynamoDBClient, TableName: string): Promise<string> {
  const out = await client.send(
    new CreateTableCommand({
      TableName,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return out.TableDescription?.TableId as string;
}

async function putItems(client: DynamoDBClient, TableName: string, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n += 25) {
    const puts = Array.from({ length: Math.min(25, from + count - n) }, (_, i) => ({
      PutRequest: { Item: { id: { S: `i${n + i}` }, body: { S: 'x'.repeat(500) } } },
    }));
    await client.send(new BatchWriteItemCommand({ RequestItems: { [TableName]: puts } }));
  }
}

/** Changes one bit in each given page of a (cleanly closed, so fully checkpointed) database file. */
function damagePages(file: string, pages: readonly number[]): void {
  const bytes = readFileSync(file);
  for (const page of pages) {
    assert.ok(bytes.length >= page * PAGE, `${file} has page ${page}`);
    const at = (page - 1) * PAGE + 300;
    bytes[at] = (bytes[at] as number) ^ 0x04;
  }
  writeFileSync(file, bytes);
}

async function metricLines(endpoint: string): Promise<string[]> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('sealdb_damaged_files{'));
}

describe('damaged pages', () => {
  const scratches: string[] = [];
  const running: SealdbProcess[] = [];
  after(async () => {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) await p.stop('SIGKILL');
    for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
  });

  /** A server on the data directory of `first`, which has been closed cleanly. */
  async function reopen(first: TestServer): Promise<TestServer> {
    return startTestServer({ scratch: first.scratch, dataDir: first.dataDir, rootKeyFile: first.rootKeyFile });
  }

  it('a damaged table page: that table refuses with an error naming it, once in the log, in a metric', async () => {
    const first = await startTestServer();
    scratches.push(first.scratch);
    let client = new DynamoDBClient(first.clientConfig());
    const id = await createTable(client, 'Orders');
    await createTable(client, 'Other');
    await putItems(client, 'Orders', 0, 200);
    await putItems(client, 'Other', 0, 3);
    client.destroy();
    await first.close();
    const file = join(first.dataDir, 'tables', `${id}.db`);
    // Pages in the middle of the file hold item bodies (the first ones are b-tree roots).
    const pages = Math.floor(readFileSync(file).length / PAGE);
    assert.ok(pages > 12, `${pages} pages`);
    damagePages(file, [Math.floor(pages / 2), Math.floor(pages / 2) + 1]);

    const server = await reopen(first);
    client = new DynamoDBClient(server.clientConfig());
    const named = new RegExp(`^Table Orders cannot be served: ${file} is damaged: a page fails .*backup`);
    try {
      await rejectsWith(client.send(new ScanCommand({ TableName: 'Orders' })), 'InternalServerError', named);
      // From then on the whole table refuses, reads of intact pages and control-plane calls too:
      // it never answers with part of itself.
      await rejectsWith(
        client.send(new GetItemCommand({ TableName: 'Orders', Key: { id: { S: 'i1' } } })),
        'InternalServerError',
        named,
      );
      await rejectsWith(client.send(new DescribeTableCommand({ TableName: 'Orders' })), 'InternalServerError', named);
      await rejectsWith(client.send(new ScanCommand({ TableName: 'Orders' })), 'InternalServerError', named);
      const other = await client.send(new ScanCommand({ TableName: 'Other' }));
      assert.equal(other.Count, 3);
      await client.send(new PutItemCommand({ TableName: 'Other', Item: { id: { S: 'new' } } }));

      assert.equal(server.internalErrors.length, 1, 'one log line for the file, not one per request');
      assert.match(String(server.internalErrors[0]), new RegExp(`${file} is damaged`));
      assert.deepEqual(await metricLines(server.endpoint), [`sealdb_damaged_files{file="${file}",kind="table"} 1`]);
    } finally {
      client.destroy();
      await server.close();
    }
  });

  it('a damaged catalog page: the server refuses to start, naming the catalog (every page is checked at open)', async () => {
    const first = await startTestServer();
    scratches.push(first.scratch);
    const client = new DynamoDBClient(first.clientConfig());
    for (let n = 0; n < 3; n++) await createTable(client, `Table${n}`);
    client.destroy();
    await first.close();
    const file = join(first.dataDir, 'catalog.db');
    // The tables' b-tree and its index: once served with an error per call, now refused at
    // startup, since a page no startup query reads (an index) would otherwise surface only later.
    damagePages(file, [2, 3]);
    await assert.rejects(reopen(first), (error: Error) => {
      assert.equal(error.name, 'DamagedFileError');
      assert.match(error.message, new RegExp(`^${file} is damaged: `));
      return true;
    });
  });

  it('after a kill -9, DescribeTable counts what the table file holds, not the last clean stop', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sealdb-recount-'));
    scratches.push(scratch);
    const args = ['--data-dir', join(scratch, 'data'), '--root-key-file', join(scratch, 'root.key')];
    const start = async () => {
      const server = await startSealdbProcess(args);
      running.push(server);
      return { server, client: new DynamoDBClient({ ...clientConfig, endpoint: server.endpoint }) };
    };
    const clientConfig = {
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' },
      maxAttempts: 1,
    };
    const describeCounts = async (client: DynamoDBClient) => {
      const table = (await client.send(new DescribeTableCommand({ TableName: 'Counted' }))).Table;
      return { items: table?.ItemCount, bytes: table?.TableSizeBytes as number };
    };

    let { server, client } = await start();
    await createTable(client, 'Counted');
    await putItems(client, 'Counted', 0, 5);
    const clean = await describeCounts(client);
    client.destroy();
    assert.equal(await server.stop('SIGINT'), 0);

    ({ server, client } = await start());
    await putItems(client, 'Counted', 5, 20);
    client.destroy();
    await server.stop('SIGKILL');

    ({ server, client } = await start());
    const recovered = await describeCounts(client);
    assert.equal(recovered.items, 25);
    assert.ok(recovered.bytes > clean.bytes * 4, `${recovered.bytes} bytes after the crash, ${clean.bytes} before`);
    assert.equal((await client.send(new ScanCommand({ TableName: 'Counted' }))).Count, 25);
    client.destroy();
    await server.stop('SIGINT');
  });
});
