/**
 * The secondary indexes of a CreateTable request, checked as DynamoDB checks them, as stored
 * definitions; and the check that every AttributeDefinition is used by some key.
 *
 * DynamoDB's order, as far as its recorded answers show it (each rule cites its source):
 *  1. each list: not empty; LSIs only on a table with a sort key; then every index's key schema
 *     (LSIs first, then GSIs): its attributes defined, its elements well formed;
 *  2. every AttributeDefinition used by the table's or an index's key (checked before every
 *     projection, throughput and name rule, ack-api-quirks DDB-TABLE-127);
 *  3. each index's projection, then (GSIs) throughput, then its name unique; the per-table count
 *     after each list; the total of projected non-key attributes last.
 * The Coral constraints of the model (index name pattern and length, key schema length, projection
 * present, 1..20 NonKeyAttributes, capacity >= 1) have already been checked by the generic checker.
 */
import { invalidParameter, validationError } from '../errors.js';
import { javaHashSetOrder, javaList } from '../java-set-order.js';
import type { BillingMode } from '../table-definition.js';
import type { AttributeDefinition, KeySchemaElement } from '../table-schema.js';
import type {
  IndexProjection,
  OnDemandThroughputState,
  ProjectionType,
  SecondaryIndexDefinition,
  TableIndexes,
  WarmThroughputState,
} from './definition.js';

/** An element of LocalSecondaryIndexes or GlobalSecondaryIndexes after the generic checker. */
export interface IndexInput {
  IndexName: string;
  KeySchema: KeySchemaElement[];
  Projection: { ProjectionType?: ProjectionType; NonKeyAttributes?: string[] };
  /** GSIs only (the model has no such members on an LSI). */
  ProvisionedThroughput?: { ReadCapacityUnits: number; WriteCapacityUnits: number };
  OnDemandThroughput?: OnDemandThroughputState;
  WarmThroughput?: WarmThroughputState;
}

export interface NewTableRequest {
  readonly local: readonly IndexInput[] | undefined;
  readonly global: readonly IndexInput[] | undefined;
  readonly tableKeySchema: readonly KeySchemaElement[];
  readonly attributes: readonly AttributeDefinition[];
  readonly billingMode: BillingMode;
}

/** DynamoDB's per-table limits (CreateTable documentation in the API model). */
export const MAX_LOCAL_INDEXES = 5;
export const MAX_GLOBAL_INDEXES = 20;
/** Multi-attribute GSI keys: up to 4 partition-key and 4 sort-key attributes. */
export const MAX_KEY_ATTRIBUTES_PER_ROLE = 4;
/** NonKeyAttributes summed over every INCLUDE index of the table (API model, CreateTable). */
export const MAX_PROJECTED_ATTRIBUTES = 100;

/** Where DynamoDB's message about warm throughput below the on-demand start points (DDB-TABLE-039). */
const ON_DEMAND_INITIAL_THROUGHPUT =
  'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/on-demand-capacity-mode.html#on-demand-capacity-mode-initial';
/** What an on-demand table or GSI starts with, shown as its WarmThroughput (DDB-TABLE-134). */
export const ON_DEMAND_WARM_THROUGHPUT = { ReadUnitsPerSecond: 12000, WriteUnitsPerSecond: 4000 } as const;

/**
 * The index fields of the new table's definition (none when the request names no index), after
 * every check above; also refuses AttributeDefinitions no key uses.
 */
