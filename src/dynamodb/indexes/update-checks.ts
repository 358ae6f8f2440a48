/**
 * UpdateItem's checks of an update against the table's index keys, in DynamoDB's order.
 *
 * What the request alone tells (a literal, a number from arithmetic, ADD's operand, an
 * AttributeUpdates value) is checked with the request's other validation, before the item is read
 * and so before the condition: a wrong type is "Type mismatch for Index Key" even when the
 * condition would fail, or the item does not exist. A value copied from the item (`SET c = e`,
 * if_not_exists) is only known after the condition, and has its own message. Sources: dynalite's
 * test/updateItem.js, recorded against DynamoDB ("should return ValidationException if trying to
 * update wrong type on index" on items that do not exist, "... update index map", "... update
 * existing index"), and its db/index.js validateUpdates, which runs before the item is read.
 */
import type { Item } from '../attribute-value.js';
import type { DocumentPath } from '../document.js';
import { validationError } from '../errors.js';
import type { AssignedAttribute } from '../operations/update-item.js';
import type { IndexSchema } from './schema.js';

/** The request-time checks: statically typed values written to index keys, and no nested paths into them. */
export function checkUpdateIndexKeys(
  assigned: readonly AssignedAttribute[],
  paths: readonly DocumentPath[],
  indexes: readonly IndexSchema[],
): void {
  if (indexes.length === 0) return;
  for (const index of indexes) {
    for (const attribute of [...index.hash, ...index.range]) {
      const written = assigned.find((a) => a.name === attribute.name && a.type !== undefined);
      if (written && written.type !== attribute.type) {
        throw validationError(
          `One or more parameter values were invalid: Type mismatch for Index Key ${attribute.name} Expected: ${attribute.type} Actual: ${written.type} IndexName: ${index.name}`,
        );
      }
    }
  }
  for (const index of indexes) {
    for (const attribute of [...index.hash, ...index.range]) {
      if (paths.some((path) => path.length > 1 && path[0] === attribute.name)) {
        throw validationError(
          `Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: ${attribute.name}`,
        );
      }
    }
  }
}

/** After the condition: an index key set from a value of the item must still have the key's type. */
export function checkCopiedIndexKeys(
  assigned: readonly AssignedAttribute[],
  indexes: readonly IndexSchema[],
  item: Item,
): void {
  if (indexes.length === 0) return;
  for (const { name, type } of assigned) {
    if (type !== undefined) continue;
    const value = Object.hasOwn(item, name) ? item[name] : undefined;
    if (!value) continue;
    for (const index of indexes) {
      const attribute = [...index.hash, ...index.range].find((a) => a.name === name);
      if (attribute && value[attribute.type] === undefined) {
        throw validationError('The update expression attempted to update the secondary index key to unsupported type');
      }
    }
  }
}
