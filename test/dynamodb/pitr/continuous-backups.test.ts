import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateTableCommand,
  DescribeContinuousBackupsCommand,
  DynamoDBClient,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';
import { rejectsWith } from '../../helpers/assert-aws.js';
import { startTestServer } from '../../helpers/server.js';
import { useServerWithTable } from '../../helpers/table-fixture.js';
import { enablePitr } from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const MINUTE = 60 * 1000;

function ms(date: Date | undefined): number {
  assert.ok(date instanceof Date, 'a date');
  return date.getTime();
}

/** UpdateContinuousBackups and DescribeContinuousBackups: shapes, errors, EarliestRestorableDateTime. */
describe('continuous backups settings', () => {
  const fixture = useServerWithTable('Settings');

  it('a new table has continuous backups ENABLED and point-in-time recovery DISABLED', async () => {
    const out = await fixture.ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Settings' }));
    assert.deepEqual(out.ContinuousBackupsDescription, {
      ContinuousBackupsStatus: 'ENABLED',
      PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' },
    });
  });

  it('a missing table is TableNotFoundException for both operations', async () => {
    await rejectsWith(
      fixture.ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Nope' })),
      'TableNotFoundException',
      /^Table not found: Nope$/,
    );
    await rejectsWith(
      fixture.ddb.send(
        new UpdateContinuousBackupsCommand({
          TableName: 'Nope',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ),
      'TableNotFoundException',
      /^Table not found: Nope$/,
    );
  });

  it('RecoveryPeriodInDays outside 1–35 and a missing PointInTimeRecoveryEnabled are ValidationExceptions', async () => {
    for (const days of [0, 36]) {
      await rejectsWith(
        fixture.ddb.send(
          new UpdateContinuousBackupsCommand({
            TableName: 'Settings',
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: days },
          }),
        ),
        'ValidationException',
        /recoveryPeriodInDays/,
      );
    }
    await rejectsWith(
      fixture.ddb.send(
        new UpdateContinuousBackupsCommand({
          TableName: 'Settings',
          PointInTimeRecoverySpecification: {} as { PointInTimeRecoveryEnabled: boolean },
        }),
      ),
      'ValidationException',
    );
    const out = await fixture.ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Settings' }));
    assert.equal(
      out.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus,
      'DISABLED',
    );
  });

  it('enabling starts history now (35 days by default); the window then slides with the clock', async () => {
    const enabledAt = fixture.server.clock.now();
    const { ContinuousBackupsDescription: enabled } = await fixture.ddb.send(
      new UpdateContinuousBackupsCommand({
        TableName: 'Settings',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
    );
    assert.equal(enabled?.ContinuousBackupsStatus, 'ENABLED');
    const pitr = enabled?.PointInTimeRecoveryDescription;
    assert.equal(pitr?.PointInTimeRecoveryStatus, 'ENABLED');
    assert.equal(pitr?.RecoveryPeriodInDays, 35);
    const earliest = ms(pitr?.EarliestRestorableDateTime);
    assert.ok(
      earliest >= enabledAt - 1 && earliest <= fixture.server.clock.now(),
      `earliest ${earliest} vs ${enabledAt}`,
    );
    // Just enabled: the latest restorable time is not 5 minutes back, before the history began,
    // but the enablement itself, the one instant there is to restore to.
    assert.equal(ms(pitr?.LatestRestorableDateTime), earliest);
    // Ten days on: history still begins at the enablement.
    fixture.server.clock.advance(10 * DAY);
    let described = (await fixture.ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Settings' })))
      .ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
    assert.equal(ms(described?.EarliestRestorableDateTime), earliest);
    // "LatestRestorableDateTime is typically 5 minutes before the current time" (API Reference).
    const latest = ms(described?.LatestRestorableDateTime);
    assert.ok(Math.abs(latest - (fixture.server.clock.now() - 5 * MINUTE)) < 2000, `latest ${latest}`);
    // A shorter window: the earliest time is now - 3 days.
    const { ContinuousBackupsDescription: shorter } = await fixture.ddb.send(
      new UpdateContinuousBackupsCommand({
        TableName: 'Settings',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 3 },
      }),
    );
    assert.equal(shorter?.PointInTimeRecoveryDescription?.RecoveryPeriodInDays, 3);
    described = (await fixture.ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Settings' })))
      .ContinuousBackupsDescription?.PointInTimeRecoveryDescription;
    const windowStart = ms(described?.EarliestRestorableDateTime);
    assert.ok(Math.abs(windowStart - (fixture.server.clock.now() - 3 * DAY)) < 2000, `${windowStart}`);
  });

  it('disabling forgets the history; enabling again starts it anew', async () => {
    const { ContinuousBackupsDescription: off } = await fixture.ddb.send(
      new UpdateContinuousBackupsCommand({
        TableName: 'Settings',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: false },
      }),
    );
    assert.deepEqual(off, {
      ContinuousBackupsStatus: 'ENABLED',
      PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: 'DISABLED' },
    });
    fixture.server.clock.advance(60_000);
    const again = fixture.server.clock.now();
    const { ContinuousBackupsDescription: on } = await fixture.ddb.send(
      new UpdateContinuousBackupsCommand({
        TableName: 'Settings',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true, RecoveryPeriodInDays: 1 },
      }),
    );
    const earliest = ms(on?.PointInTimeRecoveryDescription?.EarliestRestorableDateTime);
    assert.ok(earliest >= again - 1, 'history restarts at the new enablement');
    assert.equal(on?.PointInTimeRecoveryDescription?.RecoveryPeriodInDays, 1);
  });
});

describe('continuous backups on an in-memory server', () => {
  it('are DISABLED, and enabling point-in-time recovery is ContinuousBackupsUnavailableException; over an engine they are kept there', async () => {
    const server = await startTestServer({ inMemory: true });
    const ddb = new DynamoDBClient(server.clientConfig());
    try {
      await ddb.send(
        new CreateTableCommand({
          TableName: 'Mem',
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      const out = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Mem' }));
      if (server.storage) {
        // Over an engine (SEALDB_TEST_STORAGE) nothing is in memory: history is kept there.
        assert.equal(out.ContinuousBackupsDescription?.ContinuousBackupsStatus, 'ENABLED');
        await enablePitr(ddb, 'Mem');
        const now = await ddb.send(new DescribeContinuousBackupsCommand({ TableName: 'Mem' }));
        assert.equal(
          now.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus,
          'ENABLED',
        );
        return;
      }
      assert.equal(out.ContinuousBackupsDescription?.ContinuousBackupsStatus, 'DISABLED');
      await rejectsWith(
        ddb.send(
          new UpdateContinuousBackupsCommand({
            TableName: 'Mem',
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ),
        'ContinuousBackupsUnavailableException',
      );
    } finally {
      ddb.destroy();
      await server.cleanup();
    }
  });
});
