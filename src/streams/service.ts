/**
 * DynamoDB Streams' JSON 1.0 API (`DynamoDBStreams_20120810.*`) on the same port as DynamoDB:
 * model validation first, then the operation. SigV4 signs it as service `dynamodb` (the model's
 * signingName), so one set of credentials and one endpoint URL serve both.
 */
import type { DynamoDbEnvironment, Operation } from '../dynamodb/operation.js';
import { TableApiService } from '../dynamodb/service.js';
import { loadModel } from '../validation/model.js';
import { internalServerError } from './errors.js';
import modelJson from './model.json' with { type: 'json' };
import { operations } from './operations/index.js';

const model = loadModel(modelJson);

export class DynamoDbStreamsService extends TableApiService {
  constructor(env: DynamoDbEnvironment) {
    super(
      {
        targetPrefix: 'DynamoDBStreams_20120810',
        model,
        operations: operations as readonly Operation<never, unknown>[],
        internalError: internalServerError,
      },
      env,
    );
  }
}
