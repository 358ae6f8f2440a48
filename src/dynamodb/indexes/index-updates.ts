/**
 * UpdateTable's GlobalSecondaryIndexUpdates: Create (a new GSI, backfilled online), Delete (its
 * entries dropped in the background) and Update (its throughput), with DynamoDB's rules for which
 * actions may go together, on which table states, and its exact messages.
 *
 * Sources, cited beside the rules: dynalite's test/updateTable.js (recorded against DynamoDB),
 * ScyllaDB Alternator's test/alternator/test_gsi_updatetable.py (run against DynamoDB), and the
 * ack-api-quirks DynamoDB lab findings (DDB-TABLE-nnn, probed against DynamoDB in 2026).
 */
import { invalidParameter, limitExceeded, resourceInUse, resourceNotFound, validationError } from '../errors.js';
import type { BillingMode, ProvisionedThroughputState, TableDefinition } from '../table-definition.js';
import { coralValidation } from '../table-name.js';
import type { AttributeDefinition, KeySchemaElement } from '../table-schema.js';
import type { OnDemandThroughputState, SecondaryIndexDefinition } from './definition.js';
import { type IndexInput, newTableIndexes } from './new-table.js';

export interface CreateIndexAction extends IndexInput {}

export interface UpdateIndexAction {
  IndexName: string;
  ProvisionedThroughput?: { ReadCapacityUnits: number; WriteCapacityUnits: number };
  OnDemandThroughput?: OnDemandThroughputState;
}

export interface IndexUpdate {
  Create?: CreateIndexAction;
  Update?: UpdateIndexAction;
  Delete?: { IndexName: string };
}

/** The members of an UpdateTable request these rules look at. */
export interface IndexUpdatesInput {
  TableName: string;
  AttributeDefinitions?: AttributeDefinition[];
  BillingMode?: BillingMode;
  ProvisionedThroughput?: unknown;
  GlobalSecondaryIndexUpdates?: IndexUpdate[];
  StreamSpecification?: unknown;
  SSESpecification?: unknown;
  TableClass?: unknown;
  DeletionProtectionEnabled?: boolean;
}

/** DynamoDB's per-table quota of GSIs (DDB-TABLE-169). */
const MAX_GLOBAL_INDEXES = 20;
const MAX_CAPACITY_UNITS = 1_000_000_000_000;

const ONE_AT_A_TIME =
  'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table';

type Action =
  | { readonly kind: 'Create'; readonly create: CreateIndexAction }
  | { readonly kind: 'Update'; readonly update: UpdateIndexAction }
  | { readonly kind: 'Delete'; readonly name: string };

/**
 * The checks that need no table: each entry holds exactly one action, no index twice, and the
 * other members of the request may go with them. Runs before the table is looked up, as DynamoDB
 * answers these for a table that does not exist too (dynalite: "repeated GlobalSecondaryIndexUpdates").
 */
