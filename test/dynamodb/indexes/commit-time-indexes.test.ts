/**
 * A write maintains the indexes of the table as it is when the write commits, not as it was when
 * the request opened the table: BatchWriteItem and TransactWriteItems open their tables one after
 * another, each open awaiting KMS, and a GSI created and backfilled in between must still get the
 * entry of the write to the table opened first.
 *
 * Deterministic: sealdb A keeps its table keys in sealdb B's KMS, through a proxy in this test that
 * holds the request's second Decrypt (the second table's key) until the GSI on the first table is
 * ACTIVE.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { keepAliveClient, newConnectionClient } from '../../helpers/clients.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

/** Forwards KMS calls to B; `holdDecrypt(n)` keeps the n-th Decrypt from now until `release()`. */
class HoldingProxy {
  readonly server: http.Server;
  #decrypts = 0;
  #holdAt: number | undefined;
  #held: (() => void) | undefined;
  #onHeld: (() => void) | undefined;

  constructor(target: number) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const forward = () => {
          const upstream = http.request(
            { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers },
            (answer) => {
              res.writeHead(answer.statusCode ?? 500, answer.headers);
              answer.pipe(res);
            },
          );
          upstream.end(Buffer.concat(chunks));
        };
        if (req.headers['x-amz-target'] === 'TrentService.Decrypt' && this.#holdAt !== undefined) {
          this.#decrypts++;
          if (this.#decrypts === this.#holdAt) {
            this.#holdAt = undefined;
            this.#held = forward;
            this.#onHeld?.();
            return;
          }
        }
        forward();
      });
    });
  }

  /** Resolves once the n-th Decrypt from now is being held. */
  holdDecrypt(n: number): Promise<void> {
    this.#decrypts = 0;
    this.#holdAt = n;
    return new Promise((resolve) => {
      this.#onHeld = resolve;
    });
  }

  release(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.();
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
}

describe('writes maintain the indexes current at their commit', () => {
  let b: TestServer;
  let a: TestServer;
  let proxy: HoldingProxy;
  let ddb: DynamoDBClient;

  before(async () => {
    b = await startTestServer({ inMemory: true });
    proxy = new HoldingProxy(b.port);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const kms = new KMSClient(b.clientConfig());
    const defaultKeyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
    kms.destroy();
    a = await startTestServer({
      inMemory: true,
      indexJobs: { mode: 'manual' },
      kms: {
        mode: 'external',
        endpoint: `http://127.0.0.1:${proxy.port}`,
        credentials: { accessKeyId: 'AKIDSEALDBA', secretAccessKey: 'a-secret' },
        defaultKeyId,
        maxAttempts: 1,
        timeoutMs: 10_000,
      },
    });
    ddb = keepAliveClient(a);
  });
  after(async () => {
    ddb.destroy();
    await a.cleanup();
    await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    await b.cleanup();
  });

  const createTable = (TableName: string) =>
    ddb.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { Enabled: true, SSEType: 'KMS' },
      }),
    );

  /** Creates GSI byG on `table` and runs its backfill to the end (the table's file is open: no KMS). */
  async function addIndex(table: string): Promise<void> {
    await ddb.send(
      new UpdateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'g', AttributeType: 'S' }],
        GlobalSecondaryIndexUpdates: [
          {
            Create: {
              IndexName: 'byG',
              KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
              Projection: { ProjectionType: 'ALL' },
            },
          },
        ],
      }),
    );
    while (await a.indexJobsStep()) {}
  }

  const inIndex = async (table: string, g: string) =>
    (
      await ddb.send(
        new QueryCommand({
          TableName: table,
          IndexName: 'byG',
          KeyConditionExpression: 'g = :g',
          ExpressionAttributeValues: { ':g': { S: g } },
        }),
      )
    ).Items?.map((i) => i.pk?.S);

  /** Opens both tables' files (the first write of each) so that only the caller's key decrypts remain. */
  async function twoTables(first: string, second: string): Promise<void> {
    await createTable(first);
    await createTable(second);
    await ddb.send(new PutItemCommand({ TableName: first, Item: { pk: { S: 'warm' } } }));
    await ddb.send(new PutItemCommand({ TableName: second, Item: { pk: { S: 'warm' } } }));
  }

  it('BatchWriteItem: a GSI created while the second table is opened gets the first table entry', async () => {
    await twoTables('batchOne', 'batchTwo');
    // A new connection decrypts each table key once: the first passes, the second is held.
    const fresh = newConnectionClient(a);
    const held = proxy.holdDecrypt(2);
    const batch = fresh.send(
      new BatchWriteItemCommand({
        RequestItems: {
          batchOne: [{ PutRequest: { Item: { pk: { S: 'late' }, g: { S: 'blue' } } } }],
          batchTwo: [{ PutRequest: { Item: { pk: { S: 'other' } } } }],
        },
      }),
    );
    await held;
    await addIndex('batchOne');
    proxy.release();
    await batch;
    fresh.destroy();
    assert.deepEqual(await inIndex('batchOne', 'blue'), ['late']);
  });

  it('TransactWriteItems: the same for a transaction over two tables', async () => {
    await twoTables('txOne', 'txTwo');
    const fresh = newConnectionClient(a);
    const held = proxy.holdDecrypt(2);
    const transaction = fresh.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: 'txOne', Item: { pk: { S: 'late' }, g: { S: 'green' } } } },
          { Put: { TableName: 'txTwo', Item: { pk: { S: 'other' } } } },
        ],
      }),
    );
    await held;
    await addIndex('txOne');
    proxy.release();
    await transaction;
    fresh.destroy();
    assert.deepEqual(await inIndex('txOne', 'green'), ['late']);
  });

  it("BatchWriteItem: a write refused by the new index's key type is refused whole", async () => {
    await twoTables('typedOne', 'typedTwo');
    const fresh = newConnectionClient(a);
    const held = proxy.holdDecrypt(2);
    const batch = fresh.send(
      new BatchWriteItemCommand({
        RequestItems: {
          typedOne: [{ PutRequest: { Item: { pk: { S: 'late' }, g: { N: '1' } } } }],
          typedTwo: [{ PutRequest: { Item: { pk: { S: 'other' } } } }],
        },
      }),
    );
    await held;
    await addIndex('typedOne');
    proxy.release();
    await assert.rejects(batch, {
      name: 'ValidationException',
      message:
        'One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N IndexName: byG',
    });
    fresh.destroy();
  });
});
