/** One CloudTrail record as a line or two a person can read in a terminal (`sealdb audit lookup|tail`). */
import type { CloudTrailRecord } from './record.js';

function who(record: CloudTrailRecord): string {
  const id = record.userIdentity;
  if (id.type === 'AWSService') return `service ${id.invokedBy ?? '?'}`;
  const name = id.type === 'IAMUser' ? `user ${id.userName ?? id.arn ?? '?'}` : `root ${id.accountId ?? ''}`.trim();
  const key = id.accessKeyId ? ` (${id.accessKeyId})` : '';
  const via = id.invokedBy ? ` via ${id.invokedBy}` : '';
  return `${name}${key}${via}`;
}

function context(record: CloudTrailRecord): string | undefined {
  const params = record.requestParameters;
  const ctx =
    params?.encryptionContext ??
    (params?.constraints as { encryptionContextSubset?: unknown } | undefined)?.encryptionContextSubset;
  if (!ctx || typeof ctx !== 'object') return undefined;
  return Object.entries(ctx as Record<string, unknown>)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

export function formatRecord(record: CloudTrailRecord): string {
  const outcome = record.errorCode
    ? `FAILED ${record.errorCode}${record.errorMessage ? `: ${record.errorMessage}` : ''}`
    : 'ok';
  const lines = [
    `${record.eventTime}  ${record.eventName.padEnd(20)} ${outcome}`,
    `    by ${who(record)} from ${record.sourceIPAddress}`,
  ];
  const keys = (record.resources ?? []).map((r) => r.ARN);
  if (keys.length > 0) lines.push(`    key ${keys.join(', ')}`);
  const ctx = context(record);
  if (ctx) lines.push(`    context ${ctx}`);
  if (record.recipientAccountId !== record.userIdentity.accountId && record.userIdentity.accountId) {
    lines.push(`    in account ${record.recipientAccountId} (cross-account)`);
  }
  lines.push(`    event ${record.eventID}  request ${record.requestID}`);
  return lines.join('\n');
}