export function checkIndexUpdateRequest(input: IndexUpdatesInput): void {
  const updates = input.GlobalSecondaryIndexUpdates;
  if (!updates) return;
  // An empty list counts as absent for "At least one of ..." (checked before this), and is
  // refused once another member makes the request valid (DDB-TABLE-359).
  if (updates.length === 0) throw invalidParameter('List of GlobalSecondaryIndexUpdates is empty');
  const actions = updates.map(actionOf);
  const seen = new Set<string>();
  for (const action of actions) {
    const name = nameOf(action);
    // DDB-TABLE-160; dynalite "repeated GlobalSecondaryIndexUpdates".
    if (seen.has(name)) {
      throw invalidParameter(
        `Only one global secondary index update per index is allowed simultaneously. Index: ${name}`,
      );
    }
    seen.add(name);
  }
  // DDB-TABLE-174: SSE, TableClass and DeletionProtection changes go alone; table IOPS and
  // stream changes may not go with a Create or Delete (a GSI Update may go with table IOPS).
  if (input.SSESpecification !== undefined) {
    throw invalidParameter('Server-Side Encryption modification must be the only operation in the request');
  }
  if (input.TableClass !== undefined) {
    throw invalidParameter('TableClass modification must be the only operation in the request');
  }
  if (input.DeletionProtectionEnabled !== undefined) {
    throw invalidParameter('DeletionProtection modification must be the only operation in the request');
  }
  const online = actions.filter((a) => a.kind !== 'Update').length;
  if (online > 0 && input.ProvisionedThroughput !== undefined) {
    throw invalidParameter('You cannot create or delete index while updating table IOPS');
  }
  if (online > 0 && input.StreamSpecification !== undefined) {
    throw invalidParameter('You cannot create or delete index while changing stream status');
  }
  // Two Creates, two Deletes or one of each (DDB-TABLE-159; Alternator test_gsi_updatetable_errors;
  // dynalite "too many GlobalSecondaryIndexUpdates"): LimitExceededException, not a validation error.
  if (online > 1) throw limitExceeded(ONE_AT_A_TIME);
}

function actionOf(update: IndexUpdate): Action {
  const present = [update.Create, update.Update, update.Delete].filter((a) => a !== undefined).length;
  // DDB-TABLE-160; dynalite "empty index struct"; Alternator test_gsi_updatetable_errors.
  if (present === 0) {
    throw invalidParameter(
      'One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null',
    );
  }
  if (present > 1) {
    throw invalidParameter('Only one global secondary index action is allowed per GlobalSecondaryIndexUpdate object');
  }
  if (update.Create) return { kind: 'Create', create: update.Create };
  if (update.Update) return { kind: 'Update', update: update.Update };
  return { kind: 'Delete', name: (update.Delete as { IndexName: string }).IndexName };
}

const nameOf = (action: Action): string =>
  action.kind === 'Create' ? action.create.IndexName : action.kind === 'Update' ? action.update.IndexName : action.name;

/** What an UpdateTable does to the indexes, checked against the table. */
export interface IndexUpdatePlan {
  /** The same changes on the latest definition (the one stored when the request is applied). */
  apply(definition: TableDefinition): TableDefinition;
  /** A Create or Delete: there is background work for the table. */
  readonly startsJob: boolean;
}

/**
 * Checks the request's index changes against the table (and a billing-mode switch against its
 * GSIs); undefined when the request changes no index. Throws DynamoDB's error otherwise.
 */
