/**
 * Property: after random writes (put, update, delete, transactions across two tables, batches),
 * every index holds exactly the entries a Scan of its base table implies, with the projected
 * attributes, read back through Scan and Query of the index. The seed is printed; rerun a failure
 * with PROPERTY_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type ScanCommandInput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { startTestServer, type TestServer } from '../../helpers/server.js';

type Item = Record<string, AttributeValue>;

/** mulberry32: small, fast, good enough to drive a property test. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TABLES = ['PropA', 'PropB'];
const OPERATIONS = 160;

interface IndexSpec {
  readonly name: string;
  readonly hash: readonly string[];
  readonly range: readonly string[];
  /** The attributes an entry holds besides all keys; undefined: ALL. */
  readonly include?: readonly string[];
}

const INDEXES: readonly IndexSpec[] = [
  { name: 'lsi', hash: ['pk'], range: ['ls'], include: ['x'] },
  { name: 'sparse', hash: ['g'], range: [], include: [] },
  { name: 'multi', hash: ['ma', 'mb'], range: ['mc', 'md'] },
];

async function createTable(ddb: DynamoDBClient, name: string): Promise<void> {
  const def = (AttributeName: string, AttributeType: 'S' | 'N') => ({ AttributeName, AttributeType });
  const key = (AttributeName: string, KeyType: 'HASH' | 'RANGE') => ({ AttributeName, KeyType });
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      AttributeDefinitions: [
        def('pk', 'S'),
        def('sk', 'N'),
        def('ls', 'S'),
        def('g', 'S'),
        def('ma', 'S'),
        def('mb', 'N'),
        def('mc', 'S'),
        def('md', 'N'),
      ],
      KeySchema: [key('pk', 'HASH'), key('sk', 'RANGE')],
      LocalSecondaryIndexes: [
        {
          IndexName: 'lsi',
          KeySchema: [key('pk', 'HASH'), key('ls', 'RANGE')],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['x'] },
        },
      ],
      GlobalSecondaryIndexes: [
        { IndexName: 'sparse', KeySchema: [key('g', 'HASH')], Projection: { ProjectionType: 'KEYS_ONLY' } },
        {
          IndexName: 'multi',
          KeySchema: [key('ma', 'HASH'), key('mb', 'HASH'), key('mc', 'RANGE'), key('md', 'RANGE')],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** What an index entry of `item` must show, or undefined when the item is not in the index. */
function expectedEntry(index: IndexSpec, item: Item): Item | undefined {
  const keys = ['pk', 'sk', ...index.hash, ...index.range];
  if (keys.some((k) => item[k] === undefined)) return undefined;
  if (!index.include) return item;
  const out: Item = {};
  for (const name of [...keys, ...index.include]) if (item[name]) out[name] = item[name] as AttributeValue;
  return out;
}

const canonical = (items: readonly Item[]): string[] => items.map((i) => JSON.stringify(sortKeys(i))).sort();
const sortKeys = (item: Item): Item => Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)));

