/**
 * An error that is answered to the client in the AWS JSON protocol shape:
 * `{"__type": "<namespace>#<code>", "message": "..."}` with an HTTP status.
 * Every service defines its own errors on top of this one (see each service's errors.ts).
 */
export class AwsError extends Error {
  constructor(
    /** The error code the SDKs expose as `name`, e.g. `ValidationException`. */
    readonly code: string,
    message: string | undefined,
    readonly statusCode = 400,
    /** Coral namespace prefixed to `__type` (DynamoDB uses them, KMS does not). */
    readonly namespace?: string,
  ) {
    super(message ?? '');
    this.name = code;
  }

  /**
   * Members sent beside `__type` and `message`, e.g. DynamoDB's CancellationReasons or the
   * Item of a ConditionalCheckFailedException.
   */
  details?: Readonly<Record<string, unknown>>;

  /** The member the message is sent in: DynamoDB's SerializationException says `Message`. */
  messageKey: 'message' | 'Message' = 'message';

  /** Whether a message member is sent (KMS's InvalidCiphertextException has none). */
  get hasMessage(): boolean {
    return this.message !== '';
  }

  get wireType(): string {
    return this.namespace ? `${this.namespace}#${this.code}` : this.code;
  }
}

export const CORAL_SERVICE = 'com.amazon.coral.service';
export const CORAL_VALIDATE = 'com.amazon.coral.validate';
