/**
 * One generic input checker driven by the compact service models, reproducing AWS Coral:
 * first the JSON types (SerializationException), then the model constraints (ValidationException,
 * `N validation error(s) detected: ...`). Message facts come from responses of the real services
 * as recorded by dynalite and by emulators checked against AWS.
 */
import { AwsError } from '../http/aws-error.js';
import {
  type CompactModel,
  getShape,
  type MemberSpec,
  referencedShapes,
  type ScalarType,
  type Shape,
  type StructureShape,
} from './model.js';
import { setOwnEntry } from './own-entry.js';

export interface CheckOptions {
  /** `__type` namespace of SerializationException (DynamoDB: `com.amazon.coral.service`; KMS/CloudTrail: none). */
  readonly serializationNamespace?: string;
  /** `__type` namespace of ValidationException (DynamoDB: `com.amazon.coral.validate`; KMS/CloudTrail: none). */
  readonly validationNamespace?: string;
  /**
   * How type mismatches are worded. `coral` is the classic Coral JSON layer (KMS, CloudTrail:
   * `NUMBER_VALUE can not be converted to a String`). `dynamodb` is DynamoDB's current
   * deserializer (`NUMBER_VALUE cannot be converted to String`, `Unexpected field type`, ...),
   * which also sends the text in a `Message` member.
   */
  readonly typeMessages?: 'coral' | 'dynamodb';
}

/** One shared default: type checkers are cached per options object, so a fresh `{}` per call would miss. */
const NO_OPTIONS: CheckOptions = {};

/** Coral stops collecting constraint violations at ten. */
export const MAX_VALIDATION_ERRORS = 10;

/** Coral's member-name casing in paths: only the first character is lowered (`sSESpecification`). */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** Type phase then constraint phase; returns the input reduced to modelled, non-null members. */
export function checkInput(
  model: CompactModel,
  operation: string,
  input: unknown,
  options: CheckOptions = NO_OPTIONS,
): Record<string, unknown> {
  const value = checkTypes(model, operation, input, options);
  checkConstraints(model, operation, value, options);
  return value;
}

interface InputShape {
  readonly name: string;
  readonly shape: StructureShape;
}

/** Callers route only known operations, so an unknown one is a programming error, not a client's. */
function inputShape(model: CompactModel, operation: string): InputShape | undefined {
  const op = model.operations.get(operation);
  if (!op) throw new Error(`${model.metadata.serviceId} has no operation ${operation}`);
  if (op.input === undefined) return undefined;
  const shape = getShape(model, op.input);
  if (shape.type !== 'structure') throw new Error(`input of ${operation} is not a structure`);
  return { name: op.input, shape };
}

// ---------------------------------------------------------------------------------------------
// Type phase

const LIST_FOUND = 'Start of list found where not expected';
const MAP_FOUND = 'Start of structure or map found where not expected.';

type JsonKind = 'STRING_VALUE' | 'NUMBER_VALUE' | 'TRUE_VALUE' | 'FALSE_VALUE' | 'list' | 'object';

/** How Coral names the Java type it failed to produce. */
const CORAL_TARGET: Readonly<Record<ScalarType, string>> = {
  string: 'a String',
  integer: 'an Integer',
  long: 'a Long',
  float: 'a Float',
  double: 'a Double',
  boolean: 'a Boolean',
  blob: 'a Blob',
  timestamp: 'milliseconds since epoch',
};

/**
 * DynamoDB's current deserializer, as recorded against DynamoDB by dynalite's test helpers
 * (assertType): the Java type it failed to fill, by shape type.
 */
const JAVA_TYPE: Readonly<Record<ScalarType, string>> = {
  string: 'java.lang.String',
  integer: 'java.lang.Integer',
  long: 'java.lang.Long',
  float: 'java.lang.Float',
  double: 'java.lang.Double',
  boolean: 'java.lang.Boolean',
  blob: 'java.nio.ByteBuffer',
  timestamp: 'java.util.Date',
};

const DYNAMODB_TARGET: Readonly<Record<ScalarType, string>> = {
  string: 'String',
  integer: 'Integer',
  long: 'Long',
  float: 'Float',
  double: 'Double',
  boolean: 'Boolean',
  blob: 'Blob',
  timestamp: 'Date',
};

