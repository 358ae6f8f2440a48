/**
 * AWS Signature Version 4, signed in the Authorization header or in the query string (a presigned
 * request), answering malformed or wrong signatures with the Coral error types and texts DynamoDB
 * uses.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { AwsError, CORAL_SERVICE } from './aws-error.js';

export type HeaderMap = Record<string, string | string[] | undefined>;

/** The parts of an HTTP request a signature covers. */
export interface SignedRequest {
  readonly method: string;
  /** The path as sent on the wire, without the query string. */
  readonly path: string;
  /** The raw query string, with or without its leading `?`. */
  readonly query: string;
  readonly headers: HeaderMap;
  readonly body: Buffer;
}

/** What a signature covers besides the body: all a server knows before the body has arrived. */
export type SignedRequestHead = Omit<SignedRequest, 'body'>;

export interface ParsedSignature {
  readonly algorithm: string;
  readonly accessKeyId: string;
  /** `YYYYMMDD` from the credential scope. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly terminator: string;
  /** Lower-cased header names, in the order the client listed them. */
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  /** `YYYYMMDDTHHMMSSZ` from `X-Amz-Date` (or `Date`). */
  readonly amzDate: string;
  readonly securityToken?: string;
  /** Signed in the query string (X-Amz-Algorithm, …): `X-Amz-Expires` in seconds, when given. */
  readonly presigned?: { readonly expiresSeconds?: number };
}

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
/** How far a request's timestamp may be from the server clock either way. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
const BASIC_FORMAT = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const incomplete = (message: string) => new AwsError('IncompleteSignatureException', message, 400, CORAL_SERVICE);
const invalid = (message: string) => new AwsError('InvalidSignatureException', message, 400, CORAL_SERVICE);

/** Node lower-cases header names, but callers building requests by hand may not. */
function rawHeader(headers: HeaderMap, name: string): string | string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === name && headers[key] !== undefined) return headers[key];
  }
  return undefined;
}

/** A header's value, repeated values joined with `,` as SigV4 canonicalises them. */
export function getHeader(headers: HeaderMap, name: string): string | undefined {
  const value = rawHeader(headers, name.toLowerCase());
  return Array.isArray(value) ? value.join(',') : value;
}

export function parseAuthorization(headers: HeaderMap): ParsedSignature {
  const rawAuth = rawHeader(headers, 'authorization');
  // Node keeps only the first Authorization header; do the same for hand-built maps.
  const auth = Array.isArray(rawAuth) ? rawAuth[0] : rawAuth;
  if (!auth?.trim().startsWith('AWS4-')) {
    throw new AwsError(
      'MissingAuthenticationTokenException',
      'Request is missing Authentication Token',
      400,
      CORAL_SERVICE,
    );
  }

  const trimmed = auth.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  const paramText = space < 0 ? '' : trimmed.slice(space).replace(/\s+/g, '');
  const params = new Map<string, string>();
  for (const part of paramText.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) {
      throw incomplete(`'${part}' not a valid key=value pair (missing equal-sign) in Authorization header: '${auth}'.`);
    }
    params.set(part.slice(0, eq), part.slice(eq + 1));
  }

  const amzDateHeader = getHeader(headers, 'x-amz-date');
  const amzDate = amzDateHeader ?? getHeader(headers, 'date');
  let missing = '';
  for (const name of ['Credential', 'Signature', 'SignedHeaders']) {
    if (!params.get(name)) missing += `Authorization header requires '${name}' parameter. `;
  }
  if (!amzDate) missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  if (missing) throw incomplete(`${missing}Authorization=${auth}`);

  const date = amzDate as string;
  if (parseAmzDate(date) === undefined) {
    throw incomplete(
      `Date must be in ISO-8601 'basic format'. Got '${date}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }

  const signedHeaders = signedHeaderNames(params.get('SignedHeaders') as string);

  if (algorithm !== SIGV4_ALGORITHM) {
    throw incomplete(`Unsupported AWS 'algorithm': '${algorithm}' (only ${SIGV4_ALGORITHM} for now). `);
  }

  const credential = params.get('Credential') as string;
  const securityToken = getHeader(headers, 'x-amz-security-token');
  return {
    algorithm,
    ...credentialScope(credential),
    signedHeaders,
    signature: params.get('Signature') as string,
    amzDate: date,
    ...(securityToken !== undefined ? { securityToken } : {}),
  };
}

/** The SignedHeaders list, lower case; `host` must be one of them (as AWS requires). */
function signedHeaderNames(list: string): string[] {
  const names = list.split(';').map((h) => h.toLowerCase());
  if (!names.includes('host')) {
    throw invalid("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return names;
}

/** The five parts of a Credential (`keyid/date/region/service/aws4_request`). */
function credentialScope(credential: string): {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
} {
  const scope = credential.replace(/\/+$/, '').split('/');
  if (scope.length !== 5) {
    throw incomplete(
      `Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${credential}'`,
    );
  }
  const [accessKeyId, scopeDate, region, service, terminator] = scope as [string, string, string, string, string];
  return { accessKeyId, date: scopeDate, region, service, terminator };
}

