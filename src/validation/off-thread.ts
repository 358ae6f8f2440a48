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
}

/** A check of one operation's input. */
export interface ModelCheckRequest extends ModelCheck {
  readonly operation: string;
}

/** A check already made: the input handed over with it is checkInput's result, or this error is. */
export type CheckVerdict = { readonly valid: true } | { readonly valid: false; readonly error: AwsError };

/** An AwsError as it crosses between threads (a class instance does not survive structured cloning). */
export interface ClonedError {
  readonly code: string;
  readonly message: string;
  readonly statusCode: number;
  readonly namespace: string | undefined;
  readonly messageKey: 'message' | 'Message';
}

/** What the worker found: valid (with checkInput's result), or the client error checkInput threw. */
export type CheckResult =
  | { readonly valid: true; readonly checked: Record<string, unknown> }
  | { readonly valid: false; readonly error: ClonedError };

/**
 * checkInput, unless the input was checked already: then it is checkInput's result as it
 * stands, or the verdict's error is thrown where checkInput would have thrown it.
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
export function runModelCheck(request: ModelCheckRequest, input: Record<string, unknown>): CheckResult {
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
    return { valid: true, checked: checkInput(loaded.model, request.operation, input, options) };
  } catch (error) {
    if (!(error instanceof AwsError)) throw error;
    const { code, message, statusCode, namespace, messageKey } = error;
    return { valid: false, error: { code, message, statusCode, namespace, messageKey } };
  }
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
): CheckVerdict {
  return result.valid ? { valid: true } : { valid: false, error: reviveError(result.error) };
}