export function newTableIndexes(request: NewTableRequest): TableIndexes {
  const { local, global, tableKeySchema, attributes } = request;
  const defined = attributes.map((a) => a.AttributeName);
  const definedSet = new Set(defined);

  if (local) {
    // dynalite test/createTable.js "empty LocalSecondaryIndexes list" (recorded against DynamoDB;
    // also ack-api-quirks DDB-TABLE-043): before the unused-definition check.
    if (local.length === 0) throw invalidParameter('List of LocalSecondaryIndexes is empty');
    // dynalite "no range key with LocalSecondaryIndex": before the index's own key checks.
    if (tableKeySchema.length < 2) {
      throw invalidParameter(
        'Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex',
      );
    }
    const tableHash = tableKeySchema[0]?.AttributeName as string;
    for (const index of local) checkLocalKeySchema(index, tableHash, definedSet, defined);
  }
  if (global) {
    // dynalite "empty GlobalSecondaryIndexes list"; ack-api-quirks DDB-TABLE-043.
    if (global.length === 0) throw invalidParameter('List of GlobalSecondaryIndexes is empty');
    for (const index of global) checkGlobalKeySchema(index, definedSet, defined);
  }
  const indexes = [...(local ?? []), ...(global ?? [])];
  checkDefinitionsUsed(tableKeySchema, indexes, attributes, local !== undefined || global !== undefined);
  if (!local && !global) return {};

  const names = new Set<string>();
  for (const index of local ?? []) {
    checkProjection(index.Projection);
    checkUniqueName(index.IndexName, names);
  }
  // dynalite "more than five valid LocalSecondaryIndexes"; ack-api-quirks DDB-TABLE-129.
  if (local && local.length > MAX_LOCAL_INDEXES) {
    throw invalidParameter(`Number of LocalSecondaryIndexes exceeds per-table limit of ${MAX_LOCAL_INDEXES}`);
  }
  for (const index of global ?? []) {
    checkProjection(index.Projection);
    checkGlobalThroughput(index, request.billingMode);
    checkUniqueName(index.IndexName, names);
  }
  // dynalite "more than twenty valid GlobalSecondaryIndexes"; ack-api-quirks DDB-TABLE-169.
  if (global && global.length > MAX_GLOBAL_INDEXES) {
    throw invalidParameter(`GlobalSecondaryIndex count exceeds the per-table limit of ${MAX_GLOBAL_INDEXES}`);
  }
  checkProjectedTotal(indexes);

  let space = 1;
  const localIndexes = local?.map((index) => ({ ...baseDefinition(index), Space: space++ }));
  const globalIndexes = global?.map((index) => ({
    ...baseDefinition(index),
    Space: space++,
    ...globalThroughput(index, request.billingMode),
  }));
  return {
    ...(localIndexes ? { LocalSecondaryIndexes: localIndexes } : {}),
    ...(globalIndexes ? { GlobalSecondaryIndexes: globalIndexes } : {}),
    NextIndexSpace: space,
  };
}

/**
 * The table-level message for a key attribute without a definition: the names as DynamoDB's
 * HashSets list them (dynalite "missing attribute definitions in LocalSecondaryIndex", recorded
 * in either order over the years; ack-api-quirks DDB-TABLE-127: `Keys: [q], AttributeDefinitions: [sk, pk]`).
 */
export function undefinedKeysError(keys: readonly string[], defined: readonly string[]) {
  return invalidParameter(
    `Some index key attributes are not defined in AttributeDefinitions. Keys: ${javaList(javaHashSetOrder(keys))}, AttributeDefinitions: ${javaList(javaHashSetOrder(defined))}`,
  );
}

function checkDefined(index: IndexInput, definedSet: ReadonlySet<string>, defined: readonly string[]): void {
  const keys = index.KeySchema.map((k) => k.AttributeName);
  // dynalite "missing attribute definitions in LocalSecondaryIndex / GlobalSecondaryIndex": first of
  // the index's checks, and it names this index's keys only.
  if (keys.some((k) => !definedSet.has(k))) throw undefinedKeysError(keys, defined);
}

