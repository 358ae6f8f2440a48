/**
 * Issue 12, item 11: the item checks of a large PutItem or BatchWriteItem (every value, the item
 * size) run in the JSON worker, and the main thread gets the checked items as their stored
 * bodies, never building their object graphs (the largest valid BatchWriteItem held the event
 * loop ~1.9 s in these checks). bench/stall.mjs measures the stall; this file pins the structure
 * and the behaviour:
 * - which thread checks the items (the `sealdb:dynamodb:item-checks` diagnostics channel, told on
 *   the thread that runs the checks: the test subscribes on the server's main thread);
 * - that the worker's path answers exactly as the main thread's does: a corpus of valid and
 *   invalid items, each sent once small (checked on the main thread) and once padded past 64 KiB
 *   with a member the model does not know (checked in the worker), and the items stored.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { preparedPutItem, preparedWrites, prepareInput } from '../../src/dynamodb/item-checks/prepare.js';
import {
  checkPutValues,
  checkWriteRequests,
  ITEM_CHECKS_CHANNEL,
  type WriteRequest,
} from '../../src/dynamodb/item-checks/write-requests.js';
import { AwsError } from '../../src/http/aws-error.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const amzDate = new Date()
  .toISOString()
  .replace(/\.\d{3}Z$/, 'Z')
  .replace(/[-:]/g, '');
const authorization = `AWS4-HMAC-SHA256 Credential=AKIDLOCAL/${amzDate.slice(0, 8)}/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`;

interface Answer {
  readonly status: number;
  readonly body: string;
}

function post(port: number, operation: string, input: unknown): Promise<Answer> {
  const bytes = Buffer.from(JSON.stringify(input));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/',
        agent: false,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': `DynamoDB_20120810.${operation}`,
          'x-amz-date': amzDate,
          authorization,
          'content-length': String(bytes.length),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(bytes);
  });
}

/** The same input, past the 64 KiB above which bodies go to the worker: the model drops the padding. */
const padded = (input: Record<string, unknown>) => ({ ...input, NotInTheModel: 'x'.repeat(70_000) });

const nested = (levels: number): unknown => (levels === 1 ? { S: 'deep' } : { M: { d: nested(levels - 1) } });

/** Items as PutItem and PutRequests send them: valid ones (normalized when stored) and invalid ones. */
const ITEMS: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
  [
    'every type, numbers and sets normalized',
    {
      id: { S: 'k1' },
      n: { N: '1.500' },
      zero: { N: '-0.0' },
      e: { N: '1E+3' },
      ns: { NS: ['1', '2.50', '-3'] },
      ss: { SS: ['a', 'b'] },
      b: { B: 'AAEC' },
      bs: { BS: ['AA==', 'AQ=='] },
      m: { M: { l: { L: [{ NULL: true }, { BOOL: false }, { N: '007' }] } } },
      __proto__x: { S: 'p' },
      ünï: { S: 'çé' },
    },
  ],
  ['an attribute named __proto__', JSON.parse('{"id":{"S":"k2"},"__proto__":{"S":"own"}}') as Record<string, unknown>],
  ['32 levels of documents', { id: { S: 'k3' }, d: nested(32) }],
  ['an empty value', { id: { S: 'k' }, e: {} }],
  ['two types in one value', { id: { S: 'k' }, v: { S: 'a', N: '1' } }],
  ['NULL false', { id: { S: 'k' }, v: { NULL: false } }],
  ['an empty string set', { id: { S: 'k' }, v: { SS: [] } }],
  ['a string set with duplicates', { id: { S: 'k' }, v: { SS: ['a', 'a'] } }],
  ['a number set equal after normalization', { id: { S: 'k' }, v: { NS: ['1', '1.0'] } }],
  ['a binary set with duplicates', { id: { S: 'k' }, v: { BS: ['AA==', 'AA=='] } }],
  ['a bad number', { id: { S: 'k' }, v: { N: '12abc' } }],
  ['bad base64', { id: { S: 'k' }, v: { B: 'AAE' } }],
  ['33 levels of documents', { id: { S: 'k' }, d: nested(33) }],
  ['an empty attribute name', { id: { S: 'k' }, '': { S: 'v' } }],
  ['a value error after a type error', { id: { S: 'k' }, a: {}, b: { S: 5 } }],
  ['no key', { other: { S: 'v' } }],
  ['a mistyped key', { id: { N: '1' } }],
  ['an empty key', { id: { S: '' } }],
];

