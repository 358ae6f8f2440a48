/**
 * UpdateExpression: parsing, DynamoDB's checks in its order, and resolution into actions
 * over document paths. Applying the actions to an item is `../update.ts`.
 *
 * Check order (the first problem of the first kind wins):
 *   reserved words, unknown functions, a section written twice, undefined names, undefined
 *   values, overlapping paths, conflicting paths, ADD/DELETE operand types, `+`/`-` operand
 *   types, then function operand counts, document-path operands and types.
 */
import type { AttributeValue } from '../attribute-value.js';
import type { DocumentPath } from '../document.js';
import type { Operand, PathOperand, UpdateAction, UpdateValue } from './ast.js';
import type { ExpressionAttributes } from './attributes.js';
import { renderPath } from './check.js';
import { checkExpressionText, ExpressionError, expressionError } from './errors.js';
import { Parser } from './parser.js';
import { isReservedWord } from './reserved-words.js';
import { typeOf } from './values.js';

export type ResolvedUpdateValue =
  | { readonly kind: 'path'; readonly path: DocumentPath }
  | { readonly kind: 'value'; readonly value: AttributeValue }
  | { readonly kind: 'if_not_exists'; readonly path: DocumentPath; readonly fallback: ResolvedUpdateValue }
  | { readonly kind: 'list_append'; readonly left: ResolvedUpdateValue; readonly right: ResolvedUpdateValue }
  | { readonly kind: '+' | '-'; readonly left: ResolvedUpdateValue; readonly right: ResolvedUpdateValue };

export type ResolvedUpdateAction =
  | { readonly action: 'SET'; readonly path: DocumentPath; readonly value: ResolvedUpdateValue }
  | { readonly action: 'REMOVE'; readonly path: DocumentPath }
  | { readonly action: 'ADD' | 'DELETE'; readonly path: DocumentPath; readonly value: AttributeValue };

const KIND = 'UpdateExpression';

const UPDATE_FUNCTIONS: Readonly<Record<string, number>> = { if_not_exists: 2, list_append: 2 };

/** DynamoDB's words for types in ADD/DELETE operand errors. */
const TYPE_WORDS: Readonly<Record<string, string>> = {
  S: 'STRING',
  N: 'NUMBER',
  B: 'BINARY',
  BOOL: 'BOOLEAN',
  NULL: 'NULL',
  M: 'MAP',
  L: 'LIST',
  SS: 'SET',
  NS: 'SET',
  BS: 'SET',
};

/** Parses and checks an UpdateExpression, resolving (and so marking used) its placeholders. */
export function parseUpdateExpression(text: string, attributes: ExpressionAttributes): ResolvedUpdateAction[] {
  checkExpressionText(KIND, text);
  try {
    const parsed = new Parser(text).parseUpdate();
    const checker = new UpdateCheck(attributes);
    const problem = checker.run(parsed.actions, parsed.duplicateSection);
    if (problem) throw new ExpressionError(problem);
    return checker.resolved;
  } catch (error) {
    if (error instanceof ExpressionError) throw expressionError(KIND, error.detail);
    throw error;
  }
}

class UpdateCheck {
  readonly resolved: ResolvedUpdateAction[] = [];
  #reserved: string | undefined;
  #function: string | undefined;
  #name: string | undefined;
  #undefinedValue: string | undefined;
  #late: string | undefined;

  constructor(private readonly attributes: ExpressionAttributes) {}

  run(actions: readonly UpdateAction[], duplicateSection: string | undefined): string | undefined {
    for (const action of actions) this.#scan(action);
    if (this.#reserved) return this.#reserved;
    if (this.#function) return this.#function;
    if (duplicateSection) return `The "${duplicateSection}" section can only be used once in an update expression;`;

    const targets: DocumentPath[] = [];
    for (const action of actions) {
      const path = this.#path(action.path);
      const value = action.section === 'SET' ? this.#value(action.value) : undefined;
      const operand =
        action.section === 'ADD' || action.section === 'DELETE' ? this.#constant(action.value) : undefined;
      if (path) targets.push(path);
      if (!path || this.#name || this.#undefinedValue) continue;
      if (action.section === 'SET' && value) this.resolved.push({ action: 'SET', path, value });
      else if (action.section === 'REMOVE') this.resolved.push({ action: 'REMOVE', path });
      else if ((action.section === 'ADD' || action.section === 'DELETE') && operand) {
        this.resolved.push({ action: action.section, path, value: operand });
      }
    }
    if (this.#name) return this.#name;
    if (this.#undefinedValue) return this.#undefinedValue;
    return checkPaths(targets) ?? this.#operandTypes(actions) ?? this.#late;
  }

  /** Reserved words and unknown functions, each the first in document order. */
  #scan(action: UpdateAction): void {
    this.#reservedIn(action.path);
    if (action.section === 'SET') this.#scanValue(action.value);
  }

  #scanValue(value: UpdateValue): void {
    if (value.kind === 'arithmetic') {
      this.#scanValue(value.left);
      this.#scanValue(value.right);
    } else if (value.kind === 'path') {
      this.#reservedIn(value);
    } else if (value.kind === 'call') {
      if (!Object.hasOwn(UPDATE_FUNCTIONS, value.name))
        this.#function ??= `Invalid function name; function: ${value.name}`;
      for (const arg of value.args) this.#scanValue(arg);
    }
  }

  #reservedIn(path: PathOperand): void {
    for (const element of path.elements) {
      if (element.kind === 'attribute' && isReservedWord(element.text)) {
        this.#reserved ??= `Attribute name is a reserved keyword; reserved keyword: ${element.text}`;
      }
    }
  }

  #path(path: PathOperand): DocumentPath | undefined {
    const out: (string | number)[] = [];
    for (const element of path.elements) {
      if (element.kind === 'index') out.push(element.index);
      else if (element.kind === 'attribute') out.push(element.text);
      else {
        const name = this.attributes.name(element.text);
        if (name === undefined) {
          this.#name ??= `An expression attribute name used in the document path is not defined; attribute name: ${element.text}`;
          return undefined;
        }
        out.push(name);
      }
    }
    return out;
  }

  #constant(operand: Operand & { kind: 'value' }): AttributeValue | undefined {
    const value = this.attributes.value(operand.placeholder);
    if (value === undefined) {
      this.#undefinedValue ??= `An expression attribute value used in expression is not defined; attribute value: ${operand.placeholder}`;
    }
    return value;
  }

