/**
 * The model check (checker.ts) of a large request run off the main thread (issue 12, item 11).
 * Checking a 15 MB BatchWriteItem of 110k small items takes over a second, most of it building
 * the 5.6 MB `WriteRequest@hash` text of its "length less than or equal to 25" message: the JSON
 * worker that already parses the body (src/http/large-json/) checks it too, and the main thread
 * only receives the verdict: the checked input, or the error exactly as checkInput words it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AwsError } from '../http/aws-error.js';
import { type CheckOptions, checkInput } from './checker.js';
import { type CompactModel, loadModel } from './model.js';

/** What a worker needs to check a service's input: everything in it survives structured cloning. */
export interface ModelCheck {
  /** `file:` URL of the service's compact model JSON (as `scripts/generate-models.ts` writes it). */
  readonly modelUrl: string;
  readonly options: CheckOptions;
  /**
   * `file:` URL of a module whose `prepareInput` (an InputPreparer) runs the operations' own
   * checks that need no table, after the model check, in the worker too.
   */
  readonly preparerUrl?: string;
}

/**
 * An operation's own checks of a model-checked input that need neither a table nor the caller
 * (item values and sizes), run in the worker. Undefined: the operation has none to lend. An
 * AwsError it throws is the answer, as the model check's is: it may throw only errors the
 * operation raises before anything else could answer (errors due later go into `prepared`).
 */
export type InputPreparer = (operation: string, checked: Record<string, unknown>) => PrepareOutcome | undefined;

/** The input the operation runs on (its checked parts taken out, into `prepared`). */
export interface PrepareOutcome {
  readonly input: Record<string, unknown>;
  readonly prepared: Prepared;
}

/**
 * What the worker's checks made of an input: checked items as the JSON text they are stored as
 * (the main thread never builds their object graphs), and operation-specific `extra` (small,
 * structured-cloned) that refers to them by index.
 */
export interface Prepared {
  readonly extra: unknown;
  readonly items: readonly PreparedItem[];
}

/** A checked item, or the client error its check raised, to be thrown where the operation checks it. */
export type PreparedItem =
  | { readonly body: Buffer; readonly size: number }
  | { readonly error: AwsError; readonly body?: undefined };

/** Prepared as it crosses between threads: bodies are ranges of one transferred buffer. */
export interface PreparedWire {
  readonly extra: unknown;
  readonly items: readonly (
    | { readonly range: readonly [number, number]; readonly size: number }
    | { readonly error: ClonedError }
  )[];
}

/** A check of one operation's input. */
export interface ModelCheckRequest extends ModelCheck {
  readonly operation: string;
}

/**
 * A check already made: the input handed over with it is checkInput's result (with what the
 * operation's preparer took out of it, when one ran), or this error is.
 */
export type CheckVerdict =
  | { readonly valid: true; readonly prepared?: Prepared }
  | { readonly valid: false; readonly error: AwsError };

/** An AwsError as it crosses between threads (a class instance does not survive structured cloning). */
export interface ClonedError {
  readonly code: string;
  readonly message: string;
  readonly statusCode: number;
  readonly namespace: string | undefined;
  readonly messageKey: 'message' | 'Message';
}

/**
 * What the worker found: valid (with checkInput's result, or the preparer's input and what it
 * prepared), or the client error checkInput or the preparer raised.
 */
export type CheckResult =
  | {
      readonly valid: true;
      readonly checked: Record<string, unknown>;
      readonly prepared?: { readonly extra: unknown; readonly items: readonly PreparedItem[] };
    }
  | { readonly valid: false; readonly error: ClonedError };

/**
 * checkInput, unless the input was checked already: then it is checkInput's result as it
 * stands (or the preparer's input, beside the verdict's `prepared`), or the verdict's error is
 * thrown where checkInput would have thrown it.
 */
export function checkInputOnce(
  model: CompactModel,
  operation: string,
  input: Record<string, unknown>,
  options: CheckOptions,
  verdict: CheckVerdict | undefined,
): Record<string, unknown> {
  if (verdict === undefined) return checkInput(model, operation, input, options);
  if (!verdict.valid) throw verdict.error;
  return input;
}

/** Per model URL: the model, and one options object per wording (the checker caches per options object). */
const models = new Map<string, { readonly model: CompactModel; readonly options: Map<string, CheckOptions> }>();

/**
 * Runs checkInput in a worker. Anything but a client's error (a programming error) propagates:
 * the caller then leaves the check to the main thread, where it surfaces as it always would.
 */
export function runModelCheck(
  request: ModelCheckRequest,
  input: Record<string, unknown>,
  preparer?: InputPreparer,
): CheckResult {
  let loaded = models.get(request.modelUrl);
  if (!loaded) {
    loaded = {
      model: loadModel(JSON.parse(readFileSync(fileURLToPath(request.modelUrl), 'utf8'))),
      options: new Map(),
    };
    models.set(request.modelUrl, loaded);
  }
  const optionsKey = JSON.stringify(request.options);
  let options = loaded.options.get(optionsKey);
  if (!options) {
    options = request.options;
    loaded.options.set(optionsKey, options);
  }
  try {
    const checked = checkInput(loaded.model, request.operation, input, options);
    const outcome = preparer?.(request.operation, checked);
    if (outcome === undefined) return { valid: true, checked };
    return { valid: true, checked: outcome.input, prepared: outcome.prepared };
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    return { valid: false, error: cloneError(error) };
  }
}

export function cloneError(error: AwsError): ClonedError {
  const { code, message, statusCode, namespace, messageKey } = error;
  return { code, message, statusCode, namespace, messageKey };
}

/** Prepared for the trip to the main thread: every body copied into one buffer, to be transferred. */
export function packPrepared(prepared: Prepared): { readonly wire: PreparedWire; readonly bytes: Buffer | undefined } {
  let length = 0;
  for (const item of prepared.items) if (item.body) length += item.body.length;
  const bytes = length > 0 ? Buffer.allocUnsafeSlow(length) : undefined;
  let at = 0;
  const items = prepared.items.map((item) => {
    if (!item.body) return { error: cloneError(item.error) };
    item.body.copy(bytes as Buffer, at);
    at += item.body.length;
    return { range: [at - item.body.length, at] as const, size: item.size };
  });
  return { wire: { extra: prepared.extra, items }, bytes };
}

/** Prepared as the main thread uses it: bodies are views of the transferred buffer. */
export function unpackPrepared(wire: PreparedWire, bytes: Buffer | undefined): Prepared {
  return {
    extra: wire.extra,
    items: wire.items.map((item) =>
      'error' in item
        ? { error: reviveError(item.error) }
        : { body: (bytes as Buffer).subarray(item.range[0], item.range[1]), size: item.size },
    ),
  };
}

/** The AwsError a cloned one stands for. */
export function reviveError(cloned: ClonedError): AwsError {
  const error = new AwsError(cloned.code, cloned.message, cloned.statusCode, cloned.namespace);
  error.messageKey = cloned.messageKey;
  return error;
}

/** The verdict for the main thread; the checked input itself travels as a parse plan. */
export function verdictOf(
  result: { readonly valid: true } | { readonly valid: false; readonly error: ClonedError },
  prepared?: Prepared,
): CheckVerdict {
  if (!result.valid) return { valid: false, error: reviveError(result.error) };
  return prepared ? { valid: true, prepared } : { valid: true };
}
