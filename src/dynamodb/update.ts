/**
 * Applying an UpdateExpression's actions to an item. Every SET value is computed from the item
 * as it was before the update; then SETs, REMOVEs, ADDs and DELETEs are applied. REMOVEs of
 * list elements use the original indexes (removed from the highest down).
 */
import type { AttributeValue, Item } from './attribute-value.js';
import { addNumbers, subtractNumbers } from './decimal.js';
import { type DocumentPath, InvalidPathError, setHas, valueAt, withoutValueAt, withValueAt } from './document.js';
import { validationError } from './errors.js';
import type { ResolvedUpdateAction, ResolvedUpdateValue } from './expressions/update.js';

export const missingOperand = () =>
  validationError('The provided expression refers to an attribute that does not exist in the item');
export const wrongOperandType = () => validationError('An operand in the update expression has an incorrect data type');
export const invalidUpdatePath = () =>
  validationError('The document path provided in the update expression is invalid for update');

/** The updated item (undefined `old`: the item did not exist). */
export function applyUpdate(old: Item | undefined, actions: readonly ResolvedUpdateAction[]): Item {
  const before = old ?? {};
  const values = actions.map((a) => (a.action === 'SET' ? evaluate(a.value, before) : undefined));
  let item = before;
  try {
    actions.forEach((action, i) => {
      if (action.action === 'SET') item = withValueAt(item, action.path, values[i] as AttributeValue);
    });
    for (const action of removalsInOrder(actions)) item = withoutValueAt(item, action.path);
    for (const action of actions) {
      if (action.action === 'ADD') item = add(item, action.path, action.value);
      else if (action.action === 'DELETE') item = deleteFromSet(item, action.path, action.value);
    }
  } catch (error) {
    if (error instanceof InvalidPathError) throw invalidUpdatePath();
    throw error;
  }
  return item;
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

function removalsInOrder(actions: readonly ResolvedUpdateAction[]): ResolvedUpdateAction[] {
  const removals = actions.filter((a) => a.action === 'REMOVE');
  // Later indexes first, so that removing one element does not shift the others.
  return removals.sort((a, b) => {
    const [x, y] = [a.path[a.path.length - 1], b.path[b.path.length - 1]];
    return typeof x === 'number' && typeof y === 'number' ? y - x : 0;
  });
}

function add(item: Item, path: DocumentPath, operand: AttributeValue): Item {
  const current = valueAt(item, path);
  if (!current) return withValueAt(item, path, operand);
  if (current.N !== undefined && operand.N !== undefined)
    return withValueAt(item, path, { N: addNumbers(current.N, operand.N) });
  const union = setUnion(current, operand);
  if (!union) throw wrongOperandType();
  return withValueAt(item, path, union);
}

function deleteFromSet(item: Item, path: DocumentPath, operand: AttributeValue): Item {
  const current = valueAt(item, path);
  if (!current) return item;
  const rest = setDifference(current, operand);
  if (!rest) throw wrongOperandType();
  // DynamoDB has no empty sets: deleting the last members removes the attribute.
  return setSize(rest) === 0 ? withoutValueAt(item, path) : withValueAt(item, path, rest);
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
