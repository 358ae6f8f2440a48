/**
 * Raw requests for the fuzz, hostile-HTTP and auth parts: AWS Signature Version 4 computed here
 * (header or presigned query string, with or without a session token), so a test can sign exactly
 * what it sends, bytes that no SDK would send included, and then change any part of it.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignInput {
  readonly host: string;
  readonly path?: string;
  /** Extra query parameters (signed). */
  readonly query?: Record<string, string>;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
  readonly credentials: Credentials;
  readonly region: string;
  readonly service: string;
  readonly date: Date;
  /** Sign in the query string (presigned URL) instead of the Authorization header. */
  readonly presignSeconds?: number;
}

export interface SignedWire {
  readonly path: string;
  readonly headers: Record<string, string>;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();
const amzDate = (d: Date) =>
  d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
const rfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
}

/** Signs a request as the AWS SDKs do: every given header (and host) is signed. */
export function sign(input: SignInput): SignedWire {
  const time = amzDate(input.date);
  const day = time.slice(0, 8);
  const scope = `${day}/${input.region}/${input.service}/aws4_request`;
  const headers: Record<string, string> = { host: input.host };
  for (const [k, v] of Object.entries(input.headers)) headers[k.toLowerCase()] = v;
  const query: Record<string, string> = { ...(input.query ?? {}) };
  if (input.presignSeconds === undefined) {
    headers['x-amz-date'] = time;
    if (input.credentials.sessionToken) headers['x-amz-security-token'] = input.credentials.sessionToken;
  }
  const signedNames = Object.keys(headers).sort();
  if (input.presignSeconds !== undefined) {
    query['X-Amz-Algorithm'] = 'AWS4-HMAC-SHA256';
    query['X-Amz-Credential'] = `${input.credentials.accessKeyId}/${scope}`;
    query['X-Amz-Date'] = time;
    query['X-Amz-Expires'] = String(input.presignSeconds);
    query['X-Amz-SignedHeaders'] = signedNames.join(';');
    if (input.credentials.sessionToken) query['X-Amz-Security-Token'] = input.credentials.sessionToken;
  }
  const canonicalQuery = Object.keys(query)
    .sort()
    .map((k) => `${rfc3986(k)}=${rfc3986(query[k] as string)}`)
    .join('&');
  const canonical = [
    'POST',
    input.path ?? '/',
    canonicalQuery,
    signedNames.map((k) => `${k}:${(headers[k] as string).trim().replace(/\s+/g, ' ')}\n`).join(''),
    signedNames.join(';'),
    sha256(input.body),
  ].join('\n');
  const toSign = ['AWS4-HMAC-SHA256', time, scope, sha256(canonical)].join('\n');
  const signature = createHmac(
    'sha256',
    signingKey(input.credentials.secretAccessKey, day, input.region, input.service),
  )
    .update(toSign, 'utf8')
    .digest('hex');
  if (input.presignSeconds !== undefined) {
    const q = `${canonicalQuery}&X-Amz-Signature=${signature}`;
    return { path: `${input.path ?? '/'}?${q}`, headers };
  }
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${input.credentials.accessKeyId}/${scope}, SignedHeaders=${signedNames.join(';')}, Signature=${signature}`;
  return { path: `${input.path ?? '/'}${canonicalQuery ? `?${canonicalQuery}` : ''}`, headers };
}

export interface WireAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** One POST; rejects when no answer comes within `timeoutMs`. */
export function post(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  agent: Agent | false,
  timeoutMs = 30_000,
): Promise<WireAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        headers: { ...headers, 'content-length': String(body.length) },
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * An AWS error as DynamoDB, KMS and CloudTrail send it: JSON with `__type` (and a string message
 * where there is one: DynamoDB sends SerializationException and UnknownOperationException without),
 * or DynamoDB's bare 404 `<UnknownOperationException/>` to a body in a content type it does not take
 * (dynalite test/connection.js records it; src/http/server.ts answers it).
 */
export function awsShapedError(answer: WireAnswer): string | undefined {
  if (answer.status === 404 && answer.body.toString('utf8') === '<UnknownOperationException/>\n') return undefined;
  const type = String(answer.headers['content-type'] ?? '');
  if (!/^application\/(x-amz-json-1\.[01]|json)/.test(type)) return `content type ${type || '(none)'}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return `body is not JSON: ${answer.body.subarray(0, 120).toString('utf8')}`;
  }
  const o = parsed as Record<string, unknown>;
  if (typeof o.__type !== 'string' || o.__type === '') return `no __type: ${answer.body.subarray(0, 200)}`;
  for (const m of ['message', 'Message']) {
    if (m in o && typeof o[m] !== 'string') return `${m} is not a string: ${answer.body.subarray(0, 200)}`;
  }
  // KMS sends InvalidCiphertextException without a message (boto3 prints "...when calling the
  // Decrypt operation: " and nothing after); src/kms/errors.ts answers it and InvalidGrantIdException
  // so (the latter not checked against AWS).
  const bare =
    /(SerializationException|UnknownOperationException|InvalidGrantIdException|InvalidCiphertextException)$/.test(
      o.__type,
    );
  if (!bare && typeof o.message !== 'string' && typeof o.Message !== 'string') {
    return `no message: ${answer.body.subarray(0, 200)}`;
  }
  return undefined;
}