export function planIndexUpdates(
  input: IndexUpdatesInput,
  table: TableDefinition,
  nowSeconds: number,
): IndexUpdatePlan | undefined {
  const actions = (input.GlobalSecondaryIndexUpdates ?? []).map(actionOf);
  const billingMode = input.BillingMode ?? table.BillingMode;
  const switchesToProvisioned = billingMode === 'PROVISIONED' && table.BillingMode === 'PAY_PER_REQUEST';
  const switchesToOnDemand = billingMode === 'PAY_PER_REQUEST' && table.BillingMode === 'PROVISIONED';
  if (actions.length === 0 && !switchesToProvisioned && !switchesToOnDemand) return undefined;

  const global = table.GlobalSecondaryIndexes ?? [];
  const local = table.LocalSecondaryIndexes ?? [];
  const find = (name: string) => global.find((g) => g.IndexName === name);
  const busy = global.filter((g) => g.IndexStatus === 'CREATING' || g.IndexStatus === 'DELETING');
  const steps: ((definition: TableDefinition) => TableDefinition)[] = [];

  for (const action of actions) {
    // A Create or Delete while another index is CREATING (either phase) or DELETING (DDB-TABLE-159);
    // the index being built may itself be deleted (DDB-TABLE-149).
    const stopsBackfill = (g: SecondaryIndexDefinition) =>
      action.kind === 'Delete' && g.IndexName === action.name && g.IndexStatus === 'CREATING';
    if (action.kind !== 'Update' && busy.some((g) => !stopsBackfill(g))) throw limitExceeded(ONE_AT_A_TIME);
    if (action.kind === 'Create') steps.push(planCreate(action.create, input, table, billingMode));
    else {
      const name = nameOf(action);
      const index = find(name);
      if (!index) {
        // An LSI cannot be changed here; an unknown name is not found (ack-api-quirks catalogue
        // DDB-TABLE-442: "Cannot delete an index that is not a GlobalSecondaryIndex", "Cannot update
        // ..."; DDB-TABLE-375/380: "Requested resource not found: Index <name> for table <table>").
        if (local.some((l) => l.IndexName === name)) {
          throw validationError(
            `Cannot ${action.kind === 'Delete' ? 'delete' : 'update'} an index that is not a GlobalSecondaryIndex: ${name}`,
          );
        }
        throw resourceNotFound(`Requested resource not found: Index ${name} for table ${table.TableName}`);
      }
      if (action.kind === 'Delete') steps.push(planDelete(index));
      else steps.push(planUpdate(action.update, index, table, billingMode, nowSeconds));
    }
  }

  if (switchesToProvisioned) {
    // Nothing is assigned: every GSI needs its throughput in the same request (DDB-TABLE-152).
    for (const index of global) {
      if (index.IndexStatus === 'DELETING') continue;
      const updated = actions.some((a) => a.kind === 'Update' && a.update.IndexName === index.IndexName);
      if (!updated) throw invalidParameter(`ProvisionedThroughput must be specified for index: ${index.IndexName}`);
    }
  }
  // A billing switch drops the OnDemandThroughput of the GSIs (DDB-TABLE-153).
  if (switchesToProvisioned) steps.push(mapGlobal((index) => withoutOnDemand(index)));
  return {
    apply: (definition) => steps.reduce((next, step) => step(next), definition),
    startsJob: actions.some((a) => a.kind !== 'Update'),
  };
}

function planCreate(
  create: CreateIndexAction,
  input: IndexUpdatesInput,
  table: TableDefinition,
  billingMode: BillingMode,
): (definition: TableDefinition) => TableDefinition {
  const name = create.IndexName;
  const all = [...(table.LocalSecondaryIndexes ?? []), ...(table.GlobalSecondaryIndexes ?? [])];
  // Before its schema is looked at (Alternator test_gsi_backfill*: "already exists"; the ack-api-quirks
  // catalogue's text; an existing-index check beats schema validation).
  if (all.some((i) => i.IndexName === name))
    throw validationError('Attempting to create an index which already exists');
  if ((table.GlobalSecondaryIndexes ?? []).length >= MAX_GLOBAL_INDEXES) {
    // A ValidationException at CreateTable, a LimitExceededException here (DDB-TABLE-169).
    throw limitExceeded(
      `Subscriber limit exceeded: Number of global secondary indexes exceeds per-table limit of ${MAX_GLOBAL_INDEXES}`,
    );
  }
  // Needed even when the table defines the key attributes already (DDB-TABLE-162; Alternator
  // test_gsi_backfill_with_lsi); the new key's attributes alone are enough.
  if (!input.AttributeDefinitions) throw invalidParameter(`AttributeDefinitions is not specified for index: ${name}`);
  const attributes = keyAttributeDefinitions(create.KeySchema, input.AttributeDefinitions, table);
  checkCreateThroughput(create, billingMode);
  // The key schema, projection and attribute rules of CreateTable's GSIs (one index, the table's
  // attributes and the new ones).
  // Only the attributes of the table's and this index's keys: those of other indexes are not this call's.
  const keyNames = new Set([...table.KeySchema, ...create.KeySchema].map((k) => k.AttributeName));
  const parsed = newTableIndexes({
    local: undefined,
    global: [create],
    tableKeySchema: table.KeySchema,
    attributes: attributes.filter((a) => keyNames.has(a.AttributeName)),
    billingMode,
  }).GlobalSecondaryIndexes?.[0];
  if (!parsed) throw new Error('newTableIndexes returned no index');
  return (definition) => {
    const space = definition.NextIndexSpace ?? nextSpace(definition);
    const index: SecondaryIndexDefinition = {
      ...parsed,
      Space: space,
      IndexStatus: 'CREATING',
      // sealdb has no resource-allocation phase: the backfill starts at once (DDB-TABLE-138 shows
      // Backfilling true for the whole backfill of a GSI added by UpdateTable).
      Backfilling: true,
    };
    const known = new Set(definition.AttributeDefinitions.map((a) => a.AttributeName));
    return {
      ...definition,
      AttributeDefinitions: [
        ...definition.AttributeDefinitions,
        ...attributes.filter((a) => !known.has(a.AttributeName)),
      ],
      GlobalSecondaryIndexes: [...(definition.GlobalSecondaryIndexes ?? []), index],
      NextIndexSpace: space + 1,
    };
  };
}

