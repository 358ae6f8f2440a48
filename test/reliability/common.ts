/**
 * Shared pieces of the reliability suite (issue 17): a seeded random source whose seed is printed
 * so any failure can be replayed, the result shape every part reports, and client helpers.
 */
import { Agent } from 'node:http';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** mulberry32: small, fast, and the same sequence for the same seed on every platform. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }
  /** A new generator whose seed is drawn from this one (for one worker, one case). */
  fork(): Rng {
    return new Rng(this.int(1, 0x7fffffff));
  }
}

/** The seed of a run: `SEALDB_RELIABILITY_SEED`, or a fresh one (printed by the caller). */
export function runSeed(fallback?: number): number {
  const given = process.env.SEALDB_RELIABILITY_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`SEALDB_RELIABILITY_SEED must be a positive integer: ${given}`);
    return n;
  }
  return fallback ?? 1 + Math.floor(Math.random() * 0x7ffffffe);
}

/** One thing a part found wrong, with what is needed to replay it. */
export interface Failure {
  readonly part: string;
  readonly seed: number;
  /** Which case of the part (its index, file, or name). */
  readonly where: string;
  readonly detail: string;
}

export interface PartResult {
  readonly part: string;
  readonly seed: number;
  readonly cases: number;
  readonly durationMs: number;
  readonly figures: Record<string, number | string | boolean>;
  readonly failures: Failure[];
}

export type Log = (line: string) => void;

export const CREDENTIALS = { accessKeyId: 'AKIDLOCAL', secretAccessKey: 'local-secret' };

/** A DynamoDB client on keep-alive connections, never retrying (a retry would hide what happened). */
export function ddbClient(endpoint: string, sockets = 16): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({
      httpAgent: new Agent({ keepAlive: true, maxSockets: sockets }),
      requestTimeout: 30_000,
    }),
  });
}

/** Every item of a table (or index), by a consistent Scan over all pages. */
export async function scanAll(
  ddb: DynamoDBClient,
  TableName: string,
  IndexName?: string,
): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await ddb.send(
      new ScanCommand({
        TableName,
        ...(IndexName ? { IndexName } : { ConsistentRead: true }),
        ExclusiveStartKey,
      }),
    );
    items.push(...(page.Items ?? []));
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}

/** A stable text form of an item (attribute order does not matter). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    if (value instanceof Uint8Array) return `b64:${Buffer.from(value).toString('base64')}`;
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
