/**
 * What DynamoDB checks once a condition has parsed, in the order it reports problems:
 *
 *   1. redundant parentheses
 *   2. unknown function names
 *   3. functions used where they cannot be (`begins_with` as an operand, `size` as a condition)
 *   4. reserved words used as attribute names
 *   5. then, condition by condition in document order, the first of: an undefined
 *      placeholder, a wrong number of function operands, identical first and second operands,
 *      a wrong operand type.
 *
 * Checking also resolves placeholders, which marks them used for `assertAllUsed`.
 */
import type { AttributeValue } from '../attribute-value.js';
import type { Condition, FunctionCall, Operand, ParsedCondition, PathOperand } from './ast.js';
import type { ExpressionAttributes } from './attributes.js';
import { ExpressionError } from './errors.js';
import { isReservedWord } from './reserved-words.js';
import { type AttributeType, compareScalars, describeValue, typeOf } from './values.js';

interface FunctionSpec {
  readonly arity: number;
  /** Condition functions stand alone; operand functions (size) produce a value to compare. */
  readonly role: 'condition' | 'operand';
}

const FUNCTIONS: Readonly<Record<string, FunctionSpec>> = {
  attribute_exists: { arity: 1, role: 'condition' },
  attribute_not_exists: { arity: 1, role: 'condition' },
  attribute_type: { arity: 2, role: 'condition' },
  begins_with: { arity: 2, role: 'condition' },
  contains: { arity: 2, role: 'condition' },
  size: { arity: 1, role: 'operand' },
};

const spec = (name: string): FunctionSpec | undefined => (Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : undefined);

const ATTRIBUTE_TYPE_NAMES: ReadonlySet<string> = new Set(['S', 'N', 'B', 'NULL', 'SS', 'BOOL', 'L', 'BS', 'NS', 'M']);

/** A resolved document path: attribute names and list indexes. */
export type ResolvedPath = readonly (string | number)[];

/** Throws ExpressionError with the first problem DynamoDB would report for this condition. */
export function checkCondition(parsed: ParsedCondition, attributes: ExpressionAttributes): void {
  if (parsed.redundantParentheses) throw new ExpressionError('The expression has redundant parentheses;');
  const shape = new ShapeScan();
  shape.condition(parsed.condition);
  const first = shape.unknownFunction ?? shape.misusedFunction ?? shape.reservedWord;
  if (first) throw new ExpressionError(first);
  for (const leaf of leaves(parsed.condition)) {
    const problem = new LeafCheck(attributes).run(leaf);
    if (problem) throw new ExpressionError(problem);
  }
}

/** The resolved form of a path whose placeholders `checkCondition` has already verified. */
export function resolvePath(path: PathOperand, attributes: ExpressionAttributes): ResolvedPath {
  return path.elements.map((element) => {
    if (element.kind === 'index') return element.index;
    if (element.kind === 'attribute') return element.text;
    const name = attributes.name(element.text);
    if (name === undefined) throw new Error(`unchecked placeholder ${element.text}`);
    return name;
  });
}

/** The value behind a value operand that `checkCondition` has already verified. */
export function resolveValue(operand: Operand & { kind: 'value' }, attributes: ExpressionAttributes): AttributeValue {
  const value = attributes.value(operand.placeholder);
  if (value === undefined) throw new Error(`unchecked placeholder ${operand.placeholder}`);
  return value;
}

/** `[a, b, [2]]`, the way DynamoDB prints a path in messages. */
export const renderPath = (path: ResolvedPath): string =>
  `[${path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join(', ')}]`;

/** The conditions that compare or test something, in document order. */
function* leaves(condition: Condition): Generator<Exclude<Condition, { kind: 'and' | 'or' | 'not' }>> {
  switch (condition.kind) {
    case 'and':
    case 'or':
      yield* leaves(condition.left);
      yield* leaves(condition.right);
      return;
    case 'not':
      yield* leaves(condition.operand);
      return;
    default:
      yield condition;
  }
}

/** Steps 2-4: facts about the whole expression, each the first in document order. */
class ShapeScan {
  unknownFunction: string | undefined;
  misusedFunction: string | undefined;
  reservedWord: string | undefined;

  condition(condition: Condition): void {
    switch (condition.kind) {
      case 'and':
      case 'or':
        this.condition(condition.left);
        this.condition(condition.right);
        return;
      case 'not':
        this.condition(condition.operand);
        return;
      case 'compare':
        this.operands([condition.left, condition.right]);
        return;
      case 'between':
        this.operands([condition.subject, condition.lower, condition.upper]);
        return;
      case 'in':
        this.operands([condition.subject, ...condition.candidates]);
        return;
      case 'function':
        this.call(condition.call, 'condition');
        return;
    }
  }

  operands(operands: readonly Operand[]): void {
    for (const operand of operands) {
      if (operand.kind === 'call') this.call(operand, 'operand');
      else if (operand.kind === 'path') this.path(operand);
    }
  }

  call(call: FunctionCall, position: 'condition' | 'operand'): void {
    const known = spec(call.name);
    if (!known) this.unknownFunction ??= `Invalid function name; function: ${call.name}`;
    else if (known.role !== position) {
      this.misusedFunction ??= `The function is not allowed to be used this way in an expression; function: ${call.name}`;
    }
    this.operands(call.args);
  }

  path(path: PathOperand): void {
    for (const element of path.elements) {
      if (element.kind === 'attribute' && isReservedWord(element.text)) {
        this.reservedWord ??= `Attribute name is a reserved keyword; reserved keyword: ${element.text}`;
      }
    }
  }
}