/**
 * The table's attribute definitions plus the request's for the new key. Other entries of the
 * request are ignored, as DynamoDB ignores them (DDB-TABLE-162), but a key attribute may not
 * change type (Alternator test_gsi_key_type_conflict_on_update quotes DynamoDB's message).
 */
function keyAttributeDefinitions(
  keySchema: readonly KeySchemaElement[],
  requested: readonly AttributeDefinition[],
  table: TableDefinition,
): AttributeDefinition[] {
  const existing = new Map(table.AttributeDefinitions.map((a) => [a.AttributeName, a.AttributeType]));
  const out = [...table.AttributeDefinitions];
  for (const element of keySchema) {
    const wanted = requested.find((a) => a.AttributeName === element.AttributeName);
    if (!wanted) continue;
    const had = existing.get(element.AttributeName);
    if (had === undefined) {
      out.push(wanted);
      existing.set(wanted.AttributeName, wanted.AttributeType);
    } else if (had !== wanted.AttributeType) {
      const schema = (elements: readonly KeySchemaElement[], types: ReadonlyMap<string, string>) =>
        `Schema:[${elements.map((e) => `SchemaElement: key{${e.AttributeName}:${types.get(e.AttributeName)}:${e.KeyType}}`).join(', ')}]`;
      const owner = keySchemaUsing(element.AttributeName, table) ?? [element];
      const newTypes = new Map(existing);
      for (const a of requested) newTypes.set(a.AttributeName, a.AttributeType);
      throw invalidParameter(
        'Attributes cannot be redefined. Please check that your attribute has the same type as previously defined. ' +
          `Existing schema: ${schema(owner, existing)} New schema: ${schema(keySchema, newTypes)}`,
      );
    }
  }
  return out;
}

/** The key schema (table's or an index's) that already uses an attribute. */
function keySchemaUsing(attribute: string, table: TableDefinition): readonly KeySchemaElement[] | undefined {
  const schemas = [
    table.KeySchema,
    ...(table.LocalSecondaryIndexes ?? []).map((i) => i.KeySchema),
    ...(table.GlobalSecondaryIndexes ?? []).map((i) => i.KeySchema),
  ];
  return schemas.find((s) => s.some((e) => e.AttributeName === attribute));
}

/** UpdateTable's own throughput messages for a new GSI (DDB-TABLE-152; ack-api-quirks catalogue). */
function checkCreateThroughput(create: CreateIndexAction, billingMode: BillingMode): void {
  const name = create.IndexName;
  if (billingMode === 'PAY_PER_REQUEST') {
    if (create.ProvisionedThroughput) {
      throw invalidParameter(
        `Neither ReadCapacityUnits nor WriteCapacityUnits can be specified for index: ${name} when BillingMode is PAY_PER_REQUEST`,
      );
    }
    checkOnDemand(create.OnDemandThroughput, name);
    return;
  }
  if (!create.ProvisionedThroughput) {
    throw invalidParameter(`Both ReadCapacityUnits and WriteCapacityUnits must be specified for index: ${name}`);
  }
  checkBounds(create.ProvisionedThroughput);
  if (create.OnDemandThroughput) onDemandOnProvisioned(create.OnDemandThroughput, name);
}

