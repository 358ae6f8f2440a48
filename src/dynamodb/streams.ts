/**
 * DynamoDB Streams are not implemented yet. Until they are, every request that would give a
 * table a stream is refused here, in one place, rather than accepted and silently ignored.
 */
import { invalidParameter, validationError } from './errors.js';

export interface StreamSpecification {
  StreamEnabled: boolean;
  StreamViewType?: 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES' | 'KEYS_ONLY';
}

export function streamsUnsupported(): Error {
  return validationError('sealdb does not support StreamSpecification yet: DynamoDB Streams are not implemented');
}

/**
 * CreateTable: a disabled stream is what every sealdb table has, so it is accepted; an enabled one
 * is refused. DynamoDB's own rule on the view type comes first (its message, as catalogued by
 * ack-api-quirks, DDB-TABLE-442).
 */
export function checkNewTableStream(spec: StreamSpecification): void {
  if (!spec.StreamEnabled) {
    if (spec.StreamViewType !== undefined) {
      throw invalidParameter('Table is being created with a stream disabled, UpdateViewType should not be specified');
    }
    return;
  }
  throw streamsUnsupported();
}