/** Step 5 for one condition: resolves its placeholders and finds its first problem. */
class LeafCheck {
  #undefined: string | undefined;
  #operandCount: string | undefined;
  #distinct: string | undefined;
  #type: string | undefined;

  constructor(private readonly attributes: ExpressionAttributes) {}

  run(leaf: Exclude<Condition, { kind: 'and' | 'or' | 'not' }>): string | undefined {
    switch (leaf.kind) {
      case 'compare': {
        const [left, right] = [this.operand(leaf.left), this.operand(leaf.right)];
        this.distinct(leaf.comparator, left, right);
        if (leaf.comparator !== '=' && leaf.comparator !== '<>') this.ordered(leaf.comparator, [left, right]);
        break;
      }
      case 'between': {
        const subject = this.operand(leaf.subject);
        const lower = this.operand(leaf.lower);
        const upper = this.operand(leaf.upper);
        this.ordered('BETWEEN', [subject, lower, upper]);
        if (lower.value && upper.value) this.between(lower.value, upper.value);
        break;
      }
      case 'in':
        for (const operand of [leaf.subject, ...leaf.candidates]) this.operand(operand);
        break;
      case 'function':
        this.operand(leaf.call);
        break;
    }
    return this.#undefined ?? this.#operandCount ?? this.#distinct ?? this.#type;
  }

  /** Resolves an operand and returns what its checks need to know about it. */
  operand(operand: Operand): OperandInfo {
    switch (operand.kind) {
      case 'value': {
        const value = this.attributes.value(operand.placeholder);
        if (value === undefined) {
          this.#undefined ??= `An expression attribute value used in expression is not defined; attribute value: ${operand.placeholder}`;
          return {};
        }
        return { value, type: typeOf(value) };
      }
      case 'path': {
        const names: (string | number)[] = [];
        for (const element of operand.elements) {
          if (element.kind === 'placeholder') {
            const name = this.attributes.name(element.text);
            if (name === undefined) {
              this.#undefined ??= `An expression attribute name used in the document path is not defined; attribute name: ${element.text}`;
              return {};
            }
            names.push(name);
          } else {
            names.push(element.kind === 'index' ? element.index : element.text);
          }
        }
        return { path: names };
      }
      case 'call':
        return this.call(operand);
    }
  }

  call(call: FunctionCall): OperandInfo {
    const args = call.args.map((arg) => this.operand(arg));
    const known = spec(call.name);
    if (!known) return {};
    if (args.length !== known.arity) {
      this.#operandCount ??= `Incorrect number of operands for operator or function; operator or function: ${call.name}, number of operands: ${args.length}`;
      return {};
    }
    const [first, second] = args as [OperandInfo, OperandInfo | undefined];
    if (second) this.distinct(call.name, first, second);
    const wrongType = (type: string) =>
      `Incorrect operand type for operator or function; operator or function: ${call.name}, operand type: ${type}`;
    switch (call.name) {
      case 'attribute_exists':
      case 'attribute_not_exists':
        if (!first.path)
          this.#type ??= `Operator or function requires a document path; operator or function: ${call.name}`;
        break;
      case 'begins_with': {
        const bad = args.find((arg) => arg.type !== undefined && arg.type !== 'S' && arg.type !== 'B');
        if (bad?.type) this.#type ??= wrongType(bad.type);
        break;
      }
      case 'attribute_type':
        if (second?.type !== 'S') this.#type ??= wrongType(second?.type ?? '{NS,SS,L,BS,N,M,B,BOOL,NULL,S}');
        else if (!ATTRIBUTE_TYPE_NAMES.has(second.value?.S ?? '')) {
          this.#type ??= `Invalid attribute type name found; type: ${second.value?.S}, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}`;
        }
        break;
      case 'size':
        if (first.type === 'N' || first.type === 'BOOL' || first.type === 'NULL') this.#type ??= wrongType(first.type);
        return { type: 'N' };
    }
    return { type: 'BOOL' };
  }

  /**
   * Only strings, numbers and binaries have an order: a constant of another type makes the
   * expression invalid instead of the condition false (DynamoDB's message, e.g. as quoted in
   * dynamodb-conformance's PartiQL tests: `operator or function: <, operand type: BOOL`).
   */
  ordered(operator: string, operands: readonly OperandInfo[]): void {
    for (const { value } of operands) {
      if (value === undefined) continue;
      const type = typeOf(value);
      if (type !== 'S' && type !== 'N' && type !== 'B') {
        this.#type ??= `Incorrect operand type for operator or function; operator or function: ${operator}, operand type: ${type}`;
      }
    }
  }

  distinct(operator: string, first: OperandInfo, second: OperandInfo): void {
    if (!first.path || !second.path || first.path.length !== second.path.length) return;
    if (first.path.every((piece, i) => piece === second.path?.[i])) {
      this.#distinct ??= `The first operand must be distinct from the remaining operands for this operator or function; operator: ${operator}, first operand: ${renderPath(first.path)}`;
    }
  }

  between(lower: AttributeValue, upper: AttributeValue): void {
    const bounds = `lower bound operand: ${describeValue(lower)}, upper bound operand: ${describeValue(upper)}`;
    if (typeOf(lower) !== typeOf(upper)) {
      this.#type ??= `The BETWEEN operator requires same data type for lower and upper bounds; ${bounds}`;
    } else if ((compareScalars(lower, upper) ?? 0) > 0) {
      this.#type ??= `The BETWEEN operator requires upper bound to be greater than or equal to lower bound; ${bounds}`;
    }
  }
}

interface OperandInfo {
  readonly path?: ResolvedPath;
  readonly value?: AttributeValue;
  /** Known type of what the operand evaluates to (values, and function results). */
  readonly type?: AttributeType | 'BOOL';
}