function checkBounds(throughput: { ReadCapacityUnits: number; WriteCapacityUnits: number }): void {
  // The table's bound and message (dynalite "high ProvisionedThroughput").
  for (const member of ['ReadCapacityUnits', 'WriteCapacityUnits'] as const) {
    if (throughput[member] > MAX_CAPACITY_UNITS) {
      throw validationError(`Given value ${throughput[member]} for ${member} is out of bounds`);
    }
  }
}

/** -1 (no limit) or a positive number (ack-api-quirks catalogue: "outside of valid range"). */
function checkOnDemand(onDemand: OnDemandThroughputState | undefined, name: string): void {
  if (!onDemand) return;
  for (const member of ['MaxReadRequestUnits', 'MaxWriteRequestUnits'] as const) {
    const value = onDemand[member];
    if (value !== undefined && value !== -1 && value < 1) {
      throw invalidParameter(
        `Requested ${member} for OnDemandThroughput for index : ${name} is outside of valid range`,
      );
    }
  }
}

function onDemandOnProvisioned(onDemand: OnDemandThroughputState, name: string): never {
  const member = onDemand.MaxReadRequestUnits !== undefined ? 'MaxReadRequestUnits' : 'MaxWriteRequestUnits';
  throw invalidParameter(
    `${member} for OnDemandThroughput for index : ${name} cannot be specified when the table BillingMode is PROVISIONED`,
  );
}

function planDelete(index: SecondaryIndexDefinition): (definition: TableDefinition) => TableDefinition {
  // Allowed while the index backfills, which stops the backfill (DDB-TABLE-149: accepted once
  // Backfilling is true), and on a table with deletion protection (DDB-TABLE-166).
  return mapGlobal((current) => {
    if (current.Space !== index.Space) return current;
    const { Backfilling: _, ...rest } = current;
    return { ...rest, IndexStatus: 'DELETING' };
  });
}

function planUpdate(
  update: UpdateIndexAction,
  index: SecondaryIndexDefinition,
  table: TableDefinition,
  billingMode: BillingMode,
  nowSeconds: number,
): (definition: TableDefinition) => TableDefinition {
  const name = update.IndexName;
  if (index.IndexStatus === 'DELETING') {
    // DDB-TABLE-375/376.
    throw resourceInUse(
      `Attempt to change a resource which is still in use: Index is being deleted. Table: ${table.TableName} Index: ${name}`,
    );
  }
  const requested = update.ProvisionedThroughput;
  if (!requested && !update.OnDemandThroughput) {
    // dynalite "empty Update" (recorded when throughput was the only member to update).
    throw coralValidation([
      "Value null at 'globalSecondaryIndexUpdates.1.member.update.provisionedThroughput' failed to satisfy constraint: Member must not be null",
    ]);
  }
  if (billingMode === 'PAY_PER_REQUEST') {
    if (requested) {
      // DDB-TABLE-152.
      throw invalidParameter(
        `The only Updates for index: ${name} when TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput`,
      );
    }
    checkOnDemand(update.OnDemandThroughput, name);
    const onDemand = update.OnDemandThroughput as OnDemandThroughputState;
    return mapGlobal((current) =>
      current.Space === index.Space
        ? { ...current, OnDemandThroughput: { ...current.OnDemandThroughput, ...onDemand } }
        : current,
    );
  }
  if (update.OnDemandThroughput) onDemandOnProvisioned(update.OnDemandThroughput, name);
  const wanted = requested as { ReadCapacityUnits: number; WriteCapacityUnits: number };
  checkBounds(wanted);
  const current = index.ProvisionedThroughput ?? {
    ReadCapacityUnits: 0,
    WriteCapacityUnits: 0,
    NumberOfDecreasesToday: 0,
  };
  // A table switching to PROVISIONED has no index throughput yet: any value is a change.
  if (
    table.BillingMode === 'PROVISIONED' &&
    wanted.ReadCapacityUnits === current.ReadCapacityUnits &&
    wanted.WriteCapacityUnits === current.WriteCapacityUnits
  ) {
    // DDB-TABLE-164 (its first sentences; the rest as the table's own message).
    throw validationError(
      `The provisioned throughput for the index ${name} will not change. The requested value equals the current value. ` +
        `Current ReadCapacityUnits provisioned for index ${name}: ${current.ReadCapacityUnits}. Requested ReadCapacityUnits: ${wanted.ReadCapacityUnits}. ` +
        `Current WriteCapacityUnits provisioned for index ${name}: ${current.WriteCapacityUnits}. Requested WriteCapacityUnits: ${wanted.WriteCapacityUnits}. ` +
        'Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits.',
    );
  }
  return mapGlobal((latest) =>
    latest.Space === index.Space ? { ...latest, ProvisionedThroughput: changed(latest, wanted, nowSeconds) } : latest,
  );
}

