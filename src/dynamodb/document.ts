/**
 * Items as documents: reading, writing and removing values at resolved document paths
 * (`a.b[2].c` → ['a', 'b', 2, 'c']), and DynamoDB's equality between attribute values.
 * Writers never mutate their input; they return a changed copy along the path.
 */
import { Buffer } from 'node:buffer';
import { setOwnEntry } from '../validation/own-entry.js';
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
 * The value an update action at `path` finds (undefined when the last step is absent). Every
 * step before the last must exist and each step must suit its container (a name in a map, an
 * index in a list), or the path is invalid for update, as in DynamoDB.
 */
export function targetAt(item: Item, path: DocumentPath): AttributeValue | undefined {
  const [first, ...rest] = path;
  if (typeof first !== 'string') throw new InvalidPathError();
  let value = Object.hasOwn(item, first) ? item[first] : undefined;
  for (const step of rest) {
    if (value === undefined || !(typeof step === 'number' ? value.L : value.M)) throw new InvalidPathError();
    value = child(value, step);
  }
  return value;
}

/** A write at a path: the new value, or undefined to remove what is there. */
export interface DocumentEdit {
  readonly path: DocumentPath;
  readonly value: AttributeValue | undefined;
}

interface EditNode {
  value?: AttributeValue | undefined;
  edited?: true;
  readonly children: Map<string | number, EditNode>;
}

/**
 * The item with `edits` made, all addressed by the item as it is: list indexes are those of
 * the old list, so removing one element does not shift the target of another edit. Writes past
 * the end of a list append, in ascending index order (DynamoDB's developer guide, "Using update
 * expressions": multiple elements added in one SET are sorted by element number); removals
 * past the end do nothing. The paths must be disjoint (no one a prefix of another) and checked
 * with `targetAt`.
 */
export function withEdits(item: Item, edits: readonly DocumentEdit[]): Item {
  const root: EditNode = { children: new Map() };
  for (const { path, value } of edits) {
    let node = root;
    for (const step of path) {
      let next = node.children.get(step);
      if (!next) {
        next = { children: new Map() };
        node.children.set(step, next);
      }
      node = next;
    }
    node.edited = true;
    node.value = value;
  }
  // The item is edited as the map of its top-level attributes.
  return (applyNode({ M: item }, root) as { M: Item }).M;
}

function applyNode(value: AttributeValue | undefined, node: EditNode): AttributeValue | undefined {
  if (node.edited) return node.value;
  if (value?.M) {
    const map = { ...value.M };
    for (const [name, inner] of node.children) {
      const key = name as string;
      const result = applyNode(Object.hasOwn(map, key) ? map[key] : undefined, inner);
      if (result === undefined) delete map[key];
      else setOwnEntry(map, key, result);
    }
    return { M: map };
  }
  if (value?.L) {
    const old = value.L;
    const list: AttributeValue[] = [];
    old.forEach((element, i) => {
      const inner = node.children.get(i);
      const result = inner ? applyNode(element, inner) : element;
      if (result !== undefined) list.push(result);
    });
    const appended = [...node.children]
      .filter(([index]) => (index as number) >= old.length)
      .sort(([x], [y]) => (x as number) - (y as number));
    for (const [, inner] of appended) {
      const result = applyNode(undefined, inner);
      if (result !== undefined) list.push(result);
    }
    return { L: list };
  }
  throw new InvalidPathError();
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