/** The query string's parameters, decoded (the first of a repeated name). */
function queryParams(query: string): Map<string, string> {
  const params = new Map<string, string>();
  const raw = query.startsWith('?') ? query.slice(1) : query;
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = safeDecode((eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
    if (!params.has(name)) params.set(name, safeDecode((eq < 0 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' ')));
  }
  return params;
}

/** The query parameters of a presigned request (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html). */
const QUERY_AUTH_PARAMS = [
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
];
/**
 * A presigned request's longest validity (seven days: the signing key is derived from the day and
 * is valid that long), and the shortest (1 s), as AWS documents X-Amz-Expires
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html) and as the SDK
 * signers enforce (@smithy/signature-v4 presign: MAX_PRESIGNED_TTL = 604800).
 */
export const MAX_PRESIGNED_EXPIRES_S = 604_800;

/**
 * A request's signature, from its Authorization header or its query string. AWS accepts SigV4
 * signed in the query string for every service, not only S3: "Amazon DynamoDB itself works with
 * the signing mechanism provided (we have integration tests for this case)" (AWS SDK maintainer,
 * https://github.com/aws/aws-sdk-go/issues/94; DynamoDB Local did not, answering "Request must
 * contain either a valid (registered) AWS access key ID or X.509 certificate"). Both forms at once
 * are refused, as S3 refuses them ("Only one auth mechanism allowed"): which one the request means
 * is ambiguous.
 */
export function parseSignature(head: Pick<SignedRequestHead, 'headers' | 'query'>): ParsedSignature {
  const params = queryParams(head.query);
  const inQuery = QUERY_AUTH_PARAMS.some((name) => params.has(name));
  if (!inQuery) return parseAuthorization(head.headers);
  if (rawHeader(head.headers, 'authorization') !== undefined) {
    throw new AwsError(
      'InvalidSignatureException',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified',
      400,
      CORAL_SERVICE,
    );
  }
  return parseQueryAuthorization(params);
}

/** A presigned request's signature parameters, checked as the Authorization header's are. */
function parseQueryAuthorization(params: Map<string, string>): ParsedSignature {
  const missing = QUERY_AUTH_PARAMS.filter((name) => !params.get(name));
  if (missing.length > 0) {
    // S3's words for the same fault (AuthorizationQueryParametersError); DynamoDB's own are not published.
    throw incomplete(
      `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders parameters; missing ${missing.join(', ')}.`,
    );
  }
  const algorithm = params.get('X-Amz-Algorithm') as string;
  if (algorithm !== SIGV4_ALGORITHM) {
    throw incomplete(`Unsupported AWS 'algorithm': '${algorithm}' (only ${SIGV4_ALGORITHM} for now). `);
  }
  const date = params.get('X-Amz-Date') as string;
  if (parseAmzDate(date) === undefined) {
    throw incomplete(
      `Date must be in ISO-8601 'basic format'. Got '${date}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }
  const expiresText = params.get('X-Amz-Expires');
  let expiresSeconds: number | undefined;
  if (expiresText !== undefined) {
    expiresSeconds = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : Number.NaN;
    if (!(expiresSeconds >= 1 && expiresSeconds <= MAX_PRESIGNED_EXPIRES_S)) {
      // The documented bounds (MAX_PRESIGNED_EXPIRES_S), in S3's words.
      throw incomplete(
        `X-Amz-Expires must be an integer from 1 to ${MAX_PRESIGNED_EXPIRES_S} (seconds, at most a week); got '${expiresText}'.`,
      );
    }
  }
  const signedHeaders = signedHeaderNames(params.get('X-Amz-SignedHeaders') as string);
  const credential = params.get('X-Amz-Credential') as string;
  const securityToken = params.get('X-Amz-Security-Token');
  return {
    algorithm,
    ...credentialScope(credential),
    signedHeaders,
    signature: params.get('X-Amz-Signature') as string,
    amzDate: date,
    ...(securityToken !== undefined ? { securityToken } : {}),
    presigned: expiresSeconds !== undefined ? { expiresSeconds } : {},
  };
}

/** Milliseconds since the epoch for a `YYYYMMDDTHHMMSSZ` stamp, or undefined if it is not one. */
export function parseAmzDate(value: string): number | undefined {
  // Stamps have one-second resolution: consecutive requests mostly carry the same one.
  if (value === lastStamp.value) return lastStamp.ms;
  const ms = parseNewAmzDate(value);
  lastStamp = { value, ms };
  return ms;
}

let lastStamp: { readonly value: string; readonly ms: number | undefined } = { value: '', ms: undefined };

function parseNewAmzDate(value: string): number | undefined {
  const m = BASIC_FORMAT.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  // Date.UTC would roll 20240230 over into March, so each field is range-checked first.
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

export function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

/**
 * Rejects stamps more than 15 minutes from the clock, so captured requests cannot be replayed later.
 * A presigned request gets the same window, whatever its X-Amz-Expires: only S3 honours that
 * value; "All other AWS services will use a fixed request signature expiration of about 15
 * minutes" (AWS SDK maintainer, https://github.com/aws/aws-sdk-go/pull/2224, for
 * https://github.com/aws/aws-sdk-go/issues/2167, where STS was seen to ignore it), and the
 * maximum of a week "is specific to S3 presigned URLs" (https://github.com/aws/aws-cli/issues/5464).
 * So an expired presigned request gets the header form's "Signature expired" answer.
 */
export function checkRequestTime(parsed: ParsedSignature, clock: Clock): void {
  const requestMs = parseAmzDate(parsed.amzDate);
  if (requestMs === undefined) {
    throw incomplete(
      `Date must be in ISO-8601 'basic format'. Got '${parsed.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }
  const now = clock.now();
  if (requestMs < now - MAX_CLOCK_SKEW_MS) {
    throw invalid(
      `Signature expired: ${parsed.amzDate} is now earlier than ${formatAmzDate(now - MAX_CLOCK_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`,
    );
  }
  if (requestMs > now + MAX_CLOCK_SKEW_MS) {
    throw invalid(
      `Signature not yet current: ${parsed.amzDate} is still later than ${formatAmzDate(now + MAX_CLOCK_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`,
    );
  }
}

/**
 * Region names sealdb serves: any name shaped like one (`us-east-1`, also the `local` and
 * `localhost` that DynamoDB Local users put in their configs), since one endpoint serves every
 * region the client picks. The name becomes part of ARNs and trail file paths, so nothing else
 * (no dots, slashes, capitals; at most 32 characters) gets that far.
 */
const REGION_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_REGION_LENGTH = 32;

export const isRegionName = (region: string): boolean => region.length <= MAX_REGION_LENGTH && REGION_NAME.test(region);

/** AWS's words for a credential scoped to a region the endpoint does not serve. */
const invalidRegionText = (region: string): string =>
  `Credential should be scoped to a valid region, not '${region}'. `;

/** The region of the credential scope; InvalidSignatureException, as AWS answers, when it is not one. */
export function credentialRegion(parsed: ParsedSignature): string {
  if (!isRegionName(parsed.region)) throw invalid(invalidRegionText(parsed.region));
  return parsed.region;
}

/**
 * Checks the credential scope the way DynamoDB does, reporting every wrong
 * piece in one message.
 */
export function checkCredentialScope(parsed: ParsedSignature, expectedService: string): void {
  let msg = '';
  if (!isRegionName(parsed.region)) msg += invalidRegionText(parsed.region);
  if (parsed.service !== expectedService) {
    msg += `Credential should be scoped to correct service: '${expectedService}'. `;
  }
  if (parsed.terminator !== TERMINATOR) {
    msg += `Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${parsed.terminator}'. `;
  }
  const httpDay = parsed.amzDate.slice(0, 8);
  if (parsed.date !== httpDay) {
    msg +=
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
      `'${parsed.date}' != '${httpDay}', from '${parsed.amzDate}'.`;
  }
  if (msg) throw invalid(msg);
}

/** encodeURIComponent plus the RFC 3986 reserved characters it leaves alone, as the SDK signers do. */
function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * SDKs sign the wire path URI-encoded once more (segment-wise, after
 * resolving `.` and `..`); for every JSON-protocol call that is just `/`.
 */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/') || '/';
}

export function canonicalQuery(query: string): string {
  const raw = query.startsWith('?') ? query.slice(1) : query;
  const byKey = new Map<string, string[]>();
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = escapeUri(safeDecode(eq < 0 ? pair : pair.slice(0, eq)));
    const value = escapeUri(safeDecode(eq < 0 ? '' : pair.slice(eq + 1)));
    if (key.toLowerCase() === 'x-amz-signature') continue;
    const values = byKey.get(key) ?? [];
    values.push(`${key}=${value}`);
    byKey.set(key, values);
  }
  return [...byKey.keys()]
    .sort()
    .map((key) => (byKey.get(key) as string[]).sort().join('&'))
    .join('&');
}

function canonicalHeaderValue(value: string): string {
  return value.replace(/[ \t\r\n]+/g, ' ').trim();
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

export function canonicalRequest(parsed: ParsedSignature, request: SignedRequest): string {
  // Always hash the body we actually received, even if the client declared a
  // different x-amz-content-sha256 or UNSIGNED-PAYLOAD: the signature must cover the bytes we act on.
  return canonicalRequestOf(parsed, request, sha256Hex(request.body));
}

/** @param payloadHash hex SHA-256 of the body as received (hashed while it streams in). */
export function canonicalRequestOf(parsed: ParsedSignature, request: SignedRequestHead, payloadHash: string): string {
  const names = [...new Set(parsed.signedHeaders)].sort();
  const headerLines = names.map((name) => `${name}:${canonicalHeaderValue(getHeader(request.headers, name) ?? '')}\n`);
  return [
    request.method.toUpperCase(),
    canonicalPath(request.path),
    canonicalQuery(request.query),
    headerLines.join(''),
    names.join(';'),
    payloadHash,
  ].join('\n');
}

export function stringToSign(parsed: ParsedSignature, canonical: string): string {
  const scope = `${parsed.date}/${parsed.region}/${parsed.service}/${parsed.terminator}`;
  return [SIGV4_ALGORITHM, parsed.amzDate, scope, sha256Hex(canonical)].join('\n');
}

function signingKey(secretAccessKey: string, parsed: ParsedSignature): Buffer {
  let key = hmac(`AWS4${secretAccessKey}`, parsed.date);
  for (const part of [parsed.region, parsed.service, parsed.terminator]) key = hmac(key, part);
  return key;
}

/** Constant-time string comparison that also hides where (or whether) lengths differ. */
function constantTimeEquals(a: string, b: string): boolean {
  // Digesting first makes both sides the same length, so timingSafeEqual never throws.
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

export function verifySignature(
  parsed: ParsedSignature,
  request: SignedRequest,
  secretAccessKey: string,
  clock: Clock,
): void {
  verifyPayloadSignature(parsed, request, sha256Hex(request.body), secretAccessKey, clock);
}

/** verifySignature for a body that was hashed as it arrived: `payloadHash` is its hex SHA-256. */
export function verifyPayloadSignature(
  parsed: ParsedSignature,
  request: SignedRequestHead,
  payloadHash: string,
  secretAccessKey: string,
  clock: Clock,
): void {
  checkRequestTime(parsed, clock);
  const expected = createHmac('sha256', signingKey(secretAccessKey, parsed))
    .update(stringToSign(parsed, canonicalRequestOf(parsed, request, payloadHash)), 'utf8')
    .digest('hex');
  if (!constantTimeEquals(expected, parsed.signature)) {
    throw invalid(
      'The request signature we calculated does not match the signature you provided. ' +
        'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    );
  }
}