/** The new throughput with the increase/decrease times and count, as the table's own. */
function changed(
  index: SecondaryIndexDefinition,
  wanted: { ReadCapacityUnits: number; WriteCapacityUnits: number },
  nowSeconds: number,
): ProvisionedThroughputState {
  const current = index.ProvisionedThroughput ?? {
    ReadCapacityUnits: 0,
    WriteCapacityUnits: 0,
    NumberOfDecreasesToday: 0,
  };
  const increased =
    wanted.ReadCapacityUnits > current.ReadCapacityUnits || wanted.WriteCapacityUnits > current.WriteCapacityUnits;
  const decreased =
    current.ReadCapacityUnits > 0 &&
    (wanted.ReadCapacityUnits < current.ReadCapacityUnits || wanted.WriteCapacityUnits < current.WriteCapacityUnits);
  return {
    ...current,
    ReadCapacityUnits: wanted.ReadCapacityUnits,
    WriteCapacityUnits: wanted.WriteCapacityUnits,
    ...(increased ? { LastIncreaseDateTime: nowSeconds } : {}),
    ...(decreased
      ? { LastDecreaseDateTime: nowSeconds, NumberOfDecreasesToday: current.NumberOfDecreasesToday + 1 }
      : {}),
  };
}

const withoutOnDemand = (index: SecondaryIndexDefinition): SecondaryIndexDefinition => {
  const { OnDemandThroughput: _, ...rest } = index;
  return rest;
};

const mapGlobal =
  (fn: (index: SecondaryIndexDefinition) => SecondaryIndexDefinition) =>
  (definition: TableDefinition): TableDefinition =>
    definition.GlobalSecondaryIndexes
      ? { ...definition, GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes.map(fn) }
      : definition;

/** For definitions stored before NextIndexSpace existed. */
function nextSpace(definition: TableDefinition): number {
  const spaces = [...(definition.LocalSecondaryIndexes ?? []), ...(definition.GlobalSecondaryIndexes ?? [])].map(
    (i) => i.Space,
  );
  return Math.max(0, ...spaces) + 1;
}

/**
 * DeleteTable waits for index work, as DynamoDB refuses it while any GSI is CREATING, UPDATING or
 * DELETING (DDB-TABLE-150, DDB-TABLE-376). A table whose key is unusable can always be deleted: its
 * work cannot go on, and crypto-shredded data must be removable.
 */
export function checkTableDeletable(table: TableDefinition): void {
  if (table.InaccessibleSince !== undefined) return;
  if ((table.GlobalSecondaryIndexes ?? []).some((g) => g.IndexStatus !== 'ACTIVE')) {
    throw resourceInUse(
      'Attempt to change a resource which is still in use: Cannot delete table while indexes are being created, updated, or deleted.',
    );
  }
}

