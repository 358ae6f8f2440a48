import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GlobalSecondaryIndexDescription,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer, type TestServer } from '../../helpers/server.js';

type Item = Record<string, AttributeValue>;

/** A model of the table, and of what the index on `g` (INCLUDE v) must hold. */
class Model {
  readonly items = new Map<string, Item>();
  static key = (item: Item) => `${item.pk?.S}|${item.sk?.S}`;
  put(item: Item): void {
    this.items.set(Model.key(item), item);
  }
  delete(pk: string, sk: string): void {
    this.items.delete(`${pk}|${sk}`);
  }
  /** Items whose g is a non-empty string, projected to the keys and v. */
  indexed(): string[] {
    const out: string[] = [];
    for (const item of this.items.values()) {
      if (item.g?.S === undefined || item.g.S === '') continue;
      const projected: Item = { pk: item.pk as AttributeValue, sk: item.sk as AttributeValue, g: item.g };
      if (item.v) projected.v = item.v;
      out.push(canonical(projected));
    }
    return out.sort();
  }
}

const canonical = (item: Item): string =>
  JSON.stringify(Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b))));

function itemOf(i: number, variant = 0): Item {
  const item: Item = { pk: { S: `p${i % 37}` }, sk: { S: `s${i}` }, v: { S: `v${i}.${variant}` }, w: { N: `${i}` } };
  // Sparse: every fifth item has no g; every 23rd has a g of the wrong type (left out by the backfill).
  if (i % 5 !== 0) item.g = i % 23 === 1 ? { N: `${i}` } : { S: `g${(i + variant) % 7}` };
  return item;
}

async function createTable(ddb: DynamoDBClient, name: string, count: number, model: Model): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (let start = 0; start < count; start += 25) {
    const batch = Array.from({ length: Math.min(25, count - start) }, (_, j) => itemOf(start + j));
    await ddb.send(
      new BatchWriteItemCommand({ RequestItems: { [name]: batch.map((Item) => ({ PutRequest: { Item } })) } }),
    );
    for (const item of batch) model.put(item);
  }
}

const createIndex = (ddb: DynamoDBClient, name: string) =>
  ddb.send(
    new UpdateTableCommand({
      TableName: name,
      AttributeDefinitions: [{ AttributeName: 'g', AttributeType: 'S' }],
      GlobalSecondaryIndexUpdates: [
        {
          Create: {
            IndexName: 'byG',
            KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['v'] },
          },
        },
      ],
    }),
  );

async function indexOf(ddb: DynamoDBClient, name: string): Promise<GlobalSecondaryIndexDescription | undefined> {
  const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
  return Table?.GlobalSecondaryIndexes?.find((g) => g.IndexName === 'byG');
}

