/** Shared steps of the backup tests: tables with indexes, waiting for backups and restores. */
import {
  type CreateTableCommandInput,
  DescribeBackupCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { createStatusTotal, statusTotalSchema } from '../indexes/fixtures.js';

/** The backup tests' Orders: pk/sk, LSI byTotal (KEYS_ONLY), GSI byStatus (ALL). */
export const ORDERS_SCHEMA: Omit<CreateTableCommandInput, 'TableName'> = statusTotalSchema();

export async function createOrders(
  ddb: DynamoDBClient,
  name: string,
  extra: Partial<CreateTableCommandInput> = {},
): Promise<void> {
  await createStatusTotal(ddb, name, {}, extra);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls DescribeBackup until the backup is AVAILABLE (real milliseconds: backups of test tables take a few). */
export async function backupAvailable(ddb: DynamoDBClient, arn: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const { BackupDescription } = await ddb.send(new DescribeBackupCommand({ BackupArn: arn }));
    if (BackupDescription?.BackupDetails?.BackupStatus === 'AVAILABLE') return;
    await pause(10);
  }
  throw new Error(`backup ${arn} never became AVAILABLE`);
}

/** Polls DescribeTable until the restored table is ACTIVE; returns its description. */
export async function tableActive(ddb: DynamoDBClient, name: string): Promise<TableDescription> {
  // A wall-clock bound, not a count of polls: over the engine on a loaded machine a restore can
  // take longer than 500 polls of 10 ms (seen once in npm run test:postgres beside a CI run).
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE') return Table;
    await pause(10);
  }
  throw new Error(`table ${name} never became ACTIVE within 30 s`);
}
