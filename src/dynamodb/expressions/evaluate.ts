/**
 * Evaluating condition and filter expressions against an item. Trees are first resolved
 * (placeholders replaced by names and values, once per request), then evaluated per item.
 * Semantics follow DynamoDB: a comparison with a missing attribute or across types is false,
 * `<>` is the negation of `=`, functions on the wrong types are false.
 */
import { Buffer } from 'node:buffer';
import type { AttributeValue, Item } from '../attribute-value.js';
import { type DocumentPath, setHas, valueAt, valuesEqual } from '../document.js';
import type { Comparator, Condition, Operand } from './ast.js';
import type { ExpressionAttributes } from './attributes.js';
import { resolvePath, resolveValue } from './check.js';
import { compareScalars, typeOf } from './values.js';

export type ResolvedOperand =
  | { readonly kind: 'path'; readonly path: DocumentPath }
  | { readonly kind: 'value'; readonly value: AttributeValue }
  | { readonly kind: 'size'; readonly operand: ResolvedOperand };

export type ResolvedCondition =
  | {
      readonly kind: 'compare';
      readonly comparator: Comparator;
      readonly left: ResolvedOperand;
      readonly right: ResolvedOperand;
    }
  | {
      readonly kind: 'between';
      readonly subject: ResolvedOperand;
      readonly lower: ResolvedOperand;
      readonly upper: ResolvedOperand;
    }
  | { readonly kind: 'in'; readonly subject: ResolvedOperand; readonly candidates: readonly ResolvedOperand[] }
  | { readonly kind: 'function'; readonly name: string; readonly args: readonly ResolvedOperand[] }
  | { readonly kind: 'and' | 'or'; readonly left: ResolvedCondition; readonly right: ResolvedCondition }
  | { readonly kind: 'not'; readonly operand: ResolvedCondition }
  | { readonly kind: 'constant'; readonly value: boolean };

/** Resolves a condition that `checkCondition` has accepted. */
export function resolveCondition(condition: Condition, attributes: ExpressionAttributes): ResolvedCondition {
  const operand = (o: Operand): ResolvedOperand => resolveOperand(o, attributes);
  switch (condition.kind) {
    case 'and':
    case 'or':
      return {
        kind: condition.kind,
        left: resolveCondition(condition.left, attributes),
        right: resolveCondition(condition.right, attributes),
      };
    case 'not':
      return { kind: 'not', operand: resolveCondition(condition.operand, attributes) };
    case 'compare':
      return {
        kind: 'compare',
        comparator: condition.comparator,
        left: operand(condition.left),
        right: operand(condition.right),
      };
    case 'between':
      return {
        kind: 'between',
        subject: operand(condition.subject),
        lower: operand(condition.lower),
        upper: operand(condition.upper),
      };
    case 'in':
      return { kind: 'in', subject: operand(condition.subject), candidates: condition.candidates.map(operand) };
    case 'function':
      return { kind: 'function', name: condition.call.name, args: condition.call.args.map(operand) };
  }
}

function resolveOperand(operand: Operand, attributes: ExpressionAttributes): ResolvedOperand {
  switch (operand.kind) {
    case 'path':
      return { kind: 'path', path: resolvePath(operand, attributes) };
    case 'value':
      return { kind: 'value', value: resolveValue(operand, attributes) };
    case 'call':
      // check.ts only lets `size` through as an operand.
      return { kind: 'size', operand: resolveOperand(operand.args[0] as Operand, attributes) };
  }
}

