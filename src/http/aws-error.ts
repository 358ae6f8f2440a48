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

  /**
   * The answer's JSON body, when it was already built off the main thread (a model check's
   * message can run to megabytes: src/validation/off-thread.ts); sent as it stands.
   */
  encodedBody?: EncodedBody;

  /** Whether a message member is sent (KMS's InvalidCiphertextException has none). */
  get hasMessage(): boolean {
    return this.message !== '';
  }

  get wireType(): string {
    return this.namespace ? `${this.namespace}#${this.code}` : this.code;
  }
}

/** A response body already serialised, with its CRC32 (DynamoDB's x-amz-crc32 header). */
export interface EncodedBody {
  readonly bytes: Buffer;
  readonly crc32: number;
}

/** The JSON body an error is answered with. */
export function errorJson(error: AwsError): string {
  return JSON.stringify({
    __type: error.wireType,
    ...(error.hasMessage ? { [error.messageKey]: error.message } : {}),
    ...error.details,
  });
}

export const CORAL_SERVICE = 'com.amazon.coral.service';
export const CORAL_VALIDATE = 'com.amazon.coral.validate';
