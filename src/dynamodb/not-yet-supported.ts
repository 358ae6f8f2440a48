/**
 * Parameters sealdb does not implement yet are refused with a clear error
 * rather than silently ignored (which would, e.g., drop a write condition).
 */
import { validationError } from './errors.js';

export function rejectUnsupported(operation: string, input: object, members: readonly string[]): void {
  const present = members.filter((m) => (input as Record<string, unknown>)[m] !== undefined);
  if (present.length > 0) {
    throw validationError(`sealdb does not support ${present.join(', ')} in ${operation} yet`);
  }
}