export const keepAliveAgent = (sockets = 4) => new Agent({ keepAlive: true, maxSockets: sockets });

/** An AWS JSON-protocol service as the wire sees it: its target prefix, content type and signing name. */
export interface JsonService {
  readonly targetPrefix: string;
  readonly contentType: string;
  readonly signingName: string;
}

export const DYNAMODB: JsonService = {
  targetPrefix: 'DynamoDB_20120810',
  contentType: 'application/x-amz-json-1.0',
  signingName: 'dynamodb',
};
export const DYNAMODB_STREAMS: JsonService = {
  targetPrefix: 'DynamoDBStreams_20120810',
  contentType: 'application/x-amz-json-1.0',
  signingName: 'dynamodb',
};
export const KMS: JsonService = {
  targetPrefix: 'TrentService',
  contentType: 'application/x-amz-json-1.1',
  signingName: 'kms',
};
export const CLOUDTRAIL: JsonService = {
  targetPrefix: 'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101',
  contentType: 'application/x-amz-json-1.1',
  signingName: 'cloudtrail',
};

/**
 * An error answer, named as the SDKs name it (the `__type` after its namespace), so `errorText`
 * reads the same as for an SDK client's error.
 */
export class AwsCallError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = type;
  }
}

/**
 * Signed JSON calls on keep-alive connections, without an SDK client: the tamper part makes
 * ~20 calls on each of ~1,700 servers, and four SDK clients a case were most of its CPU.
 */
export class WireClient {
  private readonly agent: Agent;
  constructor(
    private readonly port: number,
    private readonly credentials: Credentials,
    private readonly region = 'us-east-1',
    sockets = 2,
  ) {
    this.agent = keepAliveAgent(sockets);
  }

  /** The parsed answer; an error answer (or one that is not JSON) rejects with an AwsCallError. */
  async call<T = Record<string, unknown>>(service: JsonService, operation: string, input: unknown): Promise<T> {
    const body = Buffer.from(JSON.stringify(input), 'utf8');
    const signed = sign({
      host: `127.0.0.1:${this.port}`,
      headers: { 'content-type': service.contentType, 'x-amz-target': `${service.targetPrefix}.${operation}` },
      body,
      credentials: this.credentials,
      region: this.region,
      service: service.signingName,
      date: new Date(),
    });
    const answer = await post(this.port, signed.path, signed.headers, body, this.agent);
    const text = answer.body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new AwsCallError('HttpError', `HTTP ${answer.status}: ${text.slice(0, 300)}`, answer.status);
    }
    if (answer.status >= 300) {
      const o = (parsed ?? {}) as Record<string, unknown>;
      const type = String(o.__type ?? `HTTP${answer.status}`);
      const message = String(o.message ?? o.Message ?? text.slice(0, 300));
      throw new AwsCallError(type.slice(type.lastIndexOf('#') + 1), message, answer.status);
    }
    return parsed as T;
  }

  destroy(): void {
    this.agent.destroy();
  }
}
