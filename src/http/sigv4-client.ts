/**
 * A minimal SigV4-signed JSON client for sealdb's own command-line tools, so they need no AWS SDK
 * at run time. Requests are signed with the same canonicalisation the server verifies with.
 */
import { createHmac } from 'node:crypto';
import { canonicalRequest, formatAmzDate, type ParsedSignature, SIGV4_ALGORITHM, stringToSign } from './sigv4.js';

export interface RemoteCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface SignedJsonCall {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: RemoteCredentials;
  /** The SigV4 signing name. */
  readonly service: string;
  readonly contentType: string;
  /** The whole X-Amz-Target value. */
  readonly target: string;
}

/** An error answer: the server's type (without its namespace), message and HTTP status. */
export class RemoteError extends Error {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly status: number,
  ) {
    super(detail ? `${code}: ${detail}` : code);
    this.name = 'RemoteError';
  }
}

const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** POSTs one signed JSON request; an error answer throws a RemoteError, an unreachable server fetch's error. */
export async function callSignedJson(
  call: SignedJsonCall,
  input: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const url = new URL(call.endpoint);
  const body = Buffer.from(JSON.stringify(input), 'utf8');
  const amzDate = formatAmzDate(Date.now());
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': call.contentType,
    'x-amz-date': amzDate,
    'x-amz-target': call.target,
  };
  const parsed: ParsedSignature = {
    algorithm: SIGV4_ALGORITHM,
    accessKeyId: call.credentials.accessKeyId,
    date: amzDate.slice(0, 8),
    region: call.region,
    service: call.service,
    terminator: 'aws4_request',
    signedHeaders: Object.keys(headers).sort(),
    signature: '',
    amzDate,
  };
  const path = url.pathname || '/';
  const canonical = canonicalRequest(parsed, { method: 'POST', path, query: '', headers, body });
  let key: Buffer = hmac(`AWS4${call.credentials.secretAccessKey}`, parsed.date);
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
