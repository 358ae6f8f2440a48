/**
 * The compact service model: the parts of a botocore `service-2.json` that request validation
 * and response shaping need (no documentation), as written by `scripts/generate-models.ts`.
 */

export type ScalarType = 'string' | 'integer' | 'long' | 'float' | 'double' | 'boolean' | 'blob' | 'timestamp';

export type ShapeType = ScalarType | 'structure' | 'list' | 'map';

export interface MemberSpec {
  readonly name: string;
  /** Target shape name. */
  readonly shape: string;
  readonly required?: true;
}

interface ShapeCommon {
  /** Coral leaves sensitive values out of validation messages (`Value at 'plaintext' ...`). */
  readonly sensitive?: true;
}

export interface StructureShape extends ShapeCommon {
  readonly type: 'structure';
  /** In model order, which is the order constraint errors are reported in. */
  readonly members: readonly MemberSpec[];
  readonly exception?: true;
  readonly fault?: true;
}

export interface ListShape extends ShapeCommon {
  readonly type: 'list';
  readonly member: string;
  readonly min?: number;
  readonly max?: number;
}

export interface MapShape extends ShapeCommon {
  readonly type: 'map';
  readonly key: string;
  readonly value: string;
  readonly min?: number;
  readonly max?: number;
}

export interface StringShape extends ShapeCommon {
  readonly type: 'string';
  readonly min?: number;
  readonly max?: number;
  /** A Java regular expression that must match the whole value. */
  readonly pattern?: string;
  /** In the order Coral lists them in messages (which is not always the model order). */
  readonly enum?: readonly string[];
}

export interface NumberShape extends ShapeCommon {
  readonly type: 'integer' | 'long' | 'float' | 'double';
  readonly min?: number;
  readonly max?: number;
}

export interface BlobShape extends ShapeCommon {
  readonly type: 'blob';
  /** In decoded bytes. */
  readonly min?: number;
  readonly max?: number;
}

export interface PlainShape extends ShapeCommon {
  readonly type: 'boolean' | 'timestamp';
}

export type Shape = StructureShape | ListShape | MapShape | StringShape | NumberShape | BlobShape | PlainShape;

export interface OperationSpec {
  readonly input?: string;
  readonly output?: string;
  readonly errors: readonly string[];
}

export interface ModelMetadata {
  readonly serviceId: string;
  readonly apiVersion: string;
  readonly endpointPrefix: string;
  readonly targetPrefix: string;
  readonly jsonVersion: string;
  readonly protocol: string;
}

/** The file format of `src/<service>/model.json`. */
export interface CompactModelJson {
  readonly metadata: ModelMetadata;
  readonly operations: Readonly<Record<string, OperationSpec>>;
  readonly shapes: Readonly<Record<string, Shape>>;
}

/** A loaded model: the JSON plus the indexes validation needs, checked once at load time. */
export interface CompactModel {
  readonly metadata: ModelMetadata;
  readonly operations: ReadonlyMap<string, OperationSpec>;
  readonly shapes: ReadonlyMap<string, Shape>;
  /** Compiled `pattern`s, keyed by the Java source. */
  readonly patterns: ReadonlyMap<string, RegExp>;
}

const SHAPE_TYPES: ReadonlySet<string> = new Set<ShapeType>([
  'structure',
  'list',
  'map',
  'string',
  'integer',
  'long',
  'float',
  'double',
  'boolean',
  'blob',
  'timestamp',
]);

const METADATA_KEYS: readonly (keyof ModelMetadata)[] = [
  'serviceId',
  'apiVersion',
  'endpointPrefix',
  'targetPrefix',
  'jsonVersion',
  'protocol',
];