/** Whether the condition holds for the item (undefined: the item does not exist). */
export function evaluateCondition(condition: ResolvedCondition, item: Item | undefined): boolean {
  const doc = item ?? {};
  const value = (o: ResolvedOperand) => operandValue(o, doc);
  switch (condition.kind) {
    case 'constant':
      return condition.value;
    case 'and':
      return evaluateCondition(condition.left, item) && evaluateCondition(condition.right, item);
    case 'or':
      return evaluateCondition(condition.left, item) || evaluateCondition(condition.right, item);
    case 'not':
      return !evaluateCondition(condition.operand, item);
    case 'compare':
      return compare(condition.comparator, value(condition.left), value(condition.right));
    case 'between': {
      const subject = value(condition.subject);
      const lower = value(condition.lower);
      const upper = value(condition.upper);
      if (!subject || !lower || !upper) return false;
      const low = compareScalars(subject, lower);
      const high = compareScalars(subject, upper);
      return low !== undefined && high !== undefined && low >= 0 && high <= 0;
    }
    case 'in': {
      const subject = value(condition.subject);
      return (
        subject !== undefined &&
        condition.candidates.some((c) => {
          const candidate = value(c);
          return candidate !== undefined && valuesEqual(subject, candidate);
        })
      );
    }
    case 'function':
      return callFunction(condition.name, condition.args.map(value), condition.args[0], doc);
  }
}

export function operandValue(operand: ResolvedOperand, item: Item): AttributeValue | undefined {
  switch (operand.kind) {
    case 'path':
      return valueAt(item, operand.path);
    case 'value':
      return operand.value;
    case 'size': {
      const inner = operandValue(operand.operand, item);
      const size = inner === undefined ? undefined : sizeOf(inner);
      return size === undefined ? undefined : { N: String(size) };
    }
  }
}

/**
 * DynamoDB's size(): a string's length in UTF-16 code units (as recorded against DynamoDB in
 * ExtendDB issue #60: size("é𝄞") is 3), a binary's in bytes, element counts of sets, lists and maps.
 */
export function sizeOf(value: AttributeValue): number | undefined {
  if (value.S !== undefined) return value.S.length;
  if (value.B !== undefined) return Buffer.byteLength(value.B, 'base64');
  const members = value.SS ?? value.NS ?? value.BS ?? value.L;
  if (members) return members.length;
  if (value.M) return Object.keys(value.M).length;
  return undefined;
}

export function compare(comparator: Comparator, a: AttributeValue | undefined, b: AttributeValue | undefined): boolean {
  if (comparator === '=') return a !== undefined && b !== undefined && valuesEqual(a, b);
  if (comparator === '<>') return !(a !== undefined && b !== undefined && valuesEqual(a, b));
  if (a === undefined || b === undefined) return false;
  const order = compareScalars(a, b);
  if (order === undefined) return false;
  switch (comparator) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

function callFunction(
  name: string,
  args: readonly (AttributeValue | undefined)[],
  first: ResolvedOperand | undefined,
  item: Item,
): boolean {
  const [a, b] = args;
  switch (name) {
    case 'attribute_exists':
      return first !== undefined && operandValue(first, item) !== undefined;
    case 'attribute_not_exists':
      return first !== undefined && operandValue(first, item) === undefined;
    case 'attribute_type':
      return a !== undefined && b?.S !== undefined && typeOf(a) === b.S;
    case 'begins_with':
      return a !== undefined && b !== undefined && beginsWith(a, b);
    case 'contains':
      return a !== undefined && b !== undefined && contains(a, b);
    default:
      return false;
  }
}

export function beginsWith(subject: AttributeValue, prefix: AttributeValue): boolean {
  if (subject.S !== undefined && prefix.S !== undefined) return subject.S.startsWith(prefix.S);
  if (subject.B !== undefined && prefix.B !== undefined) {
    const bytes = Buffer.from(subject.B, 'base64');
    const start = Buffer.from(prefix.B, 'base64');
    return bytes.subarray(0, start.length).equals(start);
  }
  return false;
}

/** contains(): substring of a string, byte sequence of a binary, member of a set, element of a list. */
export function contains(subject: AttributeValue, operand: AttributeValue): boolean {
  if (subject.S !== undefined) return operand.S !== undefined && subject.S.includes(operand.S);
  if (subject.B !== undefined) {
    return operand.B !== undefined && Buffer.from(subject.B, 'base64').includes(Buffer.from(operand.B, 'base64'));
  }
  if (subject.SS || subject.NS || subject.BS) return setHas(subject, operand);
  if (subject.L) return subject.L.some((element) => valuesEqual(element, operand));
  return false;
}