/** An LSI key: the table's partition key, then exactly one sort key (the model bounds it to 2 elements). */
function checkLocalKeySchema(
  index: IndexInput,
  tableHash: string,
  definedSet: ReadonlySet<string>,
  defined: readonly string[],
): void {
  checkDefined(index, definedSet, defined);
  const [first, second] = index.KeySchema as [KeySchemaElement, KeySchemaElement | undefined];
  // The next five: dynalite test/createTable.js, the LocalSecondaryIndex cases, in this order.
  if (second && first.AttributeName === second.AttributeName) {
    throw validationError('Both the Hash Key and the Range Key element in the KeySchema have the same name');
  }
  if (first.KeyType !== 'HASH')
    throw validationError('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  if (second && second.KeyType !== 'RANGE') {
    throw validationError('Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
  }
  if (!second) {
    throw invalidParameter(`Index KeySchema does not have a range key for index: ${index.IndexName}`);
  }
  if (first.AttributeName !== tableHash) {
    throw invalidParameter(
      `Index KeySchema does not have the same leading hash key as table KeySchema for index: ${index.IndexName}. index hash key: ${first.AttributeName}, table hash key: ${tableHash}`,
    );
  }
  // An LSI whose sort key is the table's own is accepted (ack-api-quirks DDB-TABLE-129; dynalite's
  // "should succeed for LocalSecondaryIndexes" creates five of them).
}

/**
 * A GSI key: 1..4 HASH elements, then 0..4 RANGE elements, no attribute twice (multi-attribute
 * keys; ack-api-quirks DDB-TABLE-123 and DDB-TABLE-124, ScyllaDB test_gsi_composite_keys.py).
 */
function checkGlobalKeySchema(index: IndexInput, definedSet: ReadonlySet<string>, defined: readonly string[]): void {
  checkDefined(index, definedSet, defined);
  const keys = index.KeySchema;
  const names = keys.map((k) => k.AttributeName);
  if (new Set(names).size !== names.length) {
    throw validationError('The KeySchema contains multiple key attributes with the same name');
  }
  if (keys[0]?.KeyType !== 'HASH') {
    throw validationError('Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
  }
  const firstRange = keys.findIndex((k) => k.KeyType === 'RANGE');
  if (firstRange >= 0 && keys.slice(firstRange).some((k) => k.KeyType === 'HASH')) {
    throw invalidParameter('All HASH key attributes must precede RANGE key attributes in the KeySchema');
  }
  for (const role of ['HASH', 'RANGE'] as const) {
    if (keys.filter((k) => k.KeyType === role).length > MAX_KEY_ATTRIBUTES_PER_ROLE) {
      throw invalidParameter(`The KeySchema exceeds the maximum allowed number of ${role} key attributes`);
    }
  }
}

/**
 * Every AttributeDefinition must be some key's. Without indexes DynamoDB says so in its older
 * words (dynalite "extra attribute in definitions"); with them it lists the definitions as sent
 * and the keys used as a HashSet (ack-api-quirks DDB-TABLE-127: `AttributeDefinitions: [sk, a, b,
 * pk, c], keys used: [a, sk, pk]`; moto test_create_table_with_redundant_attributes).
 */
function checkDefinitionsUsed(
  tableKeySchema: readonly KeySchemaElement[],
  indexes: readonly IndexInput[],
  attributes: readonly AttributeDefinition[],
  withIndexes: boolean,
): void {
  const used = [
    ...tableKeySchema.map((k) => k.AttributeName),
    ...indexes.flatMap((index) => index.KeySchema.map((k) => k.AttributeName)),
  ];
  const usedSet = new Set(used);
  // Every key attribute is defined by now and no definition is repeated, so a size difference
  // means a definition no key uses.
  if (attributes.length === usedSet.size) return;
  if (!withIndexes) {
    throw invalidParameter(
      'Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions',
    );
  }
  throw invalidParameter(
    `Some AttributeDefinitions are not used. AttributeDefinitions: ${javaList(attributes.map((a) => a.AttributeName))}, keys used: ${javaList(javaHashSetOrder(used))}`,
  );
}

/** ack-api-quirks DDB-TABLE-126 and dynalite's Projection cases. */
function checkProjection(projection: IndexInput['Projection']): void {
  const type = projection.ProjectionType;
  if (type === undefined) throw invalidParameter('Unknown ProjectionType: null');
  const nonKey = projection.NonKeyAttributes;
  if (type !== 'INCLUDE' && nonKey !== undefined) {
    throw invalidParameter(`ProjectionType is ${type}, but NonKeyAttributes is specified`);
  }
  if (type === 'INCLUDE' && nonKey === undefined) {
    throw invalidParameter('ProjectionType is INCLUDE, but NonKeyAttributes is not specified');
  }
  const duplicate = nonKey?.find((name, i) => nonKey.indexOf(name) !== i);
  if (duplicate !== undefined) throw invalidParameter(`Duplicate element in NonKeyAttributes: ${duplicate}`);
  // Naming a key attribute in NonKeyAttributes is accepted (DDB-TABLE-126).
}

/** Names are unique across the table's LSIs and GSIs (dynalite "duplicate index names between ..."). */
function checkUniqueName(name: string, names: Set<string>): void {
  if (names.has(name)) throw invalidParameter(`Duplicate index name: ${name}`);
  names.add(name);
}

/** A GSI's throughput members against the table's billing mode (ack-api-quirks DDB-TABLE-128, DDB-TABLE-039). */
function checkGlobalThroughput(index: IndexInput, billingMode: BillingMode): void {
  const name = index.IndexName;
  const provisioned = index.ProvisionedThroughput;
  if (billingMode === 'PAY_PER_REQUEST') {
    // dynalite validations/createTable.js; DDB-TABLE-128.
    if (provisioned) {
      throw invalidParameter(
        `ProvisionedThroughput should not be specified for index: ${name} when BillingMode is PAY_PER_REQUEST`,
      );
    }
  } else if (!provisioned) {
    throw invalidParameter(`ProvisionedThroughput is not specified for index: ${name}`);
  }
  const onDemand = index.OnDemandThroughput ?? {};
  for (const member of ['MaxReadRequestUnits', 'MaxWriteRequestUnits'] as const) {
    const value = onDemand[member];
    if (value === undefined) continue;
    // DDB-TABLE-128 quotes this one without the usual prefix (DDB-TABLE-442: "a prefix-less variant").
    if (billingMode === 'PROVISIONED') {
      throw validationError(
        `${member} for OnDemandThroughput for index: ${name} cannot be specified when table BillingMode is PROVISIONED.`,
      );
    }
    // 0 and -1 alike at CreateTable (DDB-TABLE-128, DDB-TABLE-039); -1 only clears a cap in UpdateTable.
    if (value <= 0) {
      throw invalidParameter(
        `Requested ${member} for OnDemandThroughput for index : ${name} is outside of valid range`,
      );
    }
  }
  const warm = index.WarmThroughput ?? {};
  const floors =
    billingMode === 'PAY_PER_REQUEST'
      ? undefined
      : {
          ReadUnitsPerSecond: provisioned?.ReadCapacityUnits ?? 0,
          WriteUnitsPerSecond: provisioned?.WriteCapacityUnits ?? 0,
        };
  for (const member of ['ReadUnitsPerSecond', 'WriteUnitsPerSecond'] as const) {
    const value = warm[member];
    if (value === undefined) continue;
    if (!floors) {
      if (value < ON_DEMAND_WARM_THROUGHPUT[member]) {
        throw invalidParameter(
          `Requested ${member} for WarmThroughput for index ${name} is lower than initial throughput for OnDemand. See: ${ON_DEMAND_INITIAL_THROUGHPUT}`,
        );
      }
    } else if (value < floors[member]) {
      const capacity = member === 'ReadUnitsPerSecond' ? 'ReadCapacityUnits' : 'WriteCapacityUnits';
      throw invalidParameter(
        `Requested ${member} for WarmThroughput for index ${name} is lower than ${capacity} of ProvisionedThroughput`,
      );
    }
  }
}

/**
 * At most 100 NonKeyAttributes over all INCLUDE indexes, a name in two indexes counting twice (API
 * model, CreateTable). The message is the one quoted by a CloudFormation linter rule
 * (pf-dynamodb-projection-nonkey-total), with DynamoDB's prefix and count suffix.
 */
function checkProjectedTotal(indexes: readonly IndexInput[]): void {
  const total = indexes.reduce((sum, index) => sum + (index.Projection.NonKeyAttributes?.length ?? 0), 0);
  if (total > MAX_PROJECTED_ATTRIBUTES) {
    throw invalidParameter(
      `Number of projected attributes in all indexes exceeds limit of ${MAX_PROJECTED_ATTRIBUTES}, number of projected attributes:${total}`,
    );
  }
}

function baseDefinition(index: IndexInput): Omit<SecondaryIndexDefinition, 'Space'> {
  const projection: IndexProjection = {
    ProjectionType: index.Projection.ProjectionType as ProjectionType,
    ...(index.Projection.NonKeyAttributes ? { NonKeyAttributes: [...index.Projection.NonKeyAttributes] } : {}),
  };
  return {
    IndexName: index.IndexName,
    KeySchema: index.KeySchema.map((k) => ({ AttributeName: k.AttributeName, KeyType: k.KeyType })),
    Projection: projection,
    // sealdb's indexes are usable at once; CreateTable's answer still says CREATING (create-table.ts).
    IndexStatus: 'ACTIVE',
  };
}

function globalThroughput(index: IndexInput, billingMode: BillingMode): Partial<SecondaryIndexDefinition> {
  const provisioned = billingMode === 'PROVISIONED' ? index.ProvisionedThroughput : undefined;
  const onDemand = index.OnDemandThroughput;
  const warm = index.WarmThroughput;
  return {
    ProvisionedThroughput: {
      ReadCapacityUnits: provisioned?.ReadCapacityUnits ?? 0,
      WriteCapacityUnits: provisioned?.WriteCapacityUnits ?? 0,
      NumberOfDecreasesToday: 0,
    },
    ...(onDemand && Object.keys(onDemand).length > 0 ? { OnDemandThroughput: { ...onDemand } } : {}),
    ...(warm && Object.keys(warm).length > 0 ? { WarmThroughput: { ...warm } } : {}),
  };
}
