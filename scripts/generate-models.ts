/**
 * Writes the compact service models (`src/<service>/model.json`) from the botocore models.
 *
 *   node dist/scripts/generate-models.js [botocoreModelsDir] [repoRoot]
 *
 * botocoreModelsDir defaults to `../shared/reference/aws-models` relative to the repo root.
 * The output is checked in, so it is formatted for reading and diffing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CompactModelJson,
  loadModel,
  type MemberSpec,
  type ModelMetadata,
  type OperationSpec,
  type Shape,
} from '../src/validation/model.js';

const SERVICES = ['dynamodb', 'kms', 'cloudtrail', 'dynamodbstreams'] as const;
type Service = (typeof SERVICES)[number];

/** The folder under src/ of each service's model (botocore names DynamoDB Streams `dynamodbstreams`). */
const SOURCE_FOLDER: Readonly<Record<Service, string>> = {
  dynamodb: 'dynamodb',
  kms: 'kms',
  cloudtrail: 'cloudtrail',
  dynamodbstreams: 'streams',
};

interface BotocoreRef {
  readonly shape: string;
}

interface BotocoreShape {
  readonly type: string;
  readonly members?: Readonly<Record<string, BotocoreRef>>;
  readonly required?: readonly string[];
  readonly member?: BotocoreRef;
  readonly key?: BotocoreRef;
  readonly value?: BotocoreRef;
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly sensitive?: boolean;
  readonly exception?: boolean;
  readonly fault?: boolean;
}

interface BotocoreOperation {
  readonly input?: BotocoreRef;
  readonly output?: BotocoreRef;
  readonly errors?: readonly BotocoreRef[];
}

interface BotocoreModel {
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly operations: Readonly<Record<string, BotocoreOperation>>;
  readonly shapes: Readonly<Record<string, BotocoreShape>>;
}

/**
 * Coral lists enum values in messages in its own order, not the model's. These are the orders
 * real DynamoDB responses show (as recorded by dynalite's tests and emulators checked against AWS);
 * values not listed keep their model order after the listed ones.
 */
const CORAL_ENUM_ORDER: Readonly<Record<Service, Readonly<Record<string, readonly string[]>>>> = {
  dynamodb: {
    ScalarAttributeType: ['B', 'N', 'S'],
    KeyType: ['HASH', 'RANGE'],
    ProjectionType: ['ALL', 'INCLUDE', 'KEYS_ONLY'],
    Select: ['SPECIFIC_ATTRIBUTES', 'COUNT', 'ALL_ATTRIBUTES', 'ALL_PROJECTED_ATTRIBUTES'],
    ReturnConsumedCapacity: ['INDEXES', 'TOTAL', 'NONE'],
    ReturnItemCollectionMetrics: ['SIZE', 'NONE'],
    ReturnValue: ['ALL_NEW', 'UPDATED_OLD', 'ALL_OLD', 'NONE', 'UPDATED_NEW'],
    ConditionalOperator: ['OR', 'AND'],
    ComparisonOperator: [
      'IN',
      'NULL',
      'BETWEEN',
      'LT',
      'NOT_CONTAINS',
      'EQ',
      'GT',
      'NOT_NULL',
      'NE',
      'LE',
      'BEGINS_WITH',
      'GE',
      'CONTAINS',
    ],
    BillingMode: ['PROVISIONED', 'PAY_PER_REQUEST'],
  },
  kms: {},
  cloudtrail: {},
  dynamodbstreams: {},
};

/**
 * Where DynamoDB's own validation is not what the published model says. Table key schemas
 * are still held to two elements, reported as a constraint (`... at 'keySchema' failed to satisfy
 * constraint: Member must have length less than or equal to 2`, as recorded against DynamoDB by
 * ack-api-quirks DDB-TABLE-042 and by moto). Tags are checked by DynamoDB itself, in its own
 * words (`The Tag Key provided is invalid, Key: ...`, ack-api-quirks DDB-TABLE-107), so the
 * model's bounds and required members for them are left to src/dynamodb/operations/tags.ts.
 */
