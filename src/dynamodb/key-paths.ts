/**
 * What expressions may do with a table's key attributes, checked once the table is known:
 * key attributes are scalars, so no document path may go into one (projections and
 * filters), and a Query filter may not name one at all (the key condition selects on keys).
 * Messages and order as recorded from DynamoDB by dynalite (db.validateKeyPaths and the
 * Query/Scan actions): partition key before sort key.
 */
import type { DocumentPath } from './document.js';
import { validationError } from './errors.js';
import type { ResolvedCondition, ResolvedOperand } from './expressions/evaluate.js';
import type { KeyAttributes } from './table-schema.js';

const keyNames = (keys: KeyAttributes): string[] => (keys.range ? [keys.hash.name, keys.range.name] : [keys.hash.name]);

/**
 * Refuses `k.a` and `k[0]` for a key attribute `k`: the table's (`Key: k`), then those only an
 * index read adds (`IndexKey: k`, as dynoxide recorded DynamoDB's message for index reads).
 */
export function checkKeyPaths(
  paths: readonly DocumentPath[] | undefined,
  keys: KeyAttributes,
  indexKeys: readonly string[] = [],
): void {
  if (!paths) return;
  const tableKeys = keyNames(keys);
  const named: Array<[string, string]> = [
    ...tableKeys.map((n): [string, string] => ['Key', n]),
    ...indexKeys.filter((n) => !tableKeys.includes(n)).map((n): [string, string] => ['IndexKey', n]),
  ];
  for (const [label, name] of named) {
    if (paths.some((path) => path.length > 1 && path[0] === name)) {
      throw validationError(
        `Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: ${label}: ${name}`,
      );
    }
  }
}

/**
 * Refuses a Query filter (FilterExpression or QueryFilter) that names a key attribute of what the
 * Query reads: the table's keys, or an index's own keys (a table key that is not one of the
 * index's may be filtered on: ScyllaDB's Alternator tests against DynamoDB,
 * test_gsi_composite_filter_on_base_table_key_allowed).
 */
export function checkFilterWithoutKeys(
  paths: readonly DocumentPath[],
  keys: KeyAttributes | readonly string[],
  member: 'Filter Expression' | 'QueryFilter',
): void {
  for (const name of Array.isArray(keys) ? keys : keyNames(keys as KeyAttributes)) {
    if (paths.some((path) => path[0] === name)) {
      throw validationError(`${member} can only contain non-primary key attributes: Primary key attribute: ${name}`);
    }
  }
}

/** Every document path a condition reads, in document order. */
export function conditionPaths(condition: ResolvedCondition | undefined): DocumentPath[] {
  const paths: DocumentPath[] = [];
  const operand = (o: ResolvedOperand): void => {
    if (o.kind === 'path') paths.push(o.path);
    else if (o.kind === 'size') operand(o.operand);
  };
  const visit = (c: ResolvedCondition): void => {
    switch (c.kind) {
      case 'and':
      case 'or':
        visit(c.left);
        visit(c.right);
        return;
      case 'not':
        visit(c.operand);
        return;
      case 'compare':
        operand(c.left);
        operand(c.right);
        return;
      case 'between':
        [c.subject, c.lower, c.upper].forEach(operand);
        return;
      case 'in':
        [c.subject, ...c.candidates].forEach(operand);
        return;
      case 'function':
        c.args.forEach(operand);
        return;
      case 'constant':
        return;
    }
  };
  if (condition) visit(condition);
  return paths;
}
