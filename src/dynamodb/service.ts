/** DynamoDB's JSON 1.0 API: model validation first, then the operation. */
import { AwsError, CORAL_SERVICE, CORAL_VALIDATE } from '../http/aws-error.js';
import type { CallContext, ServiceHandler } from '../http/service.js';
import { DamagedFileError } from '../storage/damage.js';
import type { CheckOptions } from '../validation/checker.js';
import { loadModel } from '../validation/model.js';
import { type CheckVerdict, checkInputOnce, type ModelCheck } from '../validation/off-thread.js';
import { internalServerError } from './errors.js';
import modelJson from './model.json' with { type: 'json' };
import type { DynamoDbEnvironment, Operation } from './operation.js';
import { operations } from './operations/index.js';

const model = loadModel(modelJson);

const CHECK_OPTIONS: CheckOptions = {
  serializationNamespace: CORAL_SERVICE,
  validationNamespace: CORAL_VALIDATE,
  typeMessages: 'dynamodb',
};

export class DynamoDbService implements ServiceHandler {
  readonly targetPrefix = 'DynamoDB_20120810';
  readonly contentType = 'application/x-amz-json-1.0';
  readonly signingName = 'dynamodb';
  readonly protocolErrorNamespace = CORAL_SERVICE;
  readonly offThreadCheck: ModelCheck = {
    modelUrl: new URL('./model.json', import.meta.url).href,
    options: CHECK_OPTIONS,
  };
  readonly #operations: ReadonlyMap<string, Operation<never, unknown>>;
  /** Per region: operations see only the tables of the caller's region. */
  readonly #environments = new Map<string, DynamoDbEnvironment>();

  constructor(private readonly env: DynamoDbEnvironment) {
    this.#operations = new Map(operations.map((op) => [op.name, op as Operation<never, unknown>]));
  }

  #environment(region: string): DynamoDbEnvironment {
    let env = this.#environments.get(region);
    if (!env) {
      env = { ...this.env, region, tables: this.env.tables.inRegion(region) };
      this.#environments.set(region, env);
    }
    return env;
  }

  hasOperation(operation: string): boolean {
    return this.#operations.has(operation);
  }

  modelHasOperation(operation: string): boolean {
    return model.operations.has(operation);
  }

  internalError(): AwsError {
    return internalServerError();
  }

  async dispatch(
    operation: string,
    input: Record<string, unknown>,
    ctx: CallContext,
    verdict?: CheckVerdict,
  ): Promise<unknown> {
    const op = this.#operations.get(operation);
    if (!op) throw new AwsError('UnknownOperationException', undefined, 400, CORAL_SERVICE);
    const checked = checkInputOnce(model, operation, input, CHECK_OPTIONS, verdict);
    try {
      try {
        return await op.execute({ input: checked as never, ctx, env: this.#environment(ctx.region) });
      } finally {
        // Group commit: nothing is answered — success or error, write or read — before every
        // write it could have seen or made is committed.
        await this.env.tables.durable();
      }
    } catch (error) {
      // A damaged file takes its table out of service with an answer that names it.
      if (error instanceof DamagedFileError) throw this.env.tables.damaged(error);
      throw error;
    }
  }
}
