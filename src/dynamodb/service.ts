/** DynamoDB's JSON 1.0 API: model validation first, then the operation. */
import { AwsError, CORAL_SERVICE, CORAL_VALIDATE } from '../http/aws-error.js';
import type { CallContext, ServiceHandler } from '../http/service.js';
import { DamagedFileError } from '../storage/damage.js';
import type { CheckOptions } from '../validation/checker.js';
import { type CompactModel, loadModel } from '../validation/model.js';
import { type CheckVerdict, checkInputOnce, type ModelCheck } from '../validation/off-thread.js';
import { internalServerError } from './errors.js';
import modelJson from './model.json' with { type: 'json' };
import { type DynamoDbEnvironment, type Operation, RegionEnvironments } from './operation.js';
import { operations } from './operations/index.js';

const model = loadModel(modelJson);

/**
 * Operations that only read: over an engine they fetch without holding a transaction (each
 * fetch is one consistent statement). TransactGetItems is not among them: it reads one snapshot.
 */
const READ_ONLY = new Set([
  'GetItem',
  'BatchGetItem',
  'Query',
  'Scan',
  'DescribeTable',
  'ListTables',
  'DescribeTimeToLive',
  'ListTagsOfResource',
  'DescribeLimits',
  'DescribeEndpoints',
  'DescribeStream',
  'ListStreams',
  'GetShardIterator',
  'GetRecords',
  // The backup operations read the tables only: what they keep goes to the backup storage on its
  // own (a CreateBackup run again would start a second copy), not through the unit.
  'CreateBackup',
  'DescribeBackup',
  'ListBackups',
  'DeleteBackup',
]);

/** How DynamoDB and DynamoDB Streams (the same Coral service family) check their input. */
export const TABLE_API_CHECK_OPTIONS: CheckOptions = {
  serializationNamespace: CORAL_SERVICE,
  validationNamespace: CORAL_VALIDATE,
  typeMessages: 'dynamodb',
};

/** What tells one JSON 1.0 API over the tables apart from another (DynamoDB, DynamoDB Streams). */
export interface TableApi {
  readonly targetPrefix: string;
  readonly model: CompactModel;
  readonly operations: readonly Operation<never, unknown>[];
  readonly internalError: () => AwsError;
  /** Where large bodies are model-checked (and their items checked) off the event loop (absent: on it). */
  readonly offThreadCheck?: ModelCheck;
}

/**
 * A JSON 1.0 API over the tables, signed as service `dynamodb`: model validation first, then the
 * operation in the caller's region, answered only once its writes are committed.
 */
export class TableApiService implements ServiceHandler {
  readonly targetPrefix: string;
  readonly contentType = 'application/x-amz-json-1.0';
  readonly signingName = 'dynamodb';
  readonly protocolErrorNamespace = CORAL_SERVICE;
  readonly offThreadCheck?: ModelCheck;
  readonly #api: TableApi;
  readonly #operations: ReadonlyMap<string, Operation<never, unknown>>;
  readonly #environments: RegionEnvironments;

  constructor(
    api: TableApi,
    private readonly env: DynamoDbEnvironment,
  ) {
    this.#api = api;
    this.targetPrefix = api.targetPrefix;
    if (api.offThreadCheck) this.offThreadCheck = api.offThreadCheck;
    this.#environments = new RegionEnvironments(env);
    this.#operations = new Map(api.operations.map((op) => [op.name, op]));
  }

  hasOperation(operation: string): boolean {
    return this.#operations.has(operation);
  }

  modelHasOperation(operation: string): boolean {
    return this.#api.model.operations.has(operation);
  }

  internalError(): AwsError {
    return this.#api.internalError();
  }

  async dispatch(
    operation: string,
    input: Record<string, unknown>,
    ctx: CallContext,
    verdict?: CheckVerdict,
  ): Promise<unknown> {
    const op = this.#operations.get(operation);
    if (!op) throw new AwsError('UnknownOperationException', undefined, 400, CORAL_SERVICE);
    const checked = checkInputOnce(this.#api.model, operation, input, TABLE_API_CHECK_OPTIONS, verdict);
    try {
      try {
        const env = this.#environments.of(ctx.region);
        const prepared = verdict?.valid ? verdict.prepared : undefined;
        return await this.env.tables.run(
          () =>
            op.execute({ input: checked as never, ctx, env, ...(prepared ? { prepared } : {}) }) as Promise<unknown>,
          READ_ONLY.has(operation) ? 'read' : 'write',
        );
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

export class DynamoDbService extends TableApiService {
  constructor(env: DynamoDbEnvironment) {
    super(
      {
        targetPrefix: 'DynamoDB_20120810',
        model,
        operations: operations as Operation<never, unknown>[],
        internalError: () => internalServerError(),
        offThreadCheck: {
          modelUrl: new URL('./model.json', import.meta.url).href,
          options: TABLE_API_CHECK_OPTIONS,
          preparerUrl: new URL('./item-checks/prepare.js', import.meta.url).href,
        },
      },
      env,
    );
  }
}
