/** Stream ARNs: `arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>`. */
import type { CallContext } from '../http/service.js';
import { streamNotFound, validationError } from './errors.js';

export interface StreamArnParts {
  readonly arn: string;
  readonly region: string;
  readonly account: string;
  readonly tableName: string;
  readonly label: string;
}

const STREAM_ARN =
  /^arn:aws:dynamodb:([a-z0-9-]+):(\d{12}):table\/([a-zA-Z0-9_.-]{3,255})\/stream\/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})$/;

export function parseStreamArn(arn: string): StreamArnParts | undefined {
  const match = STREAM_ARN.exec(arn);
  if (!match) return undefined;
  const [, region, account, tableName, label] = match as unknown as [string, string, string, string, string];
  return { arn, region, account, tableName, label };
}

/** The caller's own stream ARN: malformed is a ValidationException; another account's or region's names nothing. */
export function callersStream(arn: string, ctx: CallContext): StreamArnParts {
  const parts = parseStreamArn(arn);
  if (!parts) throw validationError('Invalid StreamArn');
  if (parts.account !== ctx.principal.accountId || parts.region !== ctx.region) throw streamNotFound(arn);
  return parts;
}
