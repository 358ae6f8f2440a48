/** ReturnValues: which attributes a write answers with. */
import type { Item } from './attribute-value.js';
import type { DocumentPath } from './document.js';
import { validationError } from './errors.js';
import { projectPaths } from './projection.js';

export type ReturnValues = 'NONE' | 'ALL_OLD' | 'UPDATED_OLD' | 'ALL_NEW' | 'UPDATED_NEW';

/** PutItem and DeleteItem know only NONE and ALL_OLD. */
export function checkPutDeleteReturnValues(mode: string | undefined): void {
  if (mode !== undefined && mode !== 'NONE' && mode !== 'ALL_OLD') {
    throw validationError('ReturnValues can only be ALL_OLD or NONE');
  }
}

/** `{ Attributes }` for the mode, or nothing when the mode returns nothing or there is nothing to return. */
export function returnedAttributes(
  mode: ReturnValues | undefined,
  old: Item | undefined,
  updated: Item | undefined,
  paths: readonly DocumentPath[],
): { Attributes?: Item } {
  let attributes: Item | undefined;
  switch (mode) {
    case 'ALL_OLD':
      attributes = old;
      break;
    case 'ALL_NEW':
      attributes = updated;
      break;
    case 'UPDATED_OLD':
      attributes = old && projectPaths(old, paths);
      break;
    case 'UPDATED_NEW':
      attributes = updated && projectPaths(updated, paths);
      break;
    default:
      attributes = undefined;
  }
  return attributes && Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
}