/** An item over 400 KB (its size checked in both places: too large to send small). */
const TOO_LARGE = { id: { S: 'big' }, v: { S: 'y'.repeat(410_000) } };

function outcome(run: () => { body: Buffer; size: number }): unknown {
  try {
    const { body, size } = run();
    return { body: body.toString('utf8'), size };
  } catch (error) {
    assert.ok(error instanceof AwsError, String(error));
    return { code: error.code, message: error.message, status: error.statusCode };
  }
}

describe('item checks of large requests in the JSON worker', () => {
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startTestServer({ inMemory: true });
    port = server.port;
    for (const TableName of ['Small', 'Large']) {
      const created = await post(port, 'CreateTable', {
        TableName,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      });
      assert.equal(created.status, 200, created.body);
    }
  });

  after(async () => {
    await server?.cleanup();
  });

  it("the worker's preparer gives what the main thread's checks give, for every item of the corpus", () => {
    for (const [name, Item] of [...ITEMS, ['too large', TOO_LARGE] as const]) {
      const here = outcome(() => checkPutValues(Item));
      const there = outcome(() => {
        const prepared = prepareInput('PutItem', { TableName: 't', Item });
        assert.ok(prepared);
        return preparedPutItem(prepared.prepared);
      });
      assert.deepEqual(there, here, name);
      // As PutRequests of a batch: the first error, or every item's body and size.
      const requests = { t: [{ PutRequest: { Item: { id: { S: 'first' } } } }, { PutRequest: { Item } }] };
      const batchHere = outcome(() => {
        const [[, writes]] = checkWriteRequests(requests as Record<string, WriteRequest[]>) as [[string, never[]]];
        const put = (writes[1] as { put: { body: Buffer; size: number } }).put;
        return { body: put.body, size: put.size };
      });
      const batchThere = outcome(() => {
        const prepared = prepareInput('BatchWriteItem', { RequestItems: requests });
        assert.ok(prepared);
        const [[, writes]] = preparedWrites(prepared.prepared) as [[string, never[]]];
        const put = (writes[1] as { put: { body: Buffer; size: number } }).put;
        return { body: put.body, size: put.size };
      });
      assert.deepEqual(batchThere, batchHere, `${name} (BatchWriteItem)`);
    }
  });

  it('checks the items of a large request off the main thread, and those of a small one on it', async () => {
    const seen: string[] = [];
    const onCheck = (message: unknown) => seen.push((message as { kind: string }).kind);
    subscribe(ITEM_CHECKS_CHANNEL, onCheck);
    try {
      const attributes = Object.fromEntries(Array.from({ length: 3_000 }, (_, a) => [`a${a}`, { S: `value-${a}` }]));
      const batch = (TableName: string, count: number) => ({
        RequestItems: {
          [TableName]: [
            ...Array.from({ length: count }, (_, i) => ({
              PutRequest: { Item: { id: { S: `big-${i}` }, ...attributes } },
            })),
            { DeleteRequest: { Key: { id: { S: 'absent' } } } },
          ],
        },
      });
      // Small: checked here, on the server's main thread (the observable works).
      const small = await post(port, 'BatchWriteItem', batch('Small', 0));
      assert.equal(small.status, 200, small.body);
      assert.deepEqual(seen, ['key']);
      seen.length = 0;
      // 24 items of 3,000 attributes (1.5 MB): none of their checks runs on the main thread.
      const large = await post(port, 'BatchWriteItem', batch('Large', 24));
      assert.equal(large.status, 200, large.body);
      const put = await post(port, 'PutItem', { TableName: 'Large', Item: { id: { S: 'one' }, ...attributes } });
      assert.equal(put.status, 200, put.body);
      assert.deepEqual(seen, []);
      // And what they stored is the items as sent.
      for (const id of ['big-0', 'big-23', 'one']) {
        const got = await post(port, 'GetItem', { TableName: 'Large', Key: { id: { S: id } } });
        assert.deepEqual(JSON.parse(got.body), { Item: { id: { S: id }, ...attributes } }, id);
      }
    } finally {
      unsubscribe(ITEM_CHECKS_CHANNEL, onCheck);
    }
  });

  it('PutItem: the same answer and the same stored item, checked on the main thread or in the worker', async () => {
    for (const [name, Item] of ITEMS) {
      const small = await post(port, 'PutItem', { TableName: 'Small', Item });
      const large = await post(port, 'PutItem', padded({ TableName: 'Large', Item }));
      assert.deepEqual(large, small, name);
      if (small.status !== 200) continue;
      const Key = { id: Item.id };
      const stored = await post(port, 'GetItem', { TableName: 'Small', Key });
      assert.deepEqual(await post(port, 'GetItem', { TableName: 'Large', Key }), stored, name);
    }
    const tooLarge = await post(port, 'PutItem', { TableName: 'Large', Item: TOO_LARGE });
    assert.deepEqual(tooLarge, {
      status: 400,
      body: '{"__type":"com.amazon.coral.validate#ValidationException","message":"Item size has exceeded the maximum allowed size"}',
    });
  });

  it('PutItem keeps DynamoDB’s order: its table name and condition are checked before its item', async () => {
    const bad = { id: { S: 'k' }, e: {} };
    for (const input of [
      { TableName: 'arn:aws:dynamodb:us-east-1:999999999999:table/Large', Item: bad },
      { TableName: 'Large', Item: bad, ConditionExpression: 'attribute_exists(' },
      { TableName: 'Missing', Item: { id: { S: 'k' } } },
    ]) {
      const small = await post(port, 'PutItem', input);
      const large = await post(port, 'PutItem', padded(input));
      assert.notEqual(small.status, 200, small.body);
      assert.deepEqual(large, small, JSON.stringify(input).slice(0, 80));
    }
  });

  it('BatchWriteItem: the same answer and the same stored items, checked on the main thread or in the worker', async () => {
    const put = (Item: unknown) => ({ PutRequest: { Item } });
    const del = (Key: unknown) => ({ DeleteRequest: { Key } });
    const batches: ReadonlyArray<readonly [string, (table: string) => Record<string, unknown>]> = [
      [
        'puts and a delete',
        (t) => ({ RequestItems: { [t]: [put(ITEMS[0]?.[1]), put(ITEMS[1]?.[1]), del({ id: { S: 'k3' } })] } }),
      ],
      ...ITEMS.slice(3).map(
        ([name, Item]) =>
          [
            `a valid put, then ${name}`,
            (t: string) => ({ RequestItems: { [t]: [put({ id: { S: 'ok' } }), put(Item)] } }),
          ] as const,
      ),
      [
        'both requests in one',
        (t) => ({ RequestItems: { [t]: [{ ...put({ id: { S: 'a' } }), ...del({ id: { S: 'a' } }) }] } }),
      ],
      [
        'a bad value after a request of both kinds',
        (t) => ({
          RequestItems: {
            [t]: [put({ id: { S: 'a' }, v: {} }), { ...put({ id: { S: 'b' } }), ...del({ id: { S: 'b' } }) }],
          },
        }),
      ],
      ['a bad delete key', (t) => ({ RequestItems: { [t]: [del({ id: { S: 'a', N: '1' } })] } })],
      ['a delete key that is no key', (t) => ({ RequestItems: { [t]: [del({ other: { S: 'a' } })] } })],
      [
        'two writes to one item',
        (t) => ({ RequestItems: { [t]: [put({ id: { S: 'd' } }), del({ id: { S: 'd' } })] } }),
      ],
      [
        '26 requests over two tables',
        (t) => ({
          RequestItems: {
            [t]: Array.from({ length: 13 }, (_, i) => put({ id: { S: `x${i}` } })),
            Other: Array.from({ length: 13 }, (_, i) => put({ id: { S: `y${i}` } })),
          },
        }),
      ],
      [
        'a table that does not exist',
        (t) => ({ RequestItems: { [t]: [put({ id: { S: 'a' } })], Nowhere: [put({ id: { S: 'a' } })] } }),
      ],
    ];
    for (const [name, batch] of batches) {
      const small = await post(port, 'BatchWriteItem', batch('Small'));
      const large = await post(port, 'BatchWriteItem', padded(batch('Large')));
      // Table names appear in some messages (the two tables' names are of one length).
      assert.deepEqual({ ...large, body: large.body.replaceAll('Large', 'Small') }, small, name);
      for (const id of ['k1', 'k2', 'k3', 'ok', 'a', 'd']) {
        const Key = { id: { S: id } };
        const stored = await post(port, 'GetItem', { TableName: 'Small', Key });
        assert.deepEqual(await post(port, 'GetItem', { TableName: 'Large', Key }), stored, `${name}: ${id}`);
      }
    }
  });
});