/** Every entry of the index, through Scan with IndexName (all pages). */
async function indexEntries(ddb: DynamoDBClient, name: string): Promise<string[]> {
  const out: string[] = [];
  let start: Item | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({ TableName: name, IndexName: 'byG', Limit: 97, ...(start ? { ExclusiveStartKey: start } : {}) }),
    );
    for (const item of page.Items ?? []) out.push(canonical(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return out.sort();
}

async function drain(server: TestServer): Promise<void> {
  while (await server.indexJobsStep()) {}
}

/** A random write the model follows: a put (new or replacing), an update that moves or removes g, or a delete. */
async function randomWrite(ddb: DynamoDBClient, name: string, model: Model, random: () => number, n: number) {
  const i = Math.floor(random() * 1.3 * n);
  const existing = model.items.get(`p${i % 37}|s${i}`);
  const roll = random();
  if (roll < 0.35 || !existing) {
    const item = writable(itemOf(i, Math.floor(random() * 100)));
    await ddb.send(new PutItemCommand({ TableName: name, Item: item }));
    model.put(item);
  } else if (roll < 0.65) {
    const g = `moved${Math.floor(random() * 5)}`;
    const { Attributes } = await ddb.send(
      new UpdateItemCommand({
        TableName: name,
        Key: { pk: existing.pk as AttributeValue, sk: existing.sk as AttributeValue },
        UpdateExpression: 'SET g = :g, v = :v',
        ExpressionAttributeValues: { ':g': { S: g }, ':v': { S: `u${roll}` } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    model.put(Attributes as Item);
  } else if (roll < 0.8) {
    const { Attributes } = await ddb.send(
      new UpdateItemCommand({
        TableName: name,
        Key: { pk: existing.pk as AttributeValue, sk: existing.sk as AttributeValue },
        UpdateExpression: 'REMOVE g',
        ReturnValues: 'ALL_NEW',
      }),
    );
    model.put(Attributes as Item);
  } else {
    await ddb.send(
      new DeleteItemCommand({
        TableName: name,
        Key: { pk: existing.pk as AttributeValue, sk: existing.sk as AttributeValue },
      }),
    );
    model.delete(existing.pk?.S as string, existing.sk?.S as string);
  }
}

/** A new write may not give g another type while the index exists. */
const writable = (item: Item): Item => (item.g?.N ? { ...item, g: { S: `was${item.g.N}` } } : item);

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('online GSI backfill', () => {
  // Slices are bounded by a count here (with a time bound far off), so the counts after each step are exact.
  it('fills a new GSI in bounded slices while puts, updates and deletes go on: each item exactly once', async () => {
    const server = await startTestServer({
      inMemory: true,
      indexJobs: { mode: 'manual', sliceItems: 50, sliceMs: 60_000 },
    });
    const ddb = new DynamoDBClient(server.clientConfig());
    try {
      const model = new Model();
      const n = 600;
      await createTable(ddb, 'stepped', n, model);
      const backfilled = model.indexed().length;
      await createIndex(ddb, 'stepped');
      assert.equal(await server.indexJobsStep(), true);
      const first = await indexOf(ddb, 'stepped');
      assert.equal(first?.IndexStatus, 'CREATING');
      assert.equal(first?.Backfilling, true);
      // One slice walks at most 50 items.
      assert.ok((first?.ItemCount ?? 0) > 0 && (first?.ItemCount ?? 0) <= 50, `one slice: ${first?.ItemCount}`);

      // An index key of the wrong type is refused from the moment the index exists.
      await rejectsWith(
        ddb.send(new PutItemCommand({ TableName: 'stepped', Item: { pk: { S: 'x' }, sk: { S: 'y' }, g: { N: '1' } } })),
        'ValidationException',
        'One or more parameter values were invalid: Type mismatch for Index Key g Expected: S Actual: N IndexName: byG',
      );
      const random = seeded(13);
      let writes = 0;
      let stepping = true;
      while (stepping) {
        for (let k = 0; k < 15; k++, writes++) await randomWrite(ddb, 'stepped', model, random, n);
        stepping = await server.indexJobsStep();
        if (stepping) assert.equal((await indexOf(ddb, 'stepped'))?.IndexStatus, 'CREATING');
      }
      assert.ok(writes >= 150, `writes went on through the backfill (${writes})`);
      const done = await indexOf(ddb, 'stepped');
      assert.equal(done?.IndexStatus, 'ACTIVE');
      assert.equal(done?.Backfilling, undefined);
      const expected = model.indexed();
      assert.ok(backfilled > 300, 'most entries came from the backfill');
      assert.deepEqual(await indexEntries(ddb, 'stepped'), expected);
      assert.equal(done?.ItemCount, expected.length);
      assert.ok((done?.IndexSizeBytes ?? 0) > 0);
      // And the index is maintained as any other afterwards.
      await randomWrite(ddb, 'stepped', model, random, n);
      await ddb.send(new DeleteItemCommand({ TableName: 'stepped', Key: { pk: { S: 'p1' }, sk: { S: 's1' } } }));
      model.delete('p1', 's1');
      assert.deepEqual(await indexEntries(ddb, 'stepped'), model.indexed());
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });

  it('runs by itself in the background, concurrent writers included', async () => {
    const server = await startTestServer({ inMemory: true, indexJobs: { sliceItems: 40 } });
    const ddb = new DynamoDBClient(server.clientConfig());
    try {
      const model = new Model();
      const n = 1500;
      await createTable(ddb, 'background', n, model);
      await createIndex(ddb, 'background');
      // Writers on distinct keys (so the model knows each key's last write) until the index is ACTIVE.
      let active = false;
      let during = 0;
      const writer = async (lane: number) => {
        const random = seeded(lane);
        for (let k = 0; !active; k++) {
          const i = n + lane * 100_000 + Math.floor(random() * 300);
          const item = writable(itemOf(i, k));
          if (random() < 0.2) {
            await ddb.send(
              new DeleteItemCommand({
                TableName: 'background',
                Key: { pk: item.pk as AttributeValue, sk: item.sk as AttributeValue },
              }),
            );
            model.delete(item.pk?.S as string, item.sk?.S as string);
          } else {
            await ddb.send(new PutItemCommand({ TableName: 'background', Item: item }));
            model.put(item);
          }
          if (!active) during++;
        }
      };
      const watcher = async () => {
        while ((await indexOf(ddb, 'background'))?.IndexStatus !== 'ACTIVE') {
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        active = true;
      };
      await Promise.all([writer(1), writer(2), writer(3), watcher()]);
      assert.ok(during > 0, 'writes were answered while the index was CREATING');
      const expected = model.indexed();
      assert.deepEqual(await indexEntries(ddb, 'background'), expected);
      assert.equal((await indexOf(ddb, 'background'))?.ItemCount, expected.length);
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });

  it('resumes after a restart where it stopped', async () => {
    const first = await startTestServer({ indexJobs: { mode: 'manual', sliceItems: 100, sliceMs: 60_000 } });
    let ddb = new DynamoDBClient(first.clientConfig());
    const model = new Model();
    let second: TestServer | undefined;
    try {
      // Every item carries g here, so each slice adds exactly 100 entries.
      const n = 450;
      await createTable(ddb, 'restarted', 0, model);
      for (let start = 0; start < n; start += 25) {
        const batch = Array.from({ length: 25 }, (_, j) => ({ ...itemOf(start + j), g: { S: `r${(start + j) % 9}` } }));
        await ddb.send(
          new BatchWriteItemCommand({ RequestItems: { restarted: batch.map((Item) => ({ PutRequest: { Item } })) } }),
        );
        for (const item of batch) model.put(item);
      }
      await createIndex(ddb, 'restarted');
      await first.indexJobsStep();
      await first.indexJobsStep();
      assert.equal((await indexOf(ddb, 'restarted'))?.ItemCount, 200);
      ddb.destroy();
      await first.close();

      second = await startTestServer({
        scratch: first.scratch,
        dataDir: first.dataDir,
        rootKeyFile: first.rootKeyFile,
        indexJobs: { mode: 'manual', sliceItems: 100, sliceMs: 60_000 },
      });
      ddb = new DynamoDBClient(second.clientConfig());
      const resumed = await indexOf(ddb, 'restarted');
      assert.equal(resumed?.IndexStatus, 'CREATING');
      assert.equal(resumed?.Backfilling, true);
      assert.equal(resumed?.ItemCount, 200, 'the entries written before the restart are kept');
      await second.indexJobsStep();
      assert.equal((await indexOf(ddb, 'restarted'))?.ItemCount, 300, 'the next slice goes on from the saved position');
      const item = { ...itemOf(10_000), g: { S: 'late' } };
      await ddb.send(new PutItemCommand({ TableName: 'restarted', Item: item }));
      model.put(item);
      await drain(second);
      const done = await indexOf(ddb, 'restarted');
      assert.equal(done?.IndexStatus, 'ACTIVE');
      assert.equal(done?.ItemCount, n + 1);
      assert.deepEqual(await indexEntries(ddb, 'restarted'), model.indexed());
    } finally {
      ddb.destroy();
      if (second) await second.cleanup();
      else await first.cleanup();
    }
  });

  it('deletes an index in bounded slices down to nothing; a Delete stops a backfill; the name is free again', async () => {
    const server = await startTestServer({
      inMemory: true,
      indexJobs: { mode: 'manual', sliceItems: 100, sliceMs: 60_000 },
    });
    const ddb = new DynamoDBClient(server.clientConfig());
    try {
      const model = new Model();
      await createTable(ddb, 'dropped', 400, model);
      await createIndex(ddb, 'dropped');
      await drain(server);
      const full = (await indexOf(ddb, 'dropped'))?.ItemCount as number;
      assert.equal(full, model.indexed().length);
      assert.ok(full > 250);

      await ddb.send(
        new UpdateTableCommand({
          TableName: 'dropped',
          GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'byG' } }],
        }),
      );
      // Writes no longer maintain an index being deleted, and may give g any type again.
      await ddb.send(
        new PutItemCommand({ TableName: 'dropped', Item: { pk: { S: 'n' }, sk: { S: 'n' }, g: { N: '5' } } }),
      );
      model.put({ pk: { S: 'n' }, sk: { S: 'n' }, g: { N: '5' } });
      await server.indexJobsStep();
      const deleting = await indexOf(ddb, 'dropped');
      assert.equal(deleting?.IndexStatus, 'DELETING');
      assert.equal(deleting?.ItemCount, full - 100);
      await server.indexJobsStep();
      assert.equal((await indexOf(ddb, 'dropped'))?.ItemCount, full - 200);
      await drain(server);
      assert.equal(await indexOf(ddb, 'dropped'), undefined);

      // A Delete while backfilling stops the backfill; then the same name is created afresh.
      await createIndex(ddb, 'dropped');
      await server.indexJobsStep();
      await ddb.send(
        new UpdateTableCommand({
          TableName: 'dropped',
          GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'byG' } }],
        }),
      );
      const stopped = await indexOf(ddb, 'dropped');
      assert.equal(stopped?.IndexStatus, 'DELETING');
      assert.equal(stopped?.Backfilling, undefined);
      await drain(server);
      assert.equal(await indexOf(ddb, 'dropped'), undefined);
      await rejectsWith(
        ddb.send(new ScanCommand({ TableName: 'dropped', IndexName: 'byG' })),
        'ValidationException',
        'The table does not have the specified index: byG',
      );
      await createIndex(ddb, 'dropped');
      await drain(server);
      const reborn = await indexOf(ddb, 'dropped');
      assert.equal(reborn?.IndexStatus, 'ACTIVE');
      assert.equal(reborn?.ItemCount, model.indexed().length);
      assert.deepEqual(await indexEntries(ddb, 'dropped'), model.indexed());
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });
});
