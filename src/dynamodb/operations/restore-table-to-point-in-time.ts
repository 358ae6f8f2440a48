import { tableAlreadyExists, tableNotFound } from '../backups/errors.js';
import { type RestoreOverrides, restoredTable } from '../backups/restore-overrides.js';
import { creatingDescription } from '../indexes/description.js';
import type { Operation } from '../operation.js';
import { pitrOf } from '../pitr/environment.js';
import { invalidRestoreTime, oneRestoreTime, oneSourceTable, pitrUnavailable } from '../pitr/errors.js';
import { enabledPitr, restorableWindow } from '../pitr/state.js';
import { keyChoice, type SseSpecification } from '../sse.js';
import { tableDescription } from '../table-description.js';
import { resolveTableName } from '../table-name.js';

export interface RestoreTableToPointInTimeInput extends RestoreOverrides {
  SourceTableArn?: string;
  SourceTableName?: string;
  TargetTableName: string;
  UseLatestRestorableTime?: boolean;
  /** epoch seconds (the JSON protocol's timestamps) */
  RestoreDateTime?: number;
  SSESpecificationOverride?: SseSpecification;
}

export const restoreTableToPointInTime: Operation<RestoreTableToPointInTimeInput> = {
  name: 'RestoreTableToPointInTime',
  async execute({ input, ctx, env }) {
    if ((input.SourceTableArn === undefined) === (input.SourceTableName === undefined)) throw oneSourceTable();
    const latest = input.UseLatestRestorableTime === true;
    if (latest === (input.RestoreDateTime !== undefined)) throw oneRestoreTime(latest);
    const sourceName = resolveTableName(
      (input.SourceTableArn ?? input.SourceTableName) as string,
      ctx,
      input.SourceTableArn !== undefined ? 'sourceTableArn' : 'sourceTableName',
    );
    const targetName = resolveTableName(input.TargetTableName, ctx, 'targetTableName');
    const account = ctx.principal.accountId;
    const pitr = pitrOf(env);
    const source = env.tables.find(account, sourceName);
    if (!source) throw tableNotFound(sourceName);
    if (!enabledPitr(source)) throw pitrUnavailable(sourceName);
    const now = env.clock.now();
    const window = restorableWindow(source, now);
    // UseLatestRestorableTime restores to LatestRestorableDateTime (5 minutes before now, as
    // DynamoDB's: state.ts), the instant DescribeContinuousBackups reports. Millisecond precision
    // is kept: a time "to the second" is the instant that second begins.
    const at = latest && window ? window.latest : Math.round((input.RestoreDateTime as number) * 1000);
    // The time is checked before the target: "target exists + bad time ->
    // InvalidRestoreTimeException" (ack-api-quirks, table-restore.md, DDB-TABLE-100).
    if (!window || at < window.earliest || at > window.latest) {
      throw invalidRestoreTime(at, window?.earliest ?? now, window?.latest ?? now);
    }
    if (env.tables.find(account, targetName)) throw tableAlreadyExists(targetName);
    const table = restoredTable(source, targetName, input, now / 1000);
    const choice = input.SSESpecificationOverride ? keyChoice(input.SSESpecificationOverride) : undefined;
    const definition = await pitr.restore(env.tables, account, sourceName, at, table, choice, ctx);
    return { TableDescription: creatingDescription(tableDescription(definition)) };
  },
};