const STRUCTURE_FOUND = 'Start of structure or map found where not expected';
/** A list or map where a list or map element was expected: DynamoDB's deserializer fails on a cast. */
const NESTED_COLLECTION =
  "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to class java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and java.lang.Class are in module java.base of loader 'bootstrap')";

/** Where a value sits: a structure's member, or an element of a list or map (DynamoDB words these apart). */
type Position = 'field' | 'element';

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

function kindOf(value: unknown): JsonKind {
  if (Array.isArray(value)) return 'list';
  switch (typeof value) {
    case 'string':
      return 'STRING_VALUE';
    case 'number':
      return 'NUMBER_VALUE';
    case 'boolean':
      return value ? 'TRUE_VALUE' : 'FALSE_VALUE';
    default:
      return 'object';
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

class TypeChecker {
  private readonly dynamodb: boolean;
  private readonly javaPackage: string;

  constructor(
    private readonly model: CompactModel,
    private readonly options: CheckOptions,
  ) {
    this.dynamodb = options.typeMessages === 'dynamodb';
    const { endpointPrefix, apiVersion } = model.metadata;
    this.javaPackage = `com.amazonaws.${endpointPrefix}.v${apiVersion.replaceAll('-', '')}`;
  }

  fail(message: string | undefined): never {
    const error = new AwsError('SerializationException', message, 400, this.options.serializationNamespace);
    if (this.dynamodb) error.messageKey = 'Message';
    throw error;
  }

  /** The Java type DynamoDB's deserializer names for a shape. */
  javaType(shapeName: string): string {
    const shape = getShape(this.model, shapeName);
    switch (shape.type) {
      case 'structure':
        return `${this.javaPackage}.${shapeName}`;
      case 'list':
        return `java.util.List<${this.javaType(shape.member)}>`;
      case 'map':
        return `java.util.Map<java.lang.String, ${this.javaType(shape.value)}>`;
      default:
        return JAVA_TYPE[shape.type];
    }
  }

  /** Returns the (coerced) value, or undefined when it is absent (JSON null counts as absent). */
  check(shapeName: string, value: unknown, position: Position): unknown {
    if (value === null || value === undefined) return undefined;
    const shape = getShape(this.model, shapeName);
    switch (shape.type) {
      case 'structure':
        if (this.dynamodb && !isObject(value)) {
          if (Array.isArray(value)) this.fail(`Unrecognized collection type class ${this.javaType(shapeName)}`);
          this.fail(position === 'field' ? 'Unexpected field type' : 'Unexpected value type in payload');
        }
        if (Array.isArray(value)) this.fail(LIST_FOUND);
        if (!isObject(value)) this.fail('Expected null');
        return this.structure(shape, value);
      case 'list': {
        if (this.dynamodb && !Array.isArray(value)) {
          if (isObject(value)) this.fail(STRUCTURE_FOUND);
          this.fail(position === 'field' ? 'Unexpected field type' : NESTED_COLLECTION);
        }
        if (isObject(value)) this.fail(MAP_FOUND);
        if (!Array.isArray(value)) this.fail('Expected list or null');
        const out: unknown[] = [];
        for (const element of value) {
          const checked = this.check(shape.member, element, 'element');
          if (checked !== undefined) out.push(checked);
        }
        return out;
      }
      case 'map': {
        if (this.dynamodb && !isObject(value)) {
          if (Array.isArray(value)) this.fail(`Unrecognized collection type ${this.javaType(shapeName)}`);
          this.fail(position === 'field' ? 'Unexpected field type' : NESTED_COLLECTION);
        }
        if (Array.isArray(value)) this.fail(LIST_FOUND);
        if (!isObject(value)) this.fail('Expected map or null');
        const out: Record<string, unknown> = {};
        for (const [key, entry] of Object.entries(value)) {
          const checked = this.check(shape.value, entry, 'element');
          if (checked !== undefined) setOwnEntry(out, key, checked);
        }
        return out;
      }
      default:
        return this.scalar(shape.type, value);
    }
  }

  structure(shape: StructureShape, value: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const member of shape.members) {
      if (!Object.hasOwn(value, member.name)) continue;
      const checked = this.check(member.shape, value[member.name], 'field');
      if (checked !== undefined) out[member.name] = checked;
    }
    return out;
  }

  scalar(type: ScalarType, value: unknown): unknown {
    switch (type) {
      case 'string':
        if (typeof value === 'string') return value;
        break;
      case 'boolean':
        if (typeof value === 'boolean') return value;
        break;
      case 'integer':
      case 'long':
        if (typeof value === 'number') {
          // Coral truncates fractions (TruncatingBigNumber); an int saturates rather than wrapping.
          const whole = Math.trunc(value) + 0;
          return type === 'integer' ? Math.min(INT_MAX, Math.max(INT_MIN, whole)) : whole;
        }
        break;
      case 'float':
      case 'double':
      case 'timestamp':
        // Timestamps are epoch seconds in the JSON protocols.
        if (typeof value === 'number') return value;
        break;
      case 'blob':
        if (typeof value === 'string') return this.dynamodb ? this.dynamodbBase64(value) : this.base64(value);
        break;
    }
    if (this.dynamodb) this.dynamodbScalarMismatch(type, value);
    const kind = kindOf(value);
    if (kind === 'list') this.fail(LIST_FOUND);
    if (kind === 'object') this.fail(MAP_FOUND);
    this.fail(`${kind} can not be converted to ${CORAL_TARGET[type]}`);
  }

  dynamodbScalarMismatch(type: ScalarType, value: unknown): never {
    if (Array.isArray(value)) this.fail(`Unrecognized collection type class ${JAVA_TYPE[type]}`);
    if (isObject(value)) this.fail(STRUCTURE_FOUND);
    if (type === 'blob') this.fail('only base-64-encoded strings are convertible to bytes');
    if (type === 'boolean' && typeof value === 'string') this.fail('Unexpected token received from parser');
    const kind = typeof value === 'number' && !Number.isInteger(value) ? 'DECIMAL_VALUE' : (kindOf(value) as string);
    this.fail(`${kind} cannot be converted to ${DYNAMODB_TARGET[type]}`);
  }

  base64(value: string): string {
    const prefix = `'${value}' can not be converted to a Blob: `;
    if (value.length % 4 !== 0) {
      this.fail(`${prefix}Base64 encoded length is expected a multiple of 4 bytes but found: ${value.length}`);
    }
    const bad = /[^a-zA-Z0-9+/=]|=[^=]/.exec(value);
    if (bad) this.fail(`${prefix}Invalid Base64 character: '${bad[0].charAt(0)}'`);
    // Spelling as in the service's message.
    if (Buffer.from(value, 'base64').toString('base64') !== value) {
      this.fail(`${prefix}Invalid last non-pad Base64 character dectected`);
    }
    return value;
  }

  /**
   * DynamoDB's decoder names no value, and reports a misplaced pad as a bad last character.
   * (A character outside the alphabet is not in the record; it keeps the classic wording.)
   */
  dynamodbBase64(value: string): string {
    if (value.length % 4 !== 0) {
      this.fail(`Base64 encoded length is expected a multiple of 4 bytes but found: ${value.length}`);
    }
    const bad = /[^a-zA-Z0-9+/=]/.exec(value);
    if (bad) this.fail(`Invalid Base64 character: '${bad[0]}'`);
    // Spelling as in the service's message.
    if (Buffer.from(value, 'base64').toString('base64') !== value) {
      this.fail('Invalid last non-pad Base64 character dectected');
    }
    return value;
  }
}

/** Checkers hold no per-call state, so one per model and options object is reused. */
const typeCheckers = new WeakMap<CompactModel, WeakMap<CheckOptions, TypeChecker>>();

function typeChecker(model: CompactModel, options: CheckOptions): TypeChecker {
  let byOptions = typeCheckers.get(model);
  if (!byOptions) {
    byOptions = new WeakMap();
    typeCheckers.set(model, byOptions);
  }
  let checker = byOptions.get(options);
  if (!checker) {
    checker = new TypeChecker(model, options);
    byOptions.set(options, checker);
  }
  return checker;
}

/**
 * The type phase alone: throws SerializationException for a JSON value of the wrong kind or a bad
 * base64 blob. Returns a copy holding only modelled members, without nulls, integers truncated.
 */
export function checkTypes(
  model: CompactModel,
  operation: string,
  input: unknown,
  options: CheckOptions = NO_OPTIONS,
): Record<string, unknown> {
  const target = inputShape(model, operation);
  const checker: TypeChecker = typeChecker(model, options);
  if (input === null || input === undefined) return {};
  if (Array.isArray(input)) checker.fail(LIST_FOUND);
  // Coral answers a scalar body with a message-less SerializationException.
  if (!isObject(input)) checker.fail(undefined);
  return target ? checker.structure(target.shape, input) : {};
}

// ---------------------------------------------------------------------------------------------
// Constraint phase

const NOT_NULL = 'Member must not be null';

function codePointLength(text: string): number {
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    length++;
  }
  return length;
}

