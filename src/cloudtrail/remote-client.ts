/**
 * A minimal CloudTrail JSON 1.1 client for the CLI's `--endpoint` mode, so the command needs no
 * AWS SDK at run time. Requests are signed with SigV4 using the same canonicalisation the
 * server verifies with.
 */
import { createHmac } from 'node:crypto';
import { canonicalRequest, formatAmzDate, type ParsedSignature, SIGV4_ALGORITHM, stringToSign } from '../http/sigv4.js';

export const CLOUDTRAIL_TARGET_PREFIX = 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101';

export interface RemoteCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface RemoteOptions {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: RemoteCredentials;
}

export class RemoteError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message ? `${code}: ${message}` : code);
    this.name = 'RemoteError';
  }
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

export async function callCloudTrail(
  options: RemoteOptions,
  operation: string,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const url = new URL(options.endpoint);
  const body = Buffer.from(JSON.stringify(input), 'utf8');
  const amzDate = formatAmzDate(Date.now());
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-date': amzDate,
    'x-amz-target': `${CLOUDTRAIL_TARGET_PREFIX}.${operation}`,
  };
  const parsed: ParsedSignature = {
    algorithm: SIGV4_ALGORITHM,
    accessKeyId: options.credentials.accessKeyId,
    date: amzDate.slice(0, 8),
    region: options.region,
    service: 'cloudtrail',
    terminator: 'aws4_request',
    signedHeaders: Object.keys(headers).sort(),
    signature: '',
    amzDate,
  };
  const path = url.pathname || '/';
  const canonical = canonicalRequest(parsed, { method: 'POST', path, query: '', headers, body });
  let key: Buffer = hmac(`AWS4${options.credentials.secretAccessKey}`, parsed.date);
  for (const part of [parsed.region, parsed.service, parsed.terminator]) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign(parsed, canonical), 'utf8').digest('hex');
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/${parsed.terminator}`;
  const { host: _host, ...sent } = headers;
  const response = await fetch(new URL(path, url), {
    method: 'POST',
    headers: {
      ...sent,
      authorization: `${SIGV4_ALGORITHM} Credential=${parsed.accessKeyId}/${scope}, SignedHeaders=${parsed.signedHeaders.join(';')}, Signature=${signature}`,
    },
    body,
  });
  const text = await response.text();
  const payload = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  if (!response.ok) {
    const type = String(payload.__type ?? 'UnknownError');
    throw new RemoteError(
      type.slice(type.indexOf('#') + 1),
      String(payload.message ?? payload.Message ?? ''),
      response.status,
    );
  }
  return payload;
}
