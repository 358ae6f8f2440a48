/** How DynamoDB reports KMS failures: the KMS exception wrapped in the Java SDK's words. */
import type { KeyAccessError } from '../encryption/key-access-error.js';
import { accessDenied, validationError } from './errors.js';

const wrapped = (error: KeyAccessError): string =>
  `com.amazonaws.services.kms.model.${error.kmsCode}: ${error.kmsMessage} (Service: AWSKMS; Status Code: 400; ` +
  `Error Code: ${error.kmsCode}; Request ID: ${error.requestId || '00000000-0000-0000-0000-000000000000'}; Proxy: null)`;

/** Data-plane calls on a table whose key is unusable, and callers the key policy denies. */
export function kmsAccessDenied(error: KeyAccessError) {
  const destroyed = error.keyDestroyed
    ? " The table's KMS key has been deleted: its data can never be decrypted again."
    : '';
  return accessDenied(`KMS key access denied error: ${wrapped(error)}${destroyed}`);
}

/** CreateTable/UpdateTable naming a key that does not exist or cannot be used. */
export function kmsValidationError(error: KeyAccessError) {
  if (error.kmsCode === 'AccessDeniedException') return kmsAccessDenied(error);
  return validationError(`KMS validation error: ${wrapped(error)}`);
}
