/**
 * Items as documents: reading, writing and removing values at resolved document paths
 * (`a.b[2].c` → ['a', 'b', 2, 'c']), and DynamoDB's equality between attribute values.
 * Writers never mutate their input; they return a changed copy along the path.
 */
import { Buffer } from 'node:buffer';
import type { AttributeValue, Item } from './attribute-value.js';
import { compareNumbers } from './number.js';

/** Attribute names and list indexes, outermost first. */
export type DocumentPath = readonly (string | number)[];

/** The value at `path`, or undefined when any step of it is missing or of the wrong kind. */
export function valueAt(item: Item, path: DocumentPath): AttributeValue | undefined {
  const [first, ...rest] = path;
  if (typeof first !== 'string' || !Object.hasOwn(item, first)) return undefined;
  let value = item[first] as AttributeValue;
  for (const step of rest) {
    const next = child(value, step);
    if (next === undefined) return undefined;
    value = next;
  }
  return value;
}

function child(value: AttributeValue, step: string | number): AttributeValue | undefined {
  if (typeof step === 'number') return value.L && step < value.L.length ? value.L[step] : undefined;
  return value.M && Object.hasOwn(value.M, step) ? value.M[step] : undefined;
}

/** Why a write to a path could not be made: the parent is missing or is not a map/list. */
export class InvalidPathError extends Error {
  constructor() {
    super('invalid document path for update');
    this.name = 'InvalidPathError';
  }
}

/**
 * Writes `value` at `path`. The parent must exist with the right kind; an index past the end
 * of a list appends, as DynamoDB does.
 */
export function withValueAt(item: Item, path: DocumentPath, value: AttributeValue): Item {
  const [first, ...rest] = path;
  if (typeof first !== 'string') throw new InvalidPathError();
  if (rest.length === 0) return { ...item, [first]: value };
  const current = Object.hasOwn(item, first) ? item[first] : undefined;
  if (current === undefined) throw new InvalidPathError();
  return { ...item, [first]: setIn(current, rest, value) };
}

function setIn(container: AttributeValue, path: DocumentPath, value: AttributeValue): AttributeValue {
  const [step, ...rest] = path as [string | number, ...(string | number)[]];
  if (typeof step === 'number') {
    if (!container.L) throw new InvalidPathError();
    const list = [...container.L];
    if (rest.length === 0) {
      if (step >= list.length) list.push(value);
      else list[step] = value;
      return { L: list };
    }
    const inner = list[step];
    if (inner === undefined) throw new InvalidPathError();
    list[step] = setIn(inner, rest, value);
    return { L: list };
  }
  if (!container.M) throw new InvalidPathError();
  const map = { ...container.M };
  if (rest.length === 0) {
    map[step] = value;
    return { M: map };
  }
  const inner = Object.hasOwn(map, step) ? map[step] : undefined;
  if (inner === undefined) throw new InvalidPathError();
  map[step] = setIn(inner, rest, value);
  return { M: map };
}

/**
 * Removes the value at `path`. A missing last step is fine (nothing to remove); a missing or
 * mistyped parent is not, as in DynamoDB.
 */
export function withoutValueAt(item: Item, path: DocumentPath): Item {
  const [first, ...rest] = path;
  if (typeof first !== 'string') throw new InvalidPathError();
  if (rest.length === 0) {
    const { [first]: _removed, ...kept } = item;
    return kept;
  }
  const current = Object.hasOwn(item, first) ? item[first] : undefined;
  if (current === undefined) throw new InvalidPathError();
  return { ...item, [first]: removeIn(current, rest) };
}

function removeIn(container: AttributeValue, path: DocumentPath): AttributeValue {
  const [step, ...rest] = path as [string | number, ...(string | number)[]];
  if (typeof step === 'number') {
    if (!container.L) throw new InvalidPathError();
    const list = [...container.L];
    if (rest.length === 0) {
      if (step < list.length) list.splice(step, 1);
      return { L: list };
    }
    const inner = list[step];
    if (inner === undefined) throw new InvalidPathError();
    list[step] = removeIn(inner, rest);
    return { L: list };
  }
  if (!container.M) throw new InvalidPathError();
  const map = { ...container.M };
  if (rest.length === 0) {
    delete map[step];
    return { M: map };
  }
  const inner = Object.hasOwn(map, step) ? map[step] : undefined;
  if (inner === undefined) throw new InvalidPathError();
  map[step] = removeIn(inner, rest);
  return { M: map };
}

/** DynamoDB equality: same type and value; numbers numerically, sets regardless of order. */
export function valuesEqual(a: AttributeValue, b: AttributeValue): boolean {
  if (a.S !== undefined) return a.S === b.S;
  if (a.N !== undefined) return b.N !== undefined && compareNumbers(a.N, b.N) === 0;
  if (a.B !== undefined) return b.B !== undefined && Buffer.from(a.B, 'base64').equals(Buffer.from(b.B, 'base64'));
  if (a.BOOL !== undefined) return a.BOOL === b.BOOL;
  if (a.NULL !== undefined) return b.NULL !== undefined;
  if (a.SS) return b.SS !== undefined && sameMembers(a.SS, b.SS, (x, y) => x === y);
  if (a.NS) return b.NS !== undefined && sameMembers(a.NS, b.NS, (x, y) => compareNumbers(x, y) === 0);
  if (a.BS) return b.BS !== undefined && sameMembers(a.BS, b.BS, sameBytes);
  if (a.L) {
    const other = b.L;
    return (
      other !== undefined &&
      a.L.length === other.length &&
      a.L.every((v, i) => valuesEqual(v, other[i] as AttributeValue))
    );
  }
  if (a.M) {
    const other = b.M;
    if (!other) return false;
    const keys = Object.keys(a.M);
    return (
      keys.length === Object.keys(other).length &&
      keys.every((k) => Object.hasOwn(other, k) && valuesEqual(a.M?.[k] as AttributeValue, other[k] as AttributeValue))
    );
  }
  return false;
}

const sameBytes = (x: string, y: string): boolean => Buffer.from(x, 'base64').equals(Buffer.from(y, 'base64'));

function sameMembers(a: readonly string[], b: readonly string[], eq: (x: string, y: string) => boolean): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => eq(x, y)));
}

/** Whether a set value holds a member equal to `member` (a scalar of the set's element type). */
export function setHas(set: AttributeValue, member: AttributeValue): boolean {
  if (set.SS && member.S !== undefined) return set.SS.includes(member.S);
  if (set.NS && member.N !== undefined) {
    const n = member.N;
    return set.NS.some((x) => compareNumbers(x, n) === 0);
  }
  if (set.BS && member.B !== undefined) {
    const b = member.B;
    return set.BS.some((x) => sameBytes(x, b));
  }
  return false;
}
