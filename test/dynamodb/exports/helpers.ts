/** Shared steps of the export and import tests. */
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  type AttributeValue,
  DescribeExportCommand,
  DescribeImportCommand,
  type DynamoDBClient,
  type ExportDescription,
  type ImportTableDescription,
  ScanCommand,
  UpdateContinuousBackupsCommand,
} from '@aws-sdk/client-dynamodb';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function exportFinished(ddb: DynamoDBClient, arn: string): Promise<ExportDescription> {
  for (let i = 0; i < 600; i++) {
    const d = (await ddb.send(new DescribeExportCommand({ ExportArn: arn }))).ExportDescription as ExportDescription;
    if (d.ExportStatus !== 'IN_PROGRESS') return d;
    await pause(20);
  }
  throw new Error(`export ${arn} did not finish`);
}

export async function importFinished(ddb: DynamoDBClient, arn: string): Promise<ImportTableDescription> {
  for (let i = 0; i < 600; i++) {
    const d = (await ddb.send(new DescribeImportCommand({ ImportArn: arn })))
      .ImportTableDescription as ImportTableDescription;
    if (d.ImportStatus !== 'IN_PROGRESS') return d;
    await pause(20);
  }
  throw new Error(`import ${arn} did not finish`);
}

/** Every item of a table, sets sorted, in key order of their JSON: comparable across tables. */
export async function allItems(ddb: DynamoDBClient, table: string): Promise<string[]> {
  const out: string[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) out.push(JSON.stringify(canonical(item)));
    start = page.LastEvaluatedKey;
  } while (start);
  return out.sort();
}

function canonical(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      out[k] =
        (k === 'SS' || k === 'NS' || k === 'BS') && Array.isArray(v)
          ? (canonical(v) as unknown[]).map((x) => JSON.stringify(x)).sort()
          : canonical(v);
    }
    return out;
  }
  return value;
}

/** Every file under a folder, as paths relative to it. */
export function filesIn(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

export function bucket(exportDir: string, name: string): string {
  const dir = join(exportDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A Zstandard frame of raw (stored) blocks: valid for every decoder, made without a compressor. */
export function zstdRawFrame(data: Buffer): Buffer {
  const header = Buffer.alloc(4 + 1 + 8);
  header.writeUInt32LE(0xfd2fb528, 0);
  // Frame header descriptor: 8-byte content size, single segment (no window descriptor), no checksum.
  header.writeUInt8(0xe0, 4);
  header.writeBigUInt64LE(BigInt(data.length), 5);
  const parts: Buffer[] = [header];
  const BLOCK = 64 * 1024;
  let offset = 0;
  do {
    const chunk = data.subarray(offset, offset + BLOCK);
    offset += chunk.length;
    const last = offset >= data.length ? 1 : 0;
    const blockHeader = Buffer.alloc(3);
    blockHeader.writeUIntLE(last | (0 << 1) | (chunk.length << 3), 0, 3);
    parts.push(blockHeader, chunk);
  } while (offset < data.length);
  return Buffer.concat(parts);
}

/** ExportTableToPointInTime needs point-in-time recovery on, as on AWS. */
export async function enablePitr(ddb: DynamoDBClient, table: string): Promise<void> {
  await ddb.send(
    new UpdateContinuousBackupsCommand({
      TableName: table,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    }),
  );
}

/** A table keyed by a string `id` alone, on demand: the tables most export tests make. */
export const ID_TABLE = {
  AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' as const }],
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' as const }],
  BillingMode: 'PAY_PER_REQUEST' as const,
};
