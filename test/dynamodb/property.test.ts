/**
 * Random items and random condition expressions: the server's answers (Scan filters and
 * PutItem conditions) must match an evaluator written here from DynamoDB's documented rules,
 * independently of the server's own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type AttributeValue,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Item = Record<string, AttributeValue>;

const SEED = Number(process.env.PROPERTY_SEED ?? 20261128);
const ITEMS = 40;
const EXPRESSIONS = 200;

/** mulberry32: a small seeded generator, so a failure can be replayed with PROPERTY_SEED. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = generator(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const chance = (p: number) => random() < p;

const STRINGS = ['', 'a', 'ab', 'b', 'ba', 'abc', 'c'];
const NUMBERS = ['-2', '-0.5', '0', '1', '1.5', '2', '10'];
const scalar = (): AttributeValue =>
  pick<() => AttributeValue>([
    () => ({ S: pick(STRINGS) }),
    () => ({ N: pick(NUMBERS) }),
    () => ({ BOOL: chance(0.5) }),
    () => ({ NULL: true }),
  ])();
const uniq = (xs: string[]) => [...new Set(xs)];
const value = (): AttributeValue =>
  pick<() => AttributeValue>([
    scalar,
    scalar,
    () => ({ SS: uniq([pick(STRINGS.slice(1)), pick(STRINGS.slice(1))]) }),
    () => ({ NS: uniq([pick(NUMBERS), pick(NUMBERS)]) }),
    () => ({ L: Array.from({ length: Math.floor(random() * 3) }, scalar) }),
    () => ({ M: { x: scalar(), y: scalar() } }),
  ])();

function randomItem(n: number): Item {
  const item: Item = { id: { S: `i${n}` } };
  for (const name of ['a', 'b', 'c', 'd']) if (chance(0.8)) item[name] = value();
  return item;
}

// ---------------------------------------------------------------------------------------------
// The independent evaluator.

type Path = (string | number)[];

function at(item: Item, path: Path): AttributeValue | undefined {
  let current: AttributeValue | undefined = { M: item };
  for (const step of path) {
    if (current === undefined) return undefined;
    if (typeof step === 'number') current = current.L?.[step];
    else current = current.M && Object.hasOwn(current.M, step) ? current.M[step] : undefined;
  }
  return current;
}

const typeOf = (v: AttributeValue) => Object.keys(v)[0] as string;

function equal(x: AttributeValue, y: AttributeValue): boolean {
  const t = typeOf(x);
  if (t !== typeOf(y)) return false;
  if (t === 'N') return Number(x.N) === Number(y.N);
  if (t === 'SS') return x.SS?.length === y.SS?.length && (x.SS ?? []).every((s) => y.SS?.includes(s));
  if (t === 'NS')
    return x.NS?.length === y.NS?.length && (x.NS ?? []).every((s) => y.NS?.some((o) => Number(o) === Number(s)));
  if (t === 'L')
    return x.L?.length === y.L?.length && (x.L ?? []).every((e, i) => equal(e, y.L?.[i] as AttributeValue));
  if (t === 'M') {
    const kx = Object.keys(x.M ?? {});
    return (
      kx.length === Object.keys(y.M ?? {}).length &&
      kx.every((k) => y.M?.[k] !== undefined && equal(x.M?.[k] as AttributeValue, y.M[k] as AttributeValue))
    );
  }
  return JSON.stringify(x) === JSON.stringify(y);
}

/** Order of two scalars of one orderable type (N, S); undefined otherwise. */
function order(x: AttributeValue, y: AttributeValue): number | undefined {
  if (x.N !== undefined && y.N !== undefined) return Math.sign(Number(x.N) - Number(y.N));
  if (x.S !== undefined && y.S !== undefined) return x.S < y.S ? -1 : x.S > y.S ? 1 : 0;
  return undefined;
}

function size(v: AttributeValue): number | undefined {
  if (v.S !== undefined) return v.S.length;
  if (v.SS) return v.SS.length;
  if (v.NS) return v.NS.length;
  if (v.L) return v.L.length;
  if (v.M) return Object.keys(v.M).length;
  return undefined;
}

type Operand = { path: Path; size?: boolean } | { value: AttributeValue };
type Cond =
  | { op: '=' | '<>' | '<' | '<=' | '>' | '>='; left: Operand; right: Operand }
  | { op: 'between'; subject: Operand; lower: AttributeValue; upper: AttributeValue }
  | { op: 'in'; subject: Operand; values: AttributeValue[] }
  | { op: 'exists' | 'not_exists'; path: Path }
  | { op: 'type'; path: Path; type: string }
  | { op: 'begins' | 'contains'; path: Path; value: AttributeValue }
  | { op: 'and' | 'or'; left: Cond; right: Cond }
  | { op: 'not'; operand: Cond };

