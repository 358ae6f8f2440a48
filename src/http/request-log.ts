/**
 * The request log (`--log-level`): one line per answered request with its operation, table names,
 * HTTP status, duration and request id. It never sees item data, keys, credentials or bodies:
 * only the names a request addresses.
 */
import type { Clock } from '../core/clock.js';

/** What the HTTP server reports once per answered request. */
export interface RequestLogEntry {
  /** The X-Amz-Target operation (`GetItem`, `Decrypt`, …), or `METHOD:path` (`GET:/metrics`) for other requests. */
  readonly operation: string;
  /** The table(s) the request names, comma-separated; absent for requests that name none. */
  readonly tableName?: string;
  readonly status: number;
  readonly durationMs: number;
  readonly requestId: string;
  readonly connectionId: number;
}

export const LOG_LEVELS = ['off', 'error', 'warn', 'info', 'debug'] as const;
/** off; error = requests answered 5xx; warn = also 4xx; info = every request; debug = also its connection. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The table names a DynamoDB request addresses (never keys or attribute values). */
export function tableNamesOf(input: unknown): string | undefined {
  if (input === null || typeof input !== 'object') return undefined;
  const request = input as Record<string, unknown>;
  if (typeof request.TableName === 'string') return request.TableName;
  // BatchGetItem / BatchWriteItem: the tables are the keys of RequestItems.
  if (request.RequestItems && typeof request.RequestItems === 'object') {
    return Object.keys(request.RequestItems).join(',') || undefined;
  }
  // TransactGetItems / TransactWriteItems: each action names its table.
  if (Array.isArray(request.TransactItems)) {
    const names = new Set<string>();
    for (const item of request.TransactItems as unknown[]) {
      if (item === null || typeof item !== 'object') continue;
      for (const action of Object.values(item)) {
        const name = (action as { TableName?: unknown } | null)?.TableName;
        if (typeof name === 'string') names.add(name);
      }
    }
    return [...names].join(',') || undefined;
  }
  return undefined;
}

/**
 * Names come from the client unvalidated (a refused request is logged too): anything outside
 * DynamoDB's name characters is masked, so a client cannot forge log lines.
 */
function printable(text: string): string {
  return text
    .slice(0, 300)
    .replace(/[^\w.\-,:/ ]/g, '?')
    .replace(/ /g, '?');
}

/** A request logger for the level, or undefined when nothing is to be logged (the server then does no work). */
export function createRequestLogger(
  level: LogLevel,
  clock: Clock,
  write: (line: string) => void,
): ((entry: RequestLogEntry) => void) | undefined {
  if (level === 'off') return undefined;
  const minStatus = level === 'error' ? 500 : level === 'warn' ? 400 : 0;
  return (entry) => {
    if (entry.status < minStatus) return;
    const severity = entry.status >= 500 ? 'error' : entry.status >= 400 ? 'warn' : 'info';
    const fields = [
      new Date(clock.now()).toISOString(),
      severity,
      printable(entry.operation),
      ...(entry.tableName !== undefined ? [`table=${printable(entry.tableName)}`] : []),
      `status=${entry.status}`,
      `${entry.durationMs.toFixed(1)}ms`,
      `requestId=${entry.requestId}`,
      ...(level === 'debug' ? [`connection=${entry.connectionId}`] : []),
    ];
    write(fields.join(' '));
  };
}
