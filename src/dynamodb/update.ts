/**
 * Applying an UpdateExpression's actions to an item. As in DynamoDB, every action is addressed
 * by the item as it was before the update: SET values are computed from it, each target path
 * is resolved in it (so list indexes are the old list's, whatever else the update removes or
 * appends), and then all the changes are made at once.
 */
import type { AttributeValue, Item } from './attribute-value.js';
import { addNumbers, subtractNumbers } from './decimal.js';
import { type DocumentEdit, InvalidPathError, setHas, targetAt, valueAt, withEdits } from './document.js';
import { validationError } from './errors.js';
import type { ResolvedUpdateAction, ResolvedUpdateValue } from './expressions/update.js';

export const missingOperand = () =>
  validationError('The provided expression refers to an attribute that does not exist in the item');
export const wrongOperandType = () => validationError('An operand in the update expression has an incorrect data type');
export const invalidUpdatePath = () =>
  validationError('The document path provided in the update expression is invalid for update');

/** Whether the actions only take away (REMOVE, DELETE): on a missing item they create nothing. */
export const onlyRemoves = (actions: readonly ResolvedUpdateAction[]): boolean =>
  actions.every((a) => a.action === 'REMOVE' || a.action === 'DELETE');

const RANK: Readonly<Record<ResolvedUpdateAction['action'], number>> = { SET: 0, REMOVE: 1, ADD: 2, DELETE: 2 };

/** The updated item (undefined `old`: the item did not exist). */
export function applyUpdate(old: Item | undefined, actions: readonly ResolvedUpdateAction[]): Item {
  const before = old ?? {};
  const values = actions.map((a) => (a.action === 'SET' ? evaluate(a.value, before) : undefined));
  // Problems are reported for the SETs first, then the REMOVEs, then ADD and DELETE (a stable sort).
  const order = actions
    .map((action, i) => ({ action, set: values[i] }))
    .sort((x, y) => RANK[x.action.action] - RANK[y.action.action]);
  const edits: DocumentEdit[] = [];
  try {
    for (const { action, set } of order) {
      const current = targetAt(before, action.path);
      if (action.action === 'SET') edits.push({ path: action.path, value: set });
      else if (action.action === 'REMOVE') edits.push({ path: action.path, value: undefined });
      else if (action.action === 'ADD') edits.push({ path: action.path, value: add(current, action.value) });
      else if (current) edits.push({ path: action.path, value: deleteFromSet(current, action.value) });
    }
    return withEdits(before, edits);
  } catch (error) {
    if (error instanceof InvalidPathError) throw invalidUpdatePath();
    throw error;
  }
}

function evaluate(value: ResolvedUpdateValue, item: Item): AttributeValue {
  switch (value.kind) {
    case 'value':
      return value.value;
    case 'path': {
      const found = valueAt(item, value.path);
      if (!found) throw missingOperand();
      return found;
    }
    case 'if_not_exists':
      return valueAt(item, value.path) ?? evaluate(value.fallback, item);
    case 'list_append': {
      const left = evaluate(value.left, item);
      const right = evaluate(value.right, item);
      if (!left.L || !right.L) throw wrongOperandType();
      return { L: [...left.L, ...right.L] };
    }
    case '+':
    case '-': {
      const left = evaluate(value.left, item);
      const right = evaluate(value.right, item);
      if (left.N === undefined || right.N === undefined) throw wrongOperandType();
      return { N: value.kind === '+' ? addNumbers(left.N, right.N) : subtractNumbers(left.N, right.N) };
    }
  }
}

function add(current: AttributeValue | undefined, operand: AttributeValue): AttributeValue {
  if (!current) return operand;
  if (current.N !== undefined && operand.N !== undefined) return { N: addNumbers(current.N, operand.N) };
  const union = setUnion(current, operand);
  if (!union) throw wrongOperandType();
  return union;
}

/** What remains of the set; undefined (the attribute goes) when nothing does, as DynamoDB has no empty sets. */
function deleteFromSet(current: AttributeValue, operand: AttributeValue): AttributeValue | undefined {
  const rest = setDifference(current, operand);
  if (!rest) throw wrongOperandType();
  return setSize(rest) === 0 ? undefined : rest;
}

const setSize = (value: AttributeValue): number => (value.SS ?? value.NS ?? value.BS ?? []).length;

/** `a ∪ b` for two sets of one type; undefined when they are not. */
export function setUnion(a: AttributeValue, b: AttributeValue): AttributeValue | undefined {
  for (const [type, member] of SET_TYPES) {
    const [x, y] = [a[type], b[type]];
    if (x && y) return { [type]: [...x, ...y.filter((m) => !setHas(a, { [member]: m }))] };
  }
  return undefined;
}

/** `a ∖ b` for two sets of one type; undefined when they are not. */
export function setDifference(a: AttributeValue, b: AttributeValue): AttributeValue | undefined {
  for (const [type, member] of SET_TYPES) {
    const [x, y] = [a[type], b[type]];
    if (x && y) return { [type]: x.filter((m) => !setHas(b, { [member]: m })) };
  }
  return undefined;
}

const SET_TYPES = [
  ['SS', 'S'],
  ['NS', 'N'],
  ['BS', 'B'],
] as const;