/**
 * The TableStatus DescribeTable shows: UPDATING while a GSI is being deleted, as DynamoDB does
 * for the whole DELETING window (ack-api-quirks DDB-TABLE-148, -375, -376). A GSI being created
 * leaves the table ACTIVE once its backfill has begun (DDB-TABLE-148: UPDATING only during
 * DynamoDB's resource allocation, then ACTIVE for the whole backfill; aws/aws-cli#3399 shows
 * DescribeTable ACTIVE beside IndexStatus CREATING), and sealdb's backfill begins at once.
 */
export function tableStatus(definition: TableDefinition): TableDefinition['TableStatus'] {
  if (definition.TableStatus !== 'ACTIVE') return definition.TableStatus;
  const deleting = (definition.GlobalSecondaryIndexes ?? []).some((g) => g.IndexStatus === 'DELETING');
  return deleting ? 'UPDATING' : 'ACTIVE';
}

/**
 * A change of the table's throughput or billing mode while a GSI is being deleted is refused
 * (DDB-TABLE-375, DDB-TABLE-376: "Can't change table IOPS when an index is being deleted", for
 * ProvisionedThroughput and for a switch of BillingMode either way; re-sending the current
 * PAY_PER_REQUEST mode is accepted).
 */
export function checkIopsChangeAllowed(input: IndexUpdatesInput, table: TableDefinition): void {
  const deleting = (table.GlobalSecondaryIndexes ?? []).filter((g) => g.IndexStatus === 'DELETING');
  if (deleting.length === 0) return;
  // An Update of the dying index itself is answered "Index is being deleted" (DDB-TABLE-375/376).
  const names = new Set(deleting.map((g) => g.IndexName));
  if ((input.GlobalSecondaryIndexUpdates ?? []).some((u) => u.Update && names.has(u.Update.IndexName))) return;
  const switches = input.BillingMode !== undefined && input.BillingMode !== table.BillingMode;
  if (!switches && input.ProvisionedThroughput === undefined) return;
  throw resourceInUse(
    `Attempt to change a resource which is still in use: Can't change table IOPS when an index is being deleted. Table: ${table.TableName} Indexes: [${deleting.map((g) => g.IndexName).join(', ')}]`,
  );
}

/** The index that has background work (being backfilled or dropped), if any. */
export function indexWork(definition: TableDefinition): SecondaryIndexDefinition[] {
  return (definition.GlobalSecondaryIndexes ?? []).filter(
    (g) => g.IndexStatus === 'DELETING' || (g.IndexStatus === 'CREATING' && g.Backfilling === true),
  );
}

/** Drops a deleted index from the definition, and the attribute definitions only it used (DDB-TABLE-151). */
export function withoutIndex(definition: TableDefinition, space: number): TableDefinition {
  const global = (definition.GlobalSecondaryIndexes ?? []).filter((g) => g.Space !== space);
  const used = new Set(
    [
      definition.KeySchema,
      ...(definition.LocalSecondaryIndexes ?? []).map((i) => i.KeySchema),
      ...global.map((i) => i.KeySchema),
    ]
      .flat()
      .map((e) => e.AttributeName),
  );
  const { GlobalSecondaryIndexes: _, ...rest } = definition;
  return {
    ...rest,
    AttributeDefinitions: definition.AttributeDefinitions.filter((a) => used.has(a.AttributeName)),
    ...(global.length > 0 ? { GlobalSecondaryIndexes: global } : {}),
  };
}

/** A backfilled index becomes ACTIVE (unless it was deleted meanwhile). */
export function withIndexActive(definition: TableDefinition, space: number): TableDefinition {
  return mapGlobal((index) => {
    if (index.Space !== space || index.IndexStatus !== 'CREATING') return index;
    const { Backfilling: _, ...rest } = index;
    return { ...rest, IndexStatus: 'ACTIVE' };
  })(definition);
}
