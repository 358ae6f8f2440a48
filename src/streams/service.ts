/**
 * DynamoDB Streams' JSON 1.0 API (`DynamoDBStreams_20120810.*`) on the same port as DynamoDB:
 * model validation first, then the operation. SigV4 signs it as service `dynamodb` (the model's
 * signingName), so one set of credentials and one endpoint URL serve both.
 */
import { type DynamoDbEnvironment, type Operation, RegionEnvironments } from '../dynamodb/operation.js';
import { AwsError, CORAL_SERVICE, CORAL_VALIDATE } from '../http/aws-error.js';
import type { CallContext, ServiceHandler } from '../http/service.js';
import { DamagedFileError } from '../storage/damage.js';
import { type CheckOptions, checkInput } from '../validation/checker.js';
import { loadModel } from '../validation/model.js';
import { internalServerError } from './errors.js';
import modelJson from './model.json' with { type: 'json' };
import { operations } from './operations/index.js';

const model = loadModel(modelJson);

const CHECK_OPTIONS: CheckOptions = {
  serializationNamespace: CORAL_SERVICE,
  validationNamespace: CORAL_VALIDATE,
  typeMessages: 'dynamodb',
};

export class DynamoDbStreamsService implements ServiceHandler {
  readonly targetPrefix = 'DynamoDBStreams_20120810';
  readonly contentType = 'application/x-amz-json-1.0';
  readonly signingName = 'dynamodb';
  readonly protocolErrorNamespace = CORAL_SERVICE;
  readonly #operations: ReadonlyMap<string, Operation<never, unknown>>;
  readonly #environments: RegionEnvironments;

  constructor(private readonly env: DynamoDbEnvironment) {
    this.#environments = new RegionEnvironments(env);
    this.#operations = new Map(operations.map((op) => [op.name, op]));
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

  async dispatch(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<unknown> {
    const op = this.#operations.get(operation);
    if (!op) throw new AwsError('UnknownOperationException', undefined, 400, CORAL_SERVICE);
    const checked = checkInput(model, operation, input, CHECK_OPTIONS);
    try {
      try {
        return await op.execute({ input: checked as never, ctx, env: this.#environments.of(ctx.region) });
      } finally {
        // Nothing read is answered before the writes it saw are committed (group commit).
        await this.env.tables.durable();
      }
    } catch (error) {
      if (error instanceof DamagedFileError) throw this.env.tables.damaged(error);
      throw error;
    }
  }
}
