import { kmsAccessDenied } from '../kms-errors.js';
import type { Operation } from '../operation.js';
import { resolveTableName } from '../table-name.js';
import { inaccessibleReason } from '../tables.js';
import { changeTimeToLive, type TimeToLiveSpecification } from '../ttl/update.js';

export interface UpdateTimeToLiveInput {
  TableName: string;
  TimeToLiveSpecification: TimeToLiveSpecification;
}

export const updateTimeToLive: Operation<UpdateTimeToLiveInput> = {
  name: 'UpdateTimeToLive',
  execute({ input, ctx, env }) {
    const name = resolveTableName(input.TableName, ctx);
    const account = ctx.principal.accountId;
    const spec = input.TimeToLiveSpecification;
    env.tables.update(account, name, (definition) => {
      // DynamoDB refuses TTL changes while the table's key is unusable, as it does its data plane
      // (ack-api-quirks DDB-TABLE-333); DescribeTimeToLive still answers.
      if (definition.InaccessibleSince !== undefined) throw kmsAccessDenied(inaccessibleReason(definition));
      return { ...definition, TimeToLive: changeTimeToLive(definition.TimeToLive, spec, env.clock.now()) };
    });
    // The request's specification, echoed (API_UpdateTimeToLive; ack-api-quirks DDB-TABLE-145); the
    // status is DescribeTimeToLive's to show.
    return { TimeToLiveSpecification: { Enabled: spec.Enabled, AttributeName: spec.AttributeName } };
  },
};
