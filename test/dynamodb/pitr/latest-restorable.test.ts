import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  PutItemCommand,
  RestoreTableToPointInTimeCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { useServerWithTable } from '../../helpers/table-fixture.js';
import { tableActive } from '../backups/helpers.js';
import { enablePitr } from './helpers.js';

const MINUTE = 60_000;

/**
 * LatestRestorableDateTime "is typically 5 minutes before the current time" (DynamoDB API
 * Reference, PointInTimeRecoveryDescription): what DescribeContinuousBackups reports, what
 * UseLatestRestorableTime restores to, and the bound a RestoreDateTime must keep.
 */
describe('LatestRestorableDateTime', () => {
  const fixture = useServerWithTable('Lagging');

  const window = async () => {
    const pitr = (await fixture.ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Lagging' })))
      .ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
    return {
      earliest: pitr?.EarliestRestorableDateTime?.getTime() as number,
      latest: pitr?.LatestRestorableDateTime?.getTime() as number,
    };
  };
  const put = (id: string) => fixture.ddb.send(new PutItemCommand({ TableName: 'Lagging', Item: { id: { S: id } } }));
  const ids = async (table: string) => {
    const { Table } = await fixture.ddb.send(new DescribeTableCommand({ TableName: table }));
    return { count: Table?.ItemCount, restoredTo: Table?.RestoreSummary?.RestoreDateTime?.getTime() };
  };

  it('is 5 minutes behind the current time, and never before the earliest restorable time', async () => {
    await enablePitr(fixture.ddb, 'Lagging');
    const justEnabled = await window();
    assert.equal(
      justEnabled.latest,
      justEnabled.earliest,
      'just enabled: the enablement is the one restorable instant',
    );
    await put('old');
    fixture.server.clock.advance(6 * MINUTE);
    const { earliest, latest } = await window();
    assert.equal(earliest, justEnabled.earliest);
    const lag = fixture.server.clock.now() - latest;
    assert.ok(lag >= 5 * MINUTE && lag < 5 * MINUTE + 2000, `lag ${lag}`);
  });

  it('UseLatestRestorableTime leaves out the last 5 minutes of writes; a RestoreDateTime within them fails', async () => {
    await put('recent');
    const recentAt = fixture.server.clock.now();
    await rejectsWith(
      fixture.ddb.send(
        new RestoreTableToPointInTimeCommand({
          SourceTableName: 'Lagging',
          TargetTableName: 'TooRecent',
          RestoreDateTime: new Date(recentAt),
        }),
      ),
      'InvalidRestoreTimeException',
      /^RestoreDateTime '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ' must be within EarliestRestorableDateTime '[^']+Z' and LatestRestorableDateTime '[^']+Z'$/,
    );
    const { latest } = await window();
    await fixture.ddb.send(
      new RestoreTableToPointInTimeCommand({
        SourceTableName: 'Lagging',
        TargetTableName: 'Latest',
        UseLatestRestorableTime: true,
      }),
    );
    await tableActive(fixture.ddb, 'Latest');
    const restored = await ids('Latest');
    assert.equal(restored.count, 1, "'old' only: 'recent' is within the last 5 minutes");
    // Restored to the instant DescribeContinuousBackups reported (within the time between the calls).
    assert.ok(
      Math.abs((restored.restoredTo as number) - latest) < 2000,
      `restored to ${restored.restoredTo} vs ${latest}`,
    );

    // Five minutes on, the same request takes the recent write too.
    fixture.server.clock.advance(5 * MINUTE + 1000);
    await fixture.ddb.send(
      new RestoreTableToPointInTimeCommand({
        SourceTableName: 'Lagging',
        TargetTableName: 'LaterLatest',
        UseLatestRestorableTime: true,
      }),
    );
    await tableActive(fixture.ddb, 'LaterLatest');
    assert.equal((await ids('LaterLatest')).count, 2);
    await fixture.ddb.send(
      new RestoreTableToPointInTimeCommand({
        SourceTableName: 'Lagging',
        TargetTableName: 'AtRecent',
        RestoreDateTime: new Date(recentAt),
      }),
    );
    await tableActive(fixture.ddb, 'AtRecent');
    assert.equal((await ids('AtRecent')).count, 2);
  });
});
