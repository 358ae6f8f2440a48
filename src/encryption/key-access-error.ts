/** A KMS call made for a table failed: the key is unusable for this caller, or for everyone. */
export class KeyAccessError extends Error {
  constructor(
    /** The KMS exception name, e.g. `DisabledException`. */
    readonly kmsCode: string,
    readonly kmsMessage: string,
    readonly requestId: string,
    /** True when the failure is the key's (disabled, pending deletion, gone), not just this caller's. */
    readonly definitive: boolean,
    /** True when the KMS could not be reached or asked for a retry (an external KMS): cached keys may stand in. */
    readonly transient = false,
  ) {
    super(`${kmsCode}: ${kmsMessage}`);
    this.name = 'KeyAccessError';
  }

  /** The KMS key no longer exists: anything encrypted under it is lost for good. */
  get keyDestroyed(): boolean {
    return this.kmsCode === 'NotFoundException';
  }
}

/** KMS failures that say the key itself is unusable, whoever calls. */
const KEY_STATE_ERRORS = new Set([
  'DisabledException',
  'KMSInvalidStateException',
  'NotFoundException',
  'InvalidCiphertextException',
  'IncorrectKeyException',
  'KeyUnavailableException',
]);

export function toKeyAccessError(error: unknown, requestId: string): KeyAccessError {
  const code =
    (error as { code?: string; name?: string }).code ?? (error as { name?: string }).name ?? 'KMSInternalException';
  const message = error instanceof Error ? error.message : String(error);
  return new KeyAccessError(code, message, requestId, KEY_STATE_ERRORS.has(code));
}