describe('index property: indexes agree with their base tables after random writes', () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  const seed = Number(process.env.PROPERTY_SEED ?? Date.now() % 2 ** 31);

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    for (const name of TABLES) await createTable(ddb, name);
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  async function scanAll(input: ScanCommandInput): Promise<Item[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await ddb.send(new ScanCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  it(`holds for seed ${seed}`, async (t) => {
    t.diagnostic(`PROPERTY_SEED=${seed}`);
    console.log(`index property test: PROPERTY_SEED=${seed}`);
    const random = prng(seed);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    const maybe = <T>(p: number, value: () => T): T | undefined => (random() < p ? value() : undefined);
    const key = (): Item => ({ pk: { S: pick(['p0', 'p1', 'p2']) }, sk: { N: String(pick([0, 1, 2, 3, 4])) } });
    const values: Record<string, () => AttributeValue> = {
      ls: () => ({ S: pick(['l0', 'l1', 'l2']) }),
      g: () => ({ S: pick(['g0', 'g1']) }),
      ma: () => ({ S: pick(['a', 'b']) }),
      mb: () => ({ N: pick(['1', '2']) }),
      mc: () => ({ S: pick(['x', 'y', 'xy']) }),
      md: () => ({ N: pick(['1', '2', '3']) }),
      x: () => ({ S: `x${Math.floor(random() * 1000)}` }),
      y: () => ({ S: `y${Math.floor(random() * 1000)}` }),
    };
    const randomItem = (): Item => {
      const item = key();
      for (const [name, value] of Object.entries(values)) {
        const v = maybe(name === 'g' ? 0.4 : 0.75, value);
        if (v) item[name] = v;
      }
      return item;
    };
    const randomUpdate = () => {
      const sets: string[] = [];
      const removes: string[] = [];
      const names: Record<string, string> = {};
      const vals: Item = {};
      for (const [name, value] of Object.entries(values)) {
        const r = random();
        if (r < 0.3) {
          sets.push(`#${name} = :${name}`);
          names[`#${name}`] = name;
          vals[`:${name}`] = value();
        } else if (r < 0.45) {
          removes.push(`#${name}`);
          names[`#${name}`] = name;
        }
      }
      if (sets.length === 0 && removes.length === 0) {
        sets.push('#y = :y');
        names['#y'] = 'y';
        vals[':y'] = values.y?.() as AttributeValue;
      }
      const expression = [
        sets.length > 0 ? `SET ${sets.join(', ')}` : '',
        removes.length > 0 ? `REMOVE ${removes.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' ');
      return {
        UpdateExpression: expression,
        ExpressionAttributeNames: names,
        ...(Object.keys(vals).length > 0 ? { ExpressionAttributeValues: vals } : {}),
      };
    };
    const distinctKeys = (count: number) => {
      const seen = new Set<string>();
      const out: Array<{ table: string; key: Item }> = [];
      while (out.length < count) {
        const table = pick(TABLES);
        const k = key();
        const id = `${table}/${k.pk?.S}/${k.sk?.N}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({ table, key: k });
      }
      return out;
    };

    const counts: Record<string, number> = {};
    for (let op = 0; op < OPERATIONS; op++) {
      const kind = pick(['put', 'put', 'update', 'update', 'delete', 'transaction', 'batch']);
      counts[kind] = (counts[kind] ?? 0) + 1;
      const TableName = pick(TABLES);
      if (kind === 'put') await ddb.send(new PutItemCommand({ TableName, Item: randomItem() }));
      else if (kind === 'update') await ddb.send(new UpdateItemCommand({ TableName, Key: key(), ...randomUpdate() }));
      else if (kind === 'delete') await ddb.send(new DeleteItemCommand({ TableName, Key: key() }));
      else if (kind === 'transaction') {
        const TransactItems: TransactWriteItem[] = distinctKeys(1 + Math.floor(random() * 3)).map(
          ({ table, key: k }) => {
            const r = random();
            if (r < 0.4) return { Put: { TableName: table, Item: { ...randomItem(), ...k } } };
            if (r < 0.8) return { Update: { TableName: table, Key: k, ...randomUpdate() } };
            return { Delete: { TableName: table, Key: k } };
          },
        );
        await ddb.send(new TransactWriteItemsCommand({ TransactItems }));
      } else {
        const RequestItems: Record<string, Array<{ PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }>> = {};
        for (const { table, key: k } of distinctKeys(1 + Math.floor(random() * 5))) {
          const list = RequestItems[table] ?? [];
          list.push(
            random() < 0.7 ? { PutRequest: { Item: { ...randomItem(), ...k } } } : { DeleteRequest: { Key: k } },
          );
          RequestItems[table] = list;
        }
        await ddb.send(new BatchWriteItemCommand({ RequestItems }));
      }
    }
    t.diagnostic(`operations: ${JSON.stringify(counts)}`);

    for (const TableName of TABLES) {
      const base = await scanAll({ TableName });
      for (const index of INDEXES) {
        const expected = base.flatMap((item) => {
          const entry = expectedEntry(index, item);
          return entry ? [entry] : [];
        });
        const scanned = await scanAll({ TableName, IndexName: index.name, Limit: 3 });
        assert.deepEqual(canonical(scanned), canonical(expected), `${TableName} ${index.name}: Scan (seed ${seed})`);

        // Query every partition of the index; a sort key comes back in order.
        const partitions = new Map<string, Item>();
        for (const entry of expected) {
          const values = Object.fromEntries(index.hash.map((h) => [h, entry[h] as AttributeValue]));
          partitions.set(JSON.stringify(values), values);
        }
        for (const values of partitions.values()) {
          const names = Object.fromEntries(index.hash.map((h, i) => [`#h${i}`, h]));
          const attributeValues = Object.fromEntries(index.hash.map((h, i) => [`:h${i}`, values[h] as AttributeValue]));
          const condition = index.hash.map((_, i) => `#h${i} = :h${i}`).join(' AND ');
          const got: Item[] = [];
          let start: Item | undefined;
          do {
            const page = await ddb.send(
              new QueryCommand({
                TableName,
                IndexName: index.name,
                KeyConditionExpression: condition,
                ExpressionAttributeNames: names,
                ExpressionAttributeValues: attributeValues,
                Limit: 2,
                ...(start ? { ExclusiveStartKey: start } : {}),
              }),
            );
            got.push(...(page.Items ?? []));
            start = page.LastEvaluatedKey;
          } while (start);
          const want = expected.filter((e) =>
            index.hash.every((h) => JSON.stringify(e[h]) === JSON.stringify(values[h])),
          );
          assert.deepEqual(
            canonical(got),
            canonical(want),
            `${TableName} ${index.name} ${JSON.stringify(values)}: Query (seed ${seed})`,
          );
          const order = got.map((e) => index.range.map((r) => e[r]?.S ?? Number(e[r]?.N)));
          for (let i = 1; i < order.length; i++) {
            const [a, b] = [order[i - 1] as (string | number)[], order[i] as (string | number)[]];
            const cmp = a.findIndex((v, j) => v !== b[j]);
            if (cmp >= 0)
              assert.ok((a[cmp] as string | number) < (b[cmp] as string | number), `sort order (seed ${seed})`);
          }
        }
      }
      // A multi-attribute range condition selects exactly the entries it names.
      const multi = INDEXES[2] as IndexSpec;
      const ranged = await ddb.send(
        new QueryCommand({
          TableName,
          IndexName: 'multi',
          KeyConditionExpression: 'ma = :a AND mb = :b AND mc = :c AND md >= :d',
          ExpressionAttributeValues: { ':a': { S: 'a' }, ':b': { N: '1' }, ':c': { S: 'x' }, ':d': { N: '2' } },
        }),
      );
      const want = base
        .map((i) => expectedEntry(multi, i))
        .filter(
          (e): e is Item =>
            e !== undefined && e.ma?.S === 'a' && e.mb?.N === '1' && e.mc?.S === 'x' && Number(e.md?.N) >= 2,
        );
      assert.deepEqual(canonical(ranged.Items ?? []), canonical(want), `${TableName} multi range (seed ${seed})`);
    }
  });
});