/**
 * String lengths count code points (Smithy's rule); blobs count decoded bytes. A string has
 * between half its UTF-16 length (rounded up) and all of it in code points, so a huge string is
 * only walked when those bounds straddle a limit.
 */
function lengthOf(shape: Shape, value: unknown, min: number | undefined, max: number | undefined): number | undefined {
  if (shape.type === 'string' && typeof value === 'string') {
    const units = value.length;
    if ((max === undefined || units <= max) && (min === undefined || (units + 1) >> 1 >= min)) return units;
    if (min !== undefined && units < min) return units;
    return codePointLength(value);
  }
  if (shape.type === 'blob' && typeof value === 'string') return Buffer.byteLength(value, 'base64');
  if (shape.type === 'list' && Array.isArray(value)) return value.length;
  if (shape.type === 'map' && isObject(value)) return Object.keys(value).length;
  return undefined;
}

const hasLength = (shape: Shape): boolean =>
  shape.type === 'string' || shape.type === 'blob' || shape.type === 'list' || shape.type === 'map';

const isNumeric = (shape: Shape): boolean =>
  shape.type === 'integer' || shape.type === 'long' || shape.type === 'float' || shape.type === 'double';

/** Every constraint a shape declares, worded and ordered as Coral lists them inside `[...]`. */
function describeConstraints(shape: Shape): string[] {
  const texts: string[] = [];
  const { min, max } = shape as { min?: number; max?: number };
  if (hasLength(shape)) {
    if (max !== undefined) texts.push(`Member must have length less than or equal to ${max}`);
    if (min !== undefined) texts.push(`Member must have length greater than or equal to ${min}`);
  } else if (isNumeric(shape)) {
    if (max !== undefined) texts.push(`Member must have value less than or equal to ${max}`);
    if (min !== undefined) texts.push(`Member must have value greater than or equal to ${min}`);
  }
  if (shape.type === 'string') {
    if (shape.pattern !== undefined) texts.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
    if (shape.enum) texts.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
  }
  return texts;
}

