/**
 * What comes back of an item: the legacy AttributesToGet (top-level names) or the document
 * paths of a ProjectionExpression. List elements picked by index come back in index order,
 * without gaps, as in DynamoDB.
 */
import type { AttributeValue, Item } from './attribute-value.js';
import type { DocumentPath } from './document.js';
import { invalidParameter } from './errors.js';
import type { ExpressionAttributes } from './expressions/attributes.js';
import { parseProjectionExpression } from './expressions/projection.js';

export function validateAttributesToGet(names: readonly string[]): void {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw invalidParameter(`Duplicate value in attribute name: ${name}`);
    seen.add(name);
  }
}

/** A projection: either top-level names (AttributesToGet) or document paths. */
export type Projection = readonly DocumentPath[];

interface PathTree {
  whole: boolean;
  readonly children: Map<string | number, PathTree>;
}

const node = (): PathTree => ({ whole: false, children: new Map() });

/** The parts of `item` that `paths` select; paths that lead nowhere select nothing. */
export function projectPaths(item: Item, paths: Projection | undefined): Item {
  if (!paths) return item;
  const root = node();
  for (const path of paths) {
    let at = root;
    for (const step of path) {
      let next = at.children.get(step);
      if (!next) {
        next = node();
        at.children.set(step, next);
      }
      at = next;
    }
    at.whole = true;
  }
  const out: Item = {};
  for (const [name, tree] of root.children) {
    if (typeof name !== 'string' || !Object.hasOwn(item, name)) continue;
    const value = project(item[name] as AttributeValue, tree);
    if (value) out[name] = value;
  }
  return out;
}

function project(value: AttributeValue, tree: PathTree): AttributeValue | undefined {
  if (tree.whole) return value;
  if (value.M) {
    const map: Record<string, AttributeValue> = {};
    for (const [step, child] of tree.children) {
      if (typeof step !== 'string' || !Object.hasOwn(value.M, step)) continue;
      const projected = project(value.M[step] as AttributeValue, child);
      if (projected) map[step] = projected;
    }
    return Object.keys(map).length > 0 ? { M: map } : undefined;
  }
  if (value.L) {
    const list: AttributeValue[] = [];
    const indexes = [...tree.children.keys()].filter((k): k is number => typeof k === 'number').sort((a, b) => a - b);
    for (const index of indexes) {
      const element = value.L[index];
      const projected = element && project(element, tree.children.get(index) as PathTree);
      if (projected) list.push(projected);
    }
    return list.length > 0 ? { L: list } : undefined;
  }
  return undefined;
}

/**
 * The projection a read asked for: ProjectionExpression paths or AttributesToGet names
 * (checked here), or undefined for whole items.
 */
export function requestedProjection(
  input: { readonly ProjectionExpression?: string; readonly AttributesToGet?: readonly string[] },
  attributes: ExpressionAttributes,
): Projection | undefined {
  if (input.ProjectionExpression !== undefined) {
    return parseProjectionExpression(input.ProjectionExpression, attributes);
  }
  if (input.AttributesToGet) {
    validateAttributesToGet(input.AttributesToGet);
    return input.AttributesToGet.map((name) => [name]);
  }
  return undefined;
}