  /** Resolves a SET value; problems found only after the path checks are kept in #late. */
  #value(value: UpdateValue): ResolvedUpdateValue | undefined {
    switch (value.kind) {
      case 'path': {
        const path = this.#path(value);
        return path && { kind: 'path', path };
      }
      case 'value': {
        const constant = this.#constant(value);
        return constant && { kind: 'value', value: constant };
      }
      case 'arithmetic': {
        const left = this.#value(value.left);
        const right = this.#value(value.right);
        return left && right && { kind: value.operator, left, right };
      }
      case 'call': {
        const args = value.args.map((arg) => this.#value(arg));
        const arity = UPDATE_FUNCTIONS[value.name] ?? 0;
        if (args.length !== arity) {
          this.#late ??= `Incorrect number of operands for operator or function; operator or function: ${value.name}, number of operands: ${args.length}`;
          return undefined;
        }
        const [first, second] = args;
        if (!first || !second) return undefined;
        if (value.name === 'if_not_exists') {
          if (first.kind !== 'path') {
            this.#late ??= `Operator or function requires a document path; operator or function: ${value.name}`;
            return undefined;
          }
          return { kind: 'if_not_exists', path: first.path, fallback: second };
        }
        for (const arg of [first, second]) {
          if (arg.kind === 'value' && arg.value.L === undefined) {
            this.#late ??= `Incorrect operand type for operator or function; operator or function: list_append, operand type: ${typeOf(arg.value)}`;
          }
        }
        return { kind: 'list_append', left: first, right: second };
      }
    }
  }

  /** ADD/DELETE operand types for the whole expression, then `+`/`-` operand types. */
  #operandTypes(actions: readonly UpdateAction[]): string | undefined {
    for (const action of this.resolved) {
      if (action.action !== 'ADD' && action.action !== 'DELETE') continue;
      const type = typeOf(action.value);
      const allowed = action.action === 'ADD' ? ['N', 'SS', 'NS', 'BS'] : ['SS', 'NS', 'BS'];
      if (!allowed.includes(type)) {
        return `Incorrect operand type for operator or function; operator: ${action.action}, operand type: ${TYPE_WORDS[type]}`;
      }
    }
    for (const action of actions) {
      if (action.section !== 'SET') continue;
      const problem = arithmeticProblem(action.value, this.attributes);
      if (problem) return problem;
    }
    return undefined;
  }
}

function arithmeticProblem(value: UpdateValue, attributes: ExpressionAttributes): string | undefined {
  if (value.kind === 'call') {
    for (const arg of value.args) {
      const problem = arithmeticProblem(arg, attributes);
      if (problem) return problem;
    }
    return undefined;
  }
  if (value.kind !== 'arithmetic') return undefined;
  for (const side of [value.left, value.right]) {
    const problem = arithmeticProblem(side, attributes);
    if (problem) return problem;
    const constant = side.kind === 'value' ? attributes.value(side.placeholder) : undefined;
    if (constant && constant.N === undefined) {
      return `Incorrect operand type for operator or function; operator or function: ${value.operator}, operand type: ${typeOf(constant)}`;
    }
  }
  return undefined;
}

/**
 * Two target paths overlap when one is a prefix of (or equal to) the other, and conflict when
 * they agree up to a step where one has a name and the other an index. Overlaps are reported
 * ahead of conflicts; each names the earlier path first.
 */
export function checkPaths(paths: readonly DocumentPath[]): string | undefined {
  let overlap: string | undefined;
  let conflict: string | undefined;
  for (let j = 1; j < paths.length; j++) {
    for (let i = 0; i < j; i++) {
      const [one, two] = [paths[i] as DocumentPath, paths[j] as DocumentPath];
      const pair = `must remove or rewrite one of these paths; path one: ${renderPath(one)}, path two: ${renderPath(two)}`;
      const relation = relate(one, two);
      if (relation === 'overlap') overlap ??= `Two document paths overlap with each other; ${pair}`;
      if (relation === 'conflict') conflict ??= `Two document paths conflict with each other; ${pair}`;
    }
  }
  return overlap ?? conflict;
}

function relate(a: DocumentPath, b: DocumentPath): 'overlap' | 'conflict' | undefined {
  for (let i = 0; i < a.length && i < b.length; i++) {
    if (typeof a[i] !== typeof b[i]) return 'conflict';
    if (a[i] !== b[i]) return undefined;
  }
  return 'overlap';
}