const CORAL_SHAPE_CHANGES: Readonly<Record<Service, Readonly<Record<string, (shape: Shape) => Shape>>>> = {
  dynamodb: {
    KeySchema: (shape) => ({ ...shape, max: 2 }) as Shape,
    // GSI keys may have up to 4 HASH and 4 RANGE elements (multi-attribute keys, Nov 2025); those
    // limits are DynamoDB's own checks with their own messages (ack-api-quirks DDB-TABLE-123), so
    // a GSI key schema has no length bound beyond the model's minimum.
    GlobalSecondaryIndex: withMemberShape('KeySchema', 'GlobalSecondaryIndexKeySchema'),
    CreateGlobalSecondaryIndexAction: withMemberShape('KeySchema', 'GlobalSecondaryIndexKeySchema'),
    TagKeyString: withoutBounds,
    TagValueString: withoutBounds,
    Tag: (shape) =>
      shape.type === 'structure' ? { ...shape, members: shape.members.map(({ required: _, ...m }) => m) } : shape,
  },
  kms: {},
  cloudtrail: {},
  dynamodbstreams: {},
};

/** Shapes DynamoDB validates that the published model does not name (see CORAL_SHAPE_CHANGES). */
const CORAL_ADDED_SHAPES: Readonly<Record<Service, Readonly<Record<string, Shape>>>> = {
  dynamodb: { GlobalSecondaryIndexKeySchema: { type: 'list', member: 'KeySchemaElement', min: 1 } },
  kms: {},
  cloudtrail: {},
  dynamodbstreams: {},
};

function withMemberShape(member: string, target: string): (shape: Shape) => Shape {
  return (shape) =>
    shape.type === 'structure'
      ? { ...shape, members: shape.members.map((m) => (m.name === member ? { ...m, shape: target } : m)) }
      : shape;
}

function withoutBounds(shape: Shape): Shape {
  const { min: _min, max: _max, ...rest } = shape as Shape & { min?: number; max?: number };
  return rest as Shape;
}

function coralEnumOrder(values: readonly string[], preferred: readonly string[] | undefined): string[] {
  if (!preferred) return [...values];
  const known = preferred.filter((v) => values.includes(v));
  return [...known, ...values.filter((v) => !known.includes(v))];
}

function compactShape(name: string, s: BotocoreShape, enumOrder: Readonly<Record<string, readonly string[]>>): Shape {
  const flags = { ...(s.sensitive ? { sensitive: true as const } : {}) };
  const bounds = { ...(s.min !== undefined ? { min: s.min } : {}), ...(s.max !== undefined ? { max: s.max } : {}) };
  switch (s.type) {
    case 'structure': {
      const required = new Set(s.required ?? []);
      const members: MemberSpec[] = Object.entries(s.members ?? {}).map(([member, ref]) => ({
        name: member,
        shape: ref.shape,
        ...(required.has(member) ? { required: true as const } : {}),
      }));
      return {
        type: 'structure',
        members,
        ...(s.exception ? { exception: true as const } : {}),
        ...(s.fault ? { fault: true as const } : {}),
        ...flags,
      };
    }
    case 'list':
      if (!s.member) throw new Error(`list ${name} has no member`);
      return { type: 'list', member: s.member.shape, ...bounds, ...flags };
    case 'map':
      if (!s.key || !s.value) throw new Error(`map ${name} has no key or value`);
      return { type: 'map', key: s.key.shape, value: s.value.shape, ...bounds, ...flags };
    case 'string':
      return {
        type: 'string',
        ...bounds,
        ...(s.pattern !== undefined ? { pattern: s.pattern } : {}),
        ...(s.enum ? { enum: coralEnumOrder(s.enum, enumOrder[name]) } : {}),
        ...flags,
      };
    case 'integer':
    case 'long':
    case 'float':
    case 'double':
      return { type: s.type, ...bounds, ...flags };
    case 'blob':
      return { type: 'blob', ...bounds, ...flags };
    case 'boolean':
    case 'timestamp':
      return { type: s.type, ...flags };
    default:
      throw new Error(`shape ${name} has unsupported type ${s.type}`);
  }
}