/** Shared answer for the common case, so that a clean value allocates nothing. */
const NO_VIOLATIONS: readonly string[] = Object.freeze([]);

/** The constraints a non-null value breaks, in the order Coral reports them one by one. */
function violations(model: CompactModel, shape: Shape, value: unknown): readonly string[] {
  let found: string[] | undefined;
  if (shape.type === 'string' && typeof value === 'string' && shape.pattern !== undefined) {
    const regex = model.patterns.get(shape.pattern);
    if (regex && !regex.test(value)) {
      found ??= [];
      found.push(`Member must satisfy regular expression pattern: ${shape.pattern}`);
    }
  }
  const { min, max } = shape as { min?: number; max?: number };
  if (min !== undefined || max !== undefined) {
    const length = lengthOf(shape, value, min, max);
    if (length !== undefined) {
      if (min !== undefined && length < min) {
        found ??= [];
        found.push(`Member must have length greater than or equal to ${min}`);
      }
      if (max !== undefined && length > max) {
        found ??= [];
        found.push(`Member must have length less than or equal to ${max}`);
      }
    }
    if (isNumeric(shape) && typeof value === 'number') {
      if (min !== undefined && value < min) {
        found ??= [];
        found.push(`Member must have value greater than or equal to ${min}`);
      }
      if (max !== undefined && value > max) {
        found ??= [];
        found.push(`Member must have value less than or equal to ${max}`);
      }
    }
  }
  if (shape.type === 'string' && shape.enum && typeof value === 'string' && !shape.enum.includes(value)) {
    found ??= [];
    found.push(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
  }
  return found ?? NO_VIOLATIONS;
}

/** Whether a shape by itself declares anything a value can break. */
function constrains(shape: Shape): boolean {
  switch (shape.type) {
    case 'structure':
      return shape.members.some((m) => m.required);
    case 'boolean':
    case 'timestamp':
      return false;
    case 'string':
      return shape.min !== undefined || shape.max !== undefined || shape.pattern !== undefined || !!shape.enum;
    default:
      return shape.min !== undefined || shape.max !== undefined;
  }
}

/**
 * Shapes below which no constraint is reachable (DynamoDB's S, N, B, sets of them, ...): the
 * constraint phase need not walk their values, which for a 15 MB item is most of the request.
 */
const freeShapes = new WeakMap<CompactModel, Map<string, boolean>>();

function constraintFree(model: CompactModel, shapeName: string): boolean {
  let byName = freeShapes.get(model);
  if (!byName) {
    byName = new Map();
    freeShapes.set(model, byName);
  }
  let free = byName.get(shapeName);
  if (free === undefined) {
    // Every reachable shape, cycles included (AttributeValue holds maps and lists of itself).
    free = true;
    const seen = new Set<string>([shapeName]);
    const pending = [shapeName];
    for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
      const shape = getShape(model, name);
      if (constrains(shape)) {
        free = false;
        break;
      }
      for (const child of referencedShapes(shape)) {
        if (!seen.has(child)) {
          seen.add(child);
          pending.push(child);
        }
      }
    }
    byName.set(shapeName, free);
  }
  return free;
}

