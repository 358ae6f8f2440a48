/**
 * The secondary indexes of a CreateTable request, checked against the table's key schema and
 * attribute definitions, as stored definitions.
 */
import { invalidParameter, validationError } from '../errors.js';
import type { BillingMode } from '../table-definition.js';
import type { AttributeDefinition, KeySchemaElement } from '../table-schema.js';
import type { IndexProjection, SecondaryIndexDefinition, TableIndexes } from './definition.js';

export interface IndexInput {
  IndexName: string;
  KeySchema: KeySchemaElement[];
  Projection: IndexProjection;
  ProvisionedThroughput?: { ReadCapacityUnits: number; WriteCapacityUnits: number };
  OnDemandThroughput?: { MaxReadRequestUnits?: number; MaxWriteRequestUnits?: number };
}

export interface NewTableIndexes {
  readonly indexes: TableIndexes;
  /** Every attribute an index key uses (for the check that each AttributeDefinition is used). */
  readonly keyAttributes: ReadonlySet<string>;
}

export function newTableIndexes(
  local: readonly IndexInput[] | undefined,
  global: readonly IndexInput[] | undefined,
  tableKeySchema: readonly KeySchemaElement[],
  attributes: readonly AttributeDefinition[],
  billingMode: BillingMode,
): NewTableIndexes {
  const keyAttributes = new Set<string>();
  if (!local && !global) return { indexes: {}, keyAttributes };
  const defined = new Set(attributes.map((a) => a.AttributeName));
  const names = new Set<string>();
  let space = 1;
  const make = (input: IndexInput, isLocal: boolean): SecondaryIndexDefinition => {
    if (names.has(input.IndexName)) throw validationError(`Duplicate index name: ${input.IndexName}`);
    names.add(input.IndexName);
    for (const element of input.KeySchema) {
      if (!defined.has(element.AttributeName)) {
        throw validationError(
          `One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [${input.KeySchema.map((k) => k.AttributeName).join(', ')}], AttributeDefinitions: [${[...defined].join(', ')}]`,
        );
      }
      keyAttributes.add(element.AttributeName);
    }
    if (isLocal) {
      const tableHash = tableKeySchema.find((k) => k.KeyType === 'HASH')?.AttributeName;
      const hash = input.KeySchema.find((k) => k.KeyType === 'HASH')?.AttributeName;
      if (hash !== tableHash) {
        throw invalidParameter(
          `Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex`,
        );
      }
    }
    const throughput = input.ProvisionedThroughput;
    return {
      IndexName: input.IndexName,
      KeySchema: input.KeySchema,
      Projection: input.Projection,
      Space: space++,
      IndexStatus: 'ACTIVE',
      ...(!isLocal
        ? {
            ProvisionedThroughput: {
              ReadCapacityUnits: billingMode === 'PROVISIONED' ? (throughput?.ReadCapacityUnits ?? 0) : 0,
              WriteCapacityUnits: billingMode === 'PROVISIONED' ? (throughput?.WriteCapacityUnits ?? 0) : 0,
              NumberOfDecreasesToday: 0,
            },
            ...(input.OnDemandThroughput ? { OnDemandThroughput: input.OnDemandThroughput } : {}),
          }
        : {}),
    };
  };
  const localIndexes = local?.map((i) => make(i, true));
  const globalIndexes = global?.map((i) => make(i, false));
  return {
    indexes: {
      ...(localIndexes ? { LocalSecondaryIndexes: localIndexes } : {}),
      ...(globalIndexes ? { GlobalSecondaryIndexes: globalIndexes } : {}),
      NextIndexSpace: space,
    },
    keyAttributes,
  };
}