function metadataOf(m: BotocoreModel): ModelMetadata {
  const text = (key: string): string => {
    const value = m.metadata[key];
    if (typeof value !== 'string') throw new Error(`model metadata has no ${key}`);
    return value;
  };
  return {
    serviceId: text('serviceId'),
    apiVersion: text('apiVersion'),
    endpointPrefix: text('endpointPrefix'),
    targetPrefix: text('targetPrefix'),
    jsonVersion: text('jsonVersion'),
    protocol: text('protocol'),
  };
}

export function compactModel(service: Service, m: BotocoreModel): CompactModelJson {
  const operations: Record<string, OperationSpec> = {};
  for (const [name, op] of Object.entries(m.operations)) {
    operations[name] = {
      ...(op.input ? { input: op.input.shape } : {}),
      ...(op.output ? { output: op.output.shape } : {}),
      errors: (op.errors ?? []).map((e) => e.shape),
    };
  }
  const shapes: Record<string, Shape> = {};
  for (const [name, s] of Object.entries(m.shapes)) {
    const shape = compactShape(name, s, CORAL_ENUM_ORDER[service]);
    const change = CORAL_SHAPE_CHANGES[service][name];
    shapes[name] = change ? change(shape) : shape;
  }
  Object.assign(shapes, CORAL_ADDED_SHAPES[service]);
  return { metadata: metadataOf(m), operations, shapes };
}

// The repository's Biome settings, so the checked-in JSON reads like the code beside it.
const LINE_WIDTH = 120;
const INDENT = '  ';

/**
 * JSON as `biome format` writes it with the repository's settings: objects expanded, arrays of
 * scalars on one line when they fit. `column` is how much of the line is used before the value
 * starts and `after` how much after it ends (a separating comma).
 */
export function formatJson(value: unknown, depth = 0, column = 0, after = 0): string {
  const pad = INDENT.repeat(depth + 1);
  const end = INDENT.repeat(depth);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = pad.length;
    const items = value.map((v, i) => formatJson(v, depth + 1, inner, i < value.length - 1 ? 1 : 0));
    const inline = `[${items.join(', ')}]`;
    const scalars = value.every((v) => v === null || typeof v !== 'object');
    if (scalars && column + inline.length + after <= LINE_WIDTH) return inline;
    return `[\n${items.map((i) => pad + i).join(',\n')}\n${end}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const lines = entries.map(([k, v], i) => {
      const key = `${JSON.stringify(k)}: `;
      return `${pad}${key}${formatJson(v, depth + 1, pad.length + key.length, i < entries.length - 1 ? 1 : 0)}`;
    });
    return `{\n${lines.join(',\n')}\n${end}}`;
  }
  return JSON.stringify(value);
}

function repoRootFrom(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

function main(argv: readonly string[]): void {
  const root = resolve(argv[1] ?? repoRootFrom(dirname(fileURLToPath(import.meta.url))));
  const source = resolve(root, argv[0] ?? '../shared/reference/aws-models');
  for (const service of SERVICES) {
    const botocore = JSON.parse(readFileSync(join(source, `${service}.service-2.json`), 'utf8')) as BotocoreModel;
    const compact = compactModel(service, botocore);
    loadModel(compact);
    const target = join(root, 'src', SOURCE_FOLDER[service], 'model.json');
    writeFileSync(target, `${formatJson(compact)}\n`);
    const counts = `${Object.keys(compact.operations).length} operations, ${Object.keys(compact.shapes).length} shapes`;
    process.stdout.write(`${target}: ${counts}\n`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