/** Per structure, the members that can break a constraint: for an AttributeValue only M and L. */
const checkedMemberLists = new WeakMap<StructureShape, readonly MemberSpec[]>();

function checkedMembers(model: CompactModel, shape: StructureShape): readonly MemberSpec[] {
  let members = checkedMemberLists.get(shape);
  if (!members) {
    members = shape.members.filter((m) => m.required || !constraintFree(model, m.shape));
    checkedMemberLists.set(shape, members);
  }
  return members;
}

/** Member names as they appear in paths, lowered once per name rather than once per value. */
const pathNames = new Map<string, string>();

function pathName(name: string): string {
  let lowered = pathNames.get(name);
  if (lowered === undefined) {
    lowered = lowerFirst(name);
    pathNames.set(name, lowered);
  }
  return lowered;
}

const isAggregate = (shape: Shape): boolean =>
  shape.type === 'structure' || shape.type === 'list' || shape.type === 'map';

/** Java's `Double.toString`, near enough for messages. */
function javaDouble(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e7)) {
    const [mantissa = '0', exponent = '0'] = value.toExponential().split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}E${Number(exponent)}`;
  }
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `java.util.Date#toString` in UTC. */
function javaDate(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  if (Number.isNaN(d.getTime())) return String(epochSeconds);
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${time} UTC ${d.getUTCFullYear()}`;
}

/** Stands in for Java's identity hash code: stable for equal values, which is all a message needs. */
function identityHash(value: unknown): string {
  let hash = 0x811c9dc5;
  const text = JSON.stringify(value) ?? '';
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16);
}

class ConstraintChecker {
  readonly errors: string[] = [];
  /** Where the value being checked sits, one segment each: joined into a path only for a report. */
  private readonly path: Array<string | number> = [];
  private readonly javaPackage: string;

  constructor(private readonly model: CompactModel) {
    const { endpointPrefix, apiVersion } = model.metadata;
    this.javaPackage = `com.amazonaws.${endpointPrefix}.v${apiVersion.replaceAll('-', '')}`;
  }

  get full(): boolean {
    return this.errors.length >= MAX_VALIDATION_ERRORS;
  }

  report(shape: Shape, shapeName: string, value: unknown, constraint: string): void {
    if (this.full) return;
    let rendered = ' null';
    if (value !== null && value !== undefined) rendered = shape.sensitive ? '' : ` '${this.render(shapeName, value)}'`;
    this.errors.push(`Value${rendered} at '${this.path.join('.')}' failed to satisfy constraint: ${constraint}`);
  }

  /** Java `toString` of the value Coral holds: lists and maps print their elements, structures their identity. */
  render(shapeName: string, value: unknown): string {
    const shape = getShape(this.model, shapeName);
    switch (shape.type) {
      case 'string':
      case 'integer':
      case 'long':
      case 'boolean':
        return String(value);
      case 'float':
      case 'double':
        return typeof value === 'number' ? javaDouble(value) : String(value);
      case 'timestamp':
        return typeof value === 'number' ? javaDate(value) : String(value);
      case 'blob': {
        const bytes = typeof value === 'string' ? Buffer.byteLength(value, 'base64') : 0;
        return `java.nio.HeapByteBuffer[pos=0 lim=${bytes} cap=${bytes}]`;
      }
      case 'list':
        return Array.isArray(value) ? `[${value.map((v) => this.render(shape.member, v)).join(', ')}]` : String(value);
      case 'map':
        return isObject(value)
          ? `{${Object.entries(value)
              .map(([k, v]) => `${k}=${this.render(shape.value, v)}`)
              .join(', ')}}`
          : String(value);
      case 'structure':
        return `${this.javaPackage}.${shapeName}@${identityHash(value)}`;
    }
  }

  structure(shape: StructureShape, value: Record<string, unknown>): void {
    for (const member of checkedMembers(this.model, shape)) {
      if (this.full) return;
      const memberValue = Object.hasOwn(value, member.name) ? value[member.name] : undefined;
      // Most members are absent and optional: nothing to check.
      if ((memberValue === null || memberValue === undefined) && !member.required) continue;
      this.path.push(pathName(member.name));
      this.value(member.shape, memberValue, member.required);
      this.path.pop();
    }
  }

  value(shapeName: string, value: unknown, required: boolean | undefined): void {
    const shape = getShape(this.model, shapeName);
    if (value === null || value === undefined) {
      if (required) this.report(shape, shapeName, value, NOT_NULL);
      return;
    }
    if (constraintFree(this.model, shapeName)) return;
    for (const text of violations(this.model, shape, value)) this.report(shape, shapeName, value, text);
    if (shape.type === 'structure') {
      if (isObject(value)) this.structure(shape, value);
    } else if (shape.type === 'list') {
      if (Array.isArray(value)) this.elements(shape.member, value, shapeName);
    } else if (shape.type === 'map') {
      if (isObject(value)) this.entries(shape.key, shape.value, value, shapeName);
    }
  }

  /** Simple elements are judged together: one error at the list's path naming all their constraints. */
  elements(memberName: string, list: readonly unknown[], listName: string): void {
    const member = getShape(this.model, memberName);
    if (!isAggregate(member)) {
      if (list.some((v) => violations(this.model, member, v).length > 0)) {
        const texts = describeConstraints(member).join(', ');
        this.report(getShape(this.model, listName), listName, list, `Member must satisfy constraint: [${texts}]`);
      }
      return;
    }
    for (let i = 0; i < list.length; i++) {
      this.path.push(i + 1, 'member');
      this.value(memberName, list[i], false);
      this.path.pop();
      this.path.pop();
    }
  }

  entries(keyName: string, valueName: string, map: Record<string, unknown>, mapName: string): void {
    const mapShape = getShape(this.model, mapName);
    const keyShape = getShape(this.model, keyName);
    const keys = Object.keys(map);
    if (keys.some((k) => violations(this.model, keyShape, k).length > 0)) {
      const texts = describeConstraints(keyShape).join(', ');
      this.report(mapShape, mapName, map, `Map keys must satisfy constraint: [${texts}]`);
    }
    const valueShape = getShape(this.model, valueName);
    if (!isAggregate(valueShape)) {
      if (keys.some((k) => violations(this.model, valueShape, map[k]).length > 0)) {
        const texts = describeConstraints(valueShape).join(', ');
        this.report(mapShape, mapName, map, `Map value must satisfy constraint: [${texts}]`);
      }
      return;
    }
    for (const key of keys) {
      this.path.push(key, 'member');
      this.value(valueName, map[key], false);
      this.path.pop();
      this.path.pop();
    }
  }
}

/** Formats collected violations the way Coral does. */
export function validationMessage(errors: readonly string[]): string {
  const plural = errors.length === 1 ? '' : 's';
  return `${errors.length} validation error${plural} detected: ${errors.join('; ')}`;
}

/**
 * The constraint phase alone, on a type-checked input: throws one ValidationException listing
 * up to ten violations in model member order, depth first.
 */
export function checkConstraints(
  model: CompactModel,
  operation: string,
  input: Record<string, unknown>,
  options: CheckOptions = NO_OPTIONS,
): void {
  const target = inputShape(model, operation);
  if (!target) return;
  const checker = new ConstraintChecker(model);
  checker.structure(target.shape, input);
  if (checker.errors.length > 0) {
    throw new AwsError('ValidationException', validationMessage(checker.errors), 400, options.validationNamespace);
  }
}
