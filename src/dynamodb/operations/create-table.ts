import { KeyAccessError } from '../../encryption/key-access-error.js';
import type { KeyChoice } from '../../encryption/table-keys.js';
import type { StreamSpecification } from '../../streams/definition.js';
import { checkNewTableStream, newTableStream } from '../../streams/specification.js';
import { invalidParameter, validationError } from '../errors.js';
import type { TableIndexes } from '../indexes/definition.js';
import { creatingDescription } from '../indexes/description.js';
import { type IndexInput, newTableIndexes, undefinedKeysError } from '../indexes/new-table.js';
import { kmsValidationError } from '../kms-errors.js';
import type { Operation } from '../operation.js';
import { keyChoice, type SseSpecification } from '../sse.js';
import type { BillingMode, TableDefinition } from '../table-definition.js';
import { tableDescription } from '../table-description.js';
import { coralValidation, resolveTableName } from '../table-name.js';
import type { AttributeDefinition, KeySchemaElement } from '../table-schema.js';
import type { NewTable } from '../tables.js';
import { checkTagLimit, type Tag, validateTags } from './tags.js';

export interface CreateTableInput {
  TableName: string;
  AttributeDefinitions?: AttributeDefinition[];
  KeySchema?: KeySchemaElement[];
  LocalSecondaryIndexes?: IndexInput[];
  GlobalSecondaryIndexes?: IndexInput[];
  BillingMode?: BillingMode;
  ProvisionedThroughput?: { ReadCapacityUnits: number; WriteCapacityUnits: number };
  StreamSpecification?: StreamSpecification;
  Tags?: Tag[];
  SSESpecification?: SseSpecification;
  TableClass?: TableDefinition['TableClass'];
  DeletionProtectionEnabled?: boolean;
}

/** DynamoDB's upper bound on provisioned capacity units. */
const MAX_CAPACITY_UNITS = 1_000_000_000_000;

function validate(input: CreateTableInput): {
  attributes: AttributeDefinition[];
  keySchema: KeySchemaElement[];
  tags: Record<string, string>;
  indexes: TableIndexes;
} {
  const missing: string[] = [];
  if (!input.AttributeDefinitions) missing.push('attributeDefinitions');
  if (!input.KeySchema) missing.push('keySchema');
  if (missing.length > 0) {
    throw coralValidation(
      missing.map((m) => `Value null at '${m}' failed to satisfy constraint: Member must not be null`),
    );
  }
  const attributes = input.AttributeDefinitions as AttributeDefinition[];
  const keySchema = input.KeySchema as KeySchemaElement[];
  if (input.StreamSpecification) checkNewTableStream(input.StreamSpecification);
  const billingMode = input.BillingMode ?? 'PROVISIONED';
  const throughput = input.ProvisionedThroughput;
  if (billingMode === 'PROVISIONED') {
    if (!throughput) {
      throw invalidParameter(
        'ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED',
      );
    }
    for (const member of ['ReadCapacityUnits', 'WriteCapacityUnits'] as const) {
      if (throughput[member] > MAX_CAPACITY_UNITS) {
        throw validationError(`Given value ${throughput[member]} for ${member} is out of bounds`);
      }
    }
  } else if (throughput) {
    throw invalidParameter(
      'Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST',
    );
  }

  const defined = attributes.map((a) => a.AttributeName);
  const keys = keySchema.map((k) => k.AttributeName);
  if (keys.length === 2 && (keys.some((k) => !defined.includes(k)) || (keys[0] === keys[1] && defined.length === 1))) {
    throw validationError('Invalid KeySchema: Some index key attribute have no definition');
  }
  if (keys.length === 1 && keys.some((k) => !defined.includes(k))) throw undefinedKeysError(keys, defined);
  if (keys.length === 2 && keys[0] === keys[1]) {
    throw validationError('Both the Hash Key and the Range Key element in the KeySchema have the same name');
  }
  if (keySchema[0]?.KeyType !== 'HASH') {
    throw validationError('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  }
  if (keySchema[1] && keySchema[1].KeyType !== 'RANGE') {
    throw validationError('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
  }
  const duplicate = defined.find((name, i) => defined.indexOf(name) !== i);
  if (duplicate !== undefined) {
    // DynamoDB's message, as recorded against it by ack-api-quirks (DDB-TABLE-042).
    throw validationError(`Attribute Name is duplicated: ${duplicate}`);
  }
  // Also refuses AttributeDefinitions that no key uses, in its place among the index rules.
  const indexes = newTableIndexes({
    local: input.LocalSecondaryIndexes,
    global: input.GlobalSecondaryIndexes,
    tableKeySchema: keySchema,
    attributes,
    billingMode,
  });
  const tags = input.Tags ? validateTags(input.Tags) : {};
  checkTagLimit(Object.keys(tags).length);
  return { attributes, keySchema, tags, indexes };
}

export const createTable: Operation<CreateTableInput> = {
  name: 'CreateTable',
  async execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const { table, choice } = newTableOf(input, name, env.clock.now() / 1000);
    const definition = await createWithKeyErrors(() => env.tables.create(ctx.principal.accountId, table, choice, ctx));
    // The table is usable at once; the response still says CREATING, as DynamoDB's does.
    return { TableDescription: creatingDescription(tableDescription(definition)) };
  },
};

/**
 * The table a CreateTable input asks for, checked under DynamoDB's rules (ImportTable's
 * TableCreationParameters too). `now` in epoch seconds: DynamoDB shows a new table's creation
 * and billing-mode times as equal.
 */
export function newTableOf(input: CreateTableInput, name: string, now: number): { table: NewTable; choice: KeyChoice } {
  const { attributes, keySchema, tags, indexes } = validate(input);
  const choice = keyChoice(input.SSESpecification);
  const billingMode = input.BillingMode ?? 'PROVISIONED';
  return {
    choice,
    table: {
      TableName: name,
      CreationDateTime: now,
      AttributeDefinitions: attributes,
      KeySchema: keySchema,
      ...indexes,
      ...newTableStream(input.StreamSpecification, indexes.NextIndexSpace, now * 1000),
      BillingMode: billingMode,
      ...(input.BillingMode ? { BillingModeLastUpdateDateTime: now } : {}),
      ProvisionedThroughput: {
        ReadCapacityUnits: input.ProvisionedThroughput?.ReadCapacityUnits ?? 0,
        WriteCapacityUnits: input.ProvisionedThroughput?.WriteCapacityUnits ?? 0,
        NumberOfDecreasesToday: 0,
      },
      TableClass: input.TableClass ?? 'STANDARD',
      DeletionProtectionEnabled: input.DeletionProtectionEnabled ?? false,
      Tags: tags,
    },
  };
}

/** A KMS key that cannot be used for a new table is the request's fault, reported as DynamoDB does. */
export async function createWithKeyErrors<T>(create: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (error) {
    if (error instanceof KeyAccessError) throw kmsValidationError(error);
    throw error;
  }
}