function operandValue(o: Operand, item: Item): AttributeValue | undefined {
  if ('value' in o) return o.value;
  const v = at(item, o.path);
  if (!o.size || v === undefined) return v;
  const n = size(v);
  return n === undefined ? undefined : { N: String(n) };
}

function holds(c: Cond, item: Item): boolean {
  switch (c.op) {
    case 'and':
      return holds(c.left, item) && holds(c.right, item);
    case 'or':
      return holds(c.left, item) || holds(c.right, item);
    case 'not':
      return !holds(c.operand, item);
    case 'exists':
      return at(item, c.path) !== undefined;
    case 'not_exists':
      return at(item, c.path) === undefined;
    case 'type': {
      const v = at(item, c.path);
      return v !== undefined && typeOf(v) === c.type;
    }
    case 'begins': {
      const v = at(item, c.path);
      return v?.S !== undefined && c.value.S !== undefined && v.S.startsWith(c.value.S);
    }
    case 'contains': {
      const v = at(item, c.path);
      if (!v) return false;
      if (v.S !== undefined) return c.value.S !== undefined && v.S.includes(c.value.S);
      if (v.SS) return c.value.S !== undefined && v.SS.includes(c.value.S);
      if (v.NS) return c.value.N !== undefined && v.NS.some((n) => Number(n) === Number(c.value.N));
      if (v.L) return v.L.some((e) => equal(e, c.value));
      return false;
    }
    case 'in': {
      const v = operandValue(c.subject, item);
      return v !== undefined && c.values.some((x) => equal(v, x));
    }
    case 'between': {
      const v = operandValue(c.subject, item);
      if (!v) return false;
      const lo = order(v, c.lower);
      const hi = order(v, c.upper);
      return lo !== undefined && hi !== undefined && lo >= 0 && hi <= 0;
    }
    default: {
      const x = operandValue(c.left, item);
      const y = operandValue(c.right, item);
      const same = x !== undefined && y !== undefined && equal(x, y);
      if (c.op === '=') return same;
      if (c.op === '<>') return !same;
      const o = x && y ? order(x, y) : undefined;
      if (o === undefined) return false;
      return { '<': o < 0, '<=': o <= 0, '>': o > 0, '>=': o >= 0 }[c.op];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Random conditions and their expression text.

const PATHS: Path[] = [['a'], ['b'], ['c'], ['d'], ['d', 'x'], ['c', 'y'], ['a', 0], ['b', 1], ['d', 0]];
const orderable = (): AttributeValue => (chance(0.5) ? { S: pick(STRINGS) } : { N: pick(NUMBERS) });

function randomCondition(depth: number): Cond {
  if (depth > 0 && chance(0.4)) {
    const kind = pick(['and', 'or', 'not'] as const);
    if (kind === 'not') return { op: 'not', operand: randomCondition(depth - 1) };
    return { op: kind, left: randomCondition(depth - 1), right: randomCondition(depth - 1) };
  }
  const path = pick(PATHS);
  const subject: Operand = chance(0.2) ? { path, size: true } : { path };
  switch (pick(['cmp', 'cmp', 'between', 'in', 'exists', 'type', 'begins', 'contains'])) {
    case 'cmp': {
      const op = pick(['=', '<>', '<', '<=', '>', '>='] as const);
      // Only = and <> take constants without an order: DynamoDB refuses `a < :map` as invalid.
      const unordered = (op === '=' || op === '<>') && chance(0.2);
      const v: Operand = {
        value: 'size' in subject && subject.size ? { N: pick(['0', '1', '2']) } : unordered ? value() : orderable(),
      };
      return chance(0.5) ? { op, left: subject, right: v } : { op, left: v, right: subject };
    }
    case 'between': {
      const [x, y] = chance(0.5)
        ? [{ S: pick(STRINGS) }, { S: pick(STRINGS) }]
        : [{ N: pick(NUMBERS) }, { N: pick(NUMBERS) }];
      const [lower, upper] = (order(x, y) ?? 0) <= 0 ? [x, y] : [y, x];
      return { op: 'between', subject, lower, upper };
    }
    case 'in':
      return { op: 'in', subject, values: [value(), orderable(), orderable()] };
    case 'exists':
      return { op: chance(0.5) ? 'exists' : 'not_exists', path };
    case 'type':
      return { op: 'type', path, type: pick(['S', 'N', 'BOOL', 'NULL', 'SS', 'NS', 'L', 'M']) };
    case 'begins':
      return { op: 'begins', path, value: { S: pick(STRINGS) } };
    default:
      return { op: 'contains', path, value: chance(0.6) ? { S: pick(STRINGS.slice(1)) } : { N: pick(NUMBERS) } };
  }
}

/** Renders with placeholders for every name and value (no reserved-word concerns). */
function render(c: Cond, values: Record<string, AttributeValue>): string {
  const val = (v: AttributeValue) => {
    const key = `:v${Object.keys(values).length}`;
    values[key] = v;
    return key;
  };
  const path = (p: Path) => p.map((s, i) => (typeof s === 'number' ? `[${s}]` : `${i > 0 ? '.' : ''}#${s}`)).join('');
  const operand = (o: Operand) => ('value' in o ? val(o.value) : o.size ? `size(${path(o.path)})` : path(o.path));
  switch (c.op) {
    case 'and':
    case 'or':
      return `(${render(c.left, values)}) ${c.op.toUpperCase()} (${render(c.right, values)})`;
    case 'not':
      return `NOT (${render(c.operand, values)})`;
    case 'exists':
      return `attribute_exists(${path(c.path)})`;
    case 'not_exists':
      return `attribute_not_exists(${path(c.path)})`;
    case 'type':
      return `attribute_type(${path(c.path)}, ${val({ S: c.type })})`;
    case 'begins':
      return `begins_with(${path(c.path)}, ${val(c.value)})`;
    case 'contains':
      return `contains(${path(c.path)}, ${val(c.value)})`;
    case 'in':
      return `${operand(c.subject)} IN (${c.values.map(val).join(', ')})`;
    case 'between':
      return `${operand(c.subject)} BETWEEN ${val(c.lower)} AND ${val(c.upper)}`;
    default:
      return `${operand(c.left)} ${c.op} ${operand(c.right)}`;
  }
}

const NAMES = { '#a': 'a', '#b': 'b', '#c': 'c', '#d': 'd', '#x': 'x', '#y': 'y' };

function namesUsed(text: string): Record<string, string> {
  return Object.fromEntries(Object.entries(NAMES).filter(([k]) => text.includes(k)));
}

/** DynamoDB refuses an empty ExpressionAttributeValues, so a condition without values sends none. */
const valuesMember = (values: Record<string, AttributeValue>) =>
  Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {};

describe(`random conditions agree with an independent evaluator (seed ${SEED})`, () => {
  let server: TestServer;
  let ddb: DynamoDBClient;
  const items = Array.from({ length: ITEMS }, (_, n) => randomItem(n));

  before(async () => {
    server = await startTestServer({ inMemory: true });
    ddb = new DynamoDBClient(server.clientConfig());
    await ddb.send(
      new CreateTableCommand({
        TableName: 'Random',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (const Item of items) await ddb.send(new PutItemCommand({ TableName: 'Random', Item }));
  });
  after(async () => {
    ddb.destroy();
    await server.cleanup();
  });

  it('FilterExpression selects exactly the items the evaluator selects', async () => {
    let nonTrivial = 0;
    for (let i = 0; i < EXPRESSIONS; i++) {
      const condition = randomCondition(2);
      const values: Record<string, AttributeValue> = {};
      const text = render(condition, values);
      const out = await ddb.send(
        new ScanCommand({
          TableName: 'Random',
          FilterExpression: text,
          ExpressionAttributeNames: namesUsed(text),
          ...valuesMember(values),
        }),
      );
      const got = (out.Items ?? []).map((item) => item.id?.S).sort();
      const expected = items
        .filter((item) => holds(condition, item))
        .map((item) => item.id.S)
        .sort();
      assert.deepEqual(got, expected, `${text} with ${JSON.stringify(values)}`);
      if (expected.length > 0 && expected.length < ITEMS) nonTrivial++;
    }
    // The generator must produce conditions that actually discriminate between items.
    assert.ok(nonTrivial > EXPRESSIONS / 4, `only ${nonTrivial} conditions selected a proper subset`);
  });

  it('ConditionExpression accepts or refuses writes as the evaluator does', async () => {
    for (let i = 0; i < 60; i++) {
      const item = pick(items);
      const condition = randomCondition(1);
      const values: Record<string, AttributeValue> = {};
      const text = render(condition, values);
      const write = ddb.send(
        new PutItemCommand({
          TableName: 'Random',
          Item: item,
          ConditionExpression: text,
          ExpressionAttributeNames: namesUsed(text),
          ...valuesMember(values),
        }),
      );
      if (holds(condition, item)) await write;
      else await assert.rejects(write, { name: 'ConditionalCheckFailedException' }, text);
    }
  });
});