class ModelError extends Error {
  constructor(message: string) {
    super(`invalid compact model: ${message}`);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The shapes a shape's values contain: members, list elements, map keys and values. */
export function referencedShapes(shape: Shape): string[] {
  switch (shape.type) {
    case 'structure':
      return shape.members.map((m) => m.shape);
    case 'list':
      return [shape.member];
    case 'map':
      return [shape.key, shape.value];
    default:
      return [];
  }
}

/**
 * Checks a parsed `model.json` and indexes it. Throws on a malformed model, a dangling shape
 * reference or a pattern that cannot be translated, so a bad model fails at startup, not mid-request.
 */
export function loadModel(json: unknown): CompactModel {
  if (!isRecord(json) || !isRecord(json.metadata) || !isRecord(json.operations) || !isRecord(json.shapes)) {
    throw new ModelError('expected {metadata, operations, shapes}');
  }
  const shapes = new Map<string, Shape>();
  for (const [name, raw] of Object.entries(json.shapes)) {
    if (!isRecord(raw) || typeof raw.type !== 'string' || !SHAPE_TYPES.has(raw.type)) {
      throw new ModelError(`shape ${name} has no known type`);
    }
    if (raw.type === 'structure' && !Array.isArray(raw.members)) {
      throw new ModelError(`structure ${name} has no members list`);
    }
    shapes.set(name, raw as unknown as Shape);
  }
  const patterns = new Map<string, RegExp>();
  for (const [name, shape] of shapes) {
    for (const target of referencedShapes(shape)) {
      if (typeof target !== 'string' || !shapes.has(target)) {
        throw new ModelError(`shape ${name} refers to unknown shape ${String(target)}`);
      }
    }
    if (shape.type === 'string' && shape.pattern !== undefined && !patterns.has(shape.pattern)) {
      try {
        patterns.set(shape.pattern, javaPatternToRegExp(shape.pattern));
      } catch (err) {
        throw new ModelError(`shape ${name}: pattern ${shape.pattern}: ${(err as Error).message}`);
      }
    }
  }
  const operations = new Map<string, OperationSpec>();
  for (const [name, raw] of Object.entries(json.operations)) {
    if (!isRecord(raw) || !Array.isArray(raw.errors)) throw new ModelError(`operation ${name} is malformed`);
    const op = raw as unknown as OperationSpec;
    for (const ref of [op.input, op.output, ...op.errors]) {
      if (ref !== undefined && !shapes.has(ref))
        throw new ModelError(`operation ${name} refers to unknown shape ${ref}`);
    }
    operations.set(name, op);
  }
  const metadata = json.metadata;
  for (const key of METADATA_KEYS) {
    if (typeof metadata[key] !== 'string') throw new ModelError(`metadata.${key} is not a string`);
  }
  return { metadata: metadata as unknown as ModelMetadata, operations, shapes, patterns };
}

export function getShape(model: CompactModel, name: string): Shape {
  const shape = model.shapes.get(name);
  if (!shape) throw new Error(`unknown shape ${name} in ${model.metadata.serviceId} model`);
  return shape;
}

// Java's POSIX classes are ASCII-only; only these appear in AWS models.
const POSIX_CLASSES: Readonly<Record<string, string>> = {
  Lower: 'a-z',
  Upper: 'A-Z',
  ASCII: '\\x00-\\x7F',
  Alpha: 'a-zA-Z',
  Digit: '0-9',
  Alnum: 'a-zA-Z0-9',
  Punct: '!-\\/:-@\\[-`{-~',
  Graph: '!-~',
  Print: ' -~',
  Blank: ' \\t',
  Cntrl: '\\x00-\\x1F\\x7F',
  XDigit: '0-9a-fA-F',
  Space: ' \\t\\n\\x0B\\f\\r',
};

/** Java's `\s` is ASCII whitespace; JavaScript's also matches Unicode spaces. */
const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';
/** Characters that may stay escaped under the `u` flag (any other identity escape is a SyntaxError). */
const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/');
const QUANTIFIER = /^\{\d+(,\d*)?\}/;

/**
 * Translates a Java regular expression (as found in AWS models) to a JavaScript RegExp that,
 * like Java's `Matcher.matches()`, must match the whole value. The `u` flag makes escaped
 * surrogate pairs such as `\uD800\uDC00-\uDBFF\uDFFF` mean supplementary code points, as in Java.
 */
export function javaPatternToRegExp(pattern: string): RegExp {
  let flags = 'u';
  let source = pattern;
  const inline = /^\(\?([a-z]+)\)/.exec(source);
  if (inline?.[1]) {
    for (const f of inline[1]) {
      if ((f === 's' || f === 'i' || f === 'm') && !flags.includes(f)) flags += f;
    }
    source = source.slice(inline[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source.charAt(i);
    if (c === '\\') {
      const next = source.charAt(i + 1);
      i++;
      if (next === 'p' || next === 'P') {
        const m = /^\{(?:Is)?([A-Za-z]+)\}/.exec(source.slice(i + 1));
        const range = m?.[1] ? POSIX_CLASSES[m[1]] : undefined;
        if (m && range !== undefined && !(inClass && next === 'P')) {
          i += m[0].length;
          if (inClass && next === 'p') out += range;
          else out += `[${next === 'P' ? '^' : ''}${range}]`;
          continue;
        }
        out += `\\${next}`;
      } else if (inClass && (next === 's' || next === 'S')) {
        out += next === 's' ? JAVA_SPACE : '\\S';
      } else if (next === 's' || next === 'S') {
        out += `[${next === 'S' ? '^' : ''}${JAVA_SPACE}]`;
      } else if (next === 'A') {
        out += '^';
      } else if (next === 'z' || next === 'Z') {
        out += '$';
      } else if (/[A-Za-z0-9]/.test(next)) {
        out += `\\${next}`;
      } else if (SYNTAX_CHARS.has(next) || (inClass && next === '-')) {
        out += `\\${next}`;
      } else {
        out += next;
      }
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A `]` right after `[` or `[^` is a literal in Java.
      if (source.charAt(i + 1) === '^') {
        out += '^';
        i++;
      }
      if (source.charAt(i + 1) === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '{') {
      const q = QUANTIFIER.exec(source.slice(i));
      if (q) {
        out += q[0];
        i += q[0].length - 1;
      } else {
        out += '\\{';
      }
      continue;
    }
    out += c === '}' || c === ']' ? `\\${c}` : c;
  }
  return new RegExp(`^(?:${out})$`, flags);
}
