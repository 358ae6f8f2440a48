/**
 * One HTTP port for every service: routes AWS JSON-protocol requests by the
 * `X-Amz-Target` prefix, authenticates them, numbers TCP connections and
 * shapes every error as `{"__type", "message"}`.
 */
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { crc32 } from 'node:zlib';
import type { CheckVerdict } from '../validation/off-thread.js';
import type { AdminRoute } from './admin-route.js';
import type { Authenticator, Identity, PendingAuthentication } from './auth.js';
import { AwsError, CORAL_SERVICE, type EncodedBody, errorJson } from './aws-error.js';
import { ACCEPTED_CONTENT_ENCODINGS, decodeBody } from './content-encoding.js';
import { CorsPolicy } from './cors.js';
import { OFF_THREAD_JSON_BYTES, type Purpose, parseLargeJson } from './large-json/parse.js';
import { type RequestLogEntry, tableNamesOf } from './request-log.js';
import { type CallContext, PartlySerialized, type ServiceHandler } from './service.js';

const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
/**
 * Far deeper than any AWS input shape (DynamoDB items nest at most 32 levels): deeper JSON is
 * refused here, before any recursive validation could exhaust the stack.
 */
const MAX_JSON_DEPTH = 100;
/**
 * Node's default lets a request take 300 s. A client gets 20 s for its headers and 60 s for the
 * whole request (a 16 MiB body needs 2.3 Mbit/s), checked every 5 s; once a request is received,
 * its answer may take as long as it needs.
 */
const HEADERS_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 60_000;
const TIMEOUT_CHECK_INTERVAL_MS = 5_000;
/** How often connections that never sent a request are looked at: at most this late a close. */
const NEVER_USED_SWEEP_MS = 1_000;
const JSON_CONTENT_TYPES = new Set(['application/json', 'application/x-amz-json-1.0', 'application/x-amz-json-1.1']);

export interface HttpServerOptions {
  readonly services: readonly ServiceHandler[];
  readonly authenticator: Authenticator;
  readonly region: string;
  /** Plain GET routes such as /metrics; answered without authentication. */
  readonly getRoutes?: ReadonlyMap<string, () => Promise<{ contentType: string; body: string }>>;
  /** JSON routes of the server itself, any method (see admin-route.ts); they do their own access checks. */
  readonly adminRoutes?: ReadonlyMap<string, AdminRoute>;
  readonly onInternalError?: (error: unknown) => void;
  /** Told when a TCP connection closes, so per-connection key caches can be zeroed. */
  readonly onConnectionClosed?: (connectionId: number) => void;
  /** Origins whose requests get CORS headers; `*` (the default) allows any, as DynamoDB does. */
  readonly corsAllowedOrigins?: readonly string[];
  /** Told once per answered request (the request log); when absent, requests pay nothing for it. */
  readonly onRequestComplete?: (entry: RequestLogEntry) => void;
  /** Told when each request begins and ends (background work yields to requests by it). */
  readonly activity?: { begin(): void; end(): void };
  /** How long a client may take to send a whole request (default 60 s); tests shorten it. */
  readonly requestTimeoutMs?: number;
}

export interface SealdbHttpServer {
  readonly server: Server;
  /** Resolves when every in-flight request has been answered. */
  drain(): Promise<void>;
}

export function createHttpServer(options: HttpServerOptions): SealdbHttpServer {
  const byPrefix = new Map(options.services.map((s) => [s.targetPrefix, s]));
  const connectionIds = new WeakMap<Socket, number>();
  let nextConnectionId = 1;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const cors = new CorsPolicy(options.corsAllowedOrigins ?? ['*']);
  // DynamoDB's health check, as dynalite's tests record it (test/connection.js): the endpoint's
  // host name and a trailing space, with a CRC32 and no content type.
  const healthBody = Buffer.from(`healthy: dynamodb.${options.region}.amazonaws.com `, 'utf8');
  const healthCrc = crc32(healthBody);
  const onRequestComplete = options.onRequestComplete;
  /** Table names of the requests being logged, set once the body is parsed. */
  const loggedTables = new WeakMap<IncomingMessage, string | undefined>();

  const beginAuthentication = options.authenticator.beginAuthentication?.bind(options.authenticator);
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;

  const serverOptions: ServerOptions = {
    keepAlive: true,
    keepAliveTimeout: 60_000,
    requestTimeout,
    headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout),
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_INTERVAL_MS, requestTimeout),
  };

  const headersTimeout = Math.min(HEADERS_TIMEOUT_MS, requestTimeout);
  const neverUsed = new NeverUsedConnections(headersTimeout);
  const server = createServer(serverOptions, (req, res) => {
    // Its headers are in: from here Node's own request and keep-alive timeouts take over.
    neverUsed.used(req.socket);
    // A monotonic duration, not a point in time: the injectable clock is not needed for it.
    const started = onRequestComplete ? performance.now() : 0;
    inFlight++;
    options.activity?.begin();
    handle(req, res)
      .catch((error: unknown) => {
        options.onInternalError?.(error);
        if (!res.headersSent)
          send(
            res,
            500,
            'application/x-amz-json-1.0',
            errorBody(new AwsError('InternalFailure', 'Internal server error', 500)),
            true,
          );
      })
      .finally(() => {
        if (onRequestComplete) {
          try {
            onRequestComplete(logEntry(req, res, started, connectionIds.get(req.socket) ?? 0, loggedTables.get(req)));
          } catch (error) {
            // A failing log must not take the server down with an unhandled rejection.
            options.onInternalError?.(error);
          }
        }
        inFlight--;
        options.activity?.end();
        if (inFlight === 0 && drained) drained();
      });
  });
  server.on('connection', (socket: Socket) => {
    const id = nextConnectionId++;
    connectionIds.set(socket, id);
    // Node's headersTimeout only runs once a request has begun: a connection that never sends a
    // byte would be held forever (10k of them hold 10k descriptors; found by the hostile-HTTP part
    // of the reliability suite). The first request's headers must arrive within the same bound of
    // the connection's accept; after that Node's own request and keep-alive timeouts apply.
    neverUsed.accepted(socket);
    socket.once('close', () => {
      neverUsed.used(socket);
      options.onConnectionClosed?.(id);
    });
  });
  server.once('close', () => neverUsed.stop());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = requestId();
    res.setHeader('x-amzn-RequestId', id);
    const origin = req.headers.origin;
    if (origin !== undefined && cors.apply(res, origin) && req.method === 'OPTIONS') {
      cors.answerPreflight(req, res);
      return;
    }
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const target = header(req, 'x-amz-target') ?? '';
    const dot = target.lastIndexOf('.');
    // Requests without a known target are answered in the DynamoDB dialect, as DynamoDB would.
    const service = byPrefix.get(dot > 0 ? target.slice(0, dot) : '');
    const contentType = (header(req, 'content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const dialectType = service?.contentType ?? 'application/x-amz-json-1.0';
    // The answer is in the client's dialect: DynamoDB answers application/json to anything but its
    // own x-amz-json-1.0, as dynalite's tests record it (test/connection.js); KMS and CloudTrail
    // likewise around their x-amz-json-1.1.
    const responseType = contentType === dialectType ? dialectType : 'application/json';
    const withCrc = dialectType.endsWith('1.0');
    const reply = (status: number, payload: string | Buffer | EncodedBody) =>
      send(res, status, responseType, payload, withCrc);
    const protocolNs = service ? service.protocolErrorNamespace : CORAL_SERVICE;

    // A body declared too large is refused before a byte of it is read, and the connection closed.
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > MAX_REQUEST_BYTES) {
      refuseTooLarge(req, res, reply, protocolNs, true);
      return;
    }
    // With strict auth, what the headers can refuse is refused before the body is read, and the
    // body is hashed as it arrives: nothing of an unsigned body is ever parsed.
    let pending: PendingAuthentication | undefined;
    if (beginAuthentication && service && req.method === 'POST' && JSON_CONTENT_TYPES.has(contentType)) {
      try {
        pending = beginAuthentication({ method: req.method, path, query, headers: req.headers }, service.signingName);
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        discardBody(req);
        reply(error.statusCode, errorBody(error));
        return;
      }
    }
    let body = await readBody(req, pending);
    if (body === undefined) {
      refuseTooLarge(req, res, reply, protocolNs, true);
      return;
    }
    if (req.method === 'GET' && options.getRoutes?.has(path)) {
      const route = await (options.getRoutes.get(path) as () => Promise<{ contentType: string; body: string }>)();
      res.setHeader('Content-Type', route.contentType);
      res.end(route.body);
      return;
    }
    const adminRoute = options.adminRoutes?.get(path);
    if (adminRoute) {
      const answer = await adminRoute({
        method: req.method ?? '',
        body,
        remoteAddress: req.socket.remoteAddress ?? '',
      });
      for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
      send(res, answer.status, 'application/json', JSON.stringify(answer.body), false);
      return;
    }
    if (req.method === 'GET' && path === '/') {
      res.statusCode = 200;
      res.setHeader('Content-Length', healthBody.length);
      res.setHeader('x-amz-crc32', healthCrc);
      res.end(healthBody);
      return;
    }

    if (req.method !== 'POST' || (body.length > 0 && !JSON_CONTENT_TYPES.has(contentType))) {
      // What DynamoDB answers to non-POST or non-JSON requests.
      res.statusCode = 404;
      res.setHeader('x-amz-crc32', crc32('<UnknownOperationException/>\n'));
      res.end('<UnknownOperationException/>\n');
      return;
    }
    let identity: Identity | undefined;
    if (pending) {
      try {
        identity = pending.finish();
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        reply(error.statusCode, errorBody(error));
        return;
      }
    }

    // The signature covers the body as sent; only the JSON is read from the decoded bytes.
    let json = body;
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && body.length > 0) {
      const decoded = await decodeBody(body, encoding, MAX_REQUEST_BYTES);
      if (!decoded.ok) {
        if (decoded.reason === 'too-large') {
          refuseTooLarge(req, res, reply, protocolNs, false);
        } else if (decoded.reason === 'unsupported') {
          // DynamoDB answers a 500 here (Alternator's test_compressed_request.py); a client mistake is a 4xx.
          res.setHeader('Accept-Encoding', ACCEPTED_CONTENT_ENCODINGS);
          const message = `Content-Encoding '${decoded.coding}' is not supported: send the body uncompressed, or as ${ACCEPTED_CONTENT_ENCODINGS}`;
          reply(415, errorBody(new AwsError('SerializationException', message, 415, protocolNs)));
        } else {
          const message = `The request body could not be decoded as ${decoded.coding}, as its Content-Encoding says`;
          reply(400, errorBody(new AwsError('SerializationException', message, 400, protocolNs)));
        }
        return;
      }
      json = decoded.body;
    }

    const operation = dot > 0 ? target.slice(dot + 1) : '';
    let input: unknown;
    let verdict: CheckVerdict | undefined;
    let tableNames: string | undefined;
    if (json.length > OFF_THREAD_JSON_BYTES) {
      const parsed = await parseLargeJson(json, MAX_JSON_DEPTH, largeBodyPurpose(service, operation));
      // The bytes went to the worker and back: the Buffer handed over is empty now.
      if (json === body) body = parsed.bytes;
      if (!parsed.ok) {
        reply(400, errorBody(jsonError(parsed.reason, protocolNs)));
        return;
      }
      input = parsed.value;
      verdict = parsed.verdict;
      tableNames = parsed.tableNames;
    } else if (json.length > 0) {
      // Never decoded lossily: invalid sequences would become U+FFFD and be stored as such.
      if (!isUtf8(json)) {
        reply(400, errorBody(jsonError('utf8', protocolNs)));
        return;
      }
      try {
        input = JSON.parse(json.toString('utf8'));
      } catch {
        reply(400, errorBody(jsonError('syntax', protocolNs)));
        return;
      }
      if (jsonDepth(input) > MAX_JSON_DEPTH) {
        reply(400, errorBody(jsonError('depth', protocolNs)));
        return;
      }
      tableNames = tableNamesOf(input);
    }
    if (onRequestComplete) loggedTables.set(req, tableNames);
    if (!service?.hasOperation(operation)) {
      const message = unknownOperationMessage(target, operation, service);
      reply(400, errorBody(new AwsError('UnknownOperationException', message, 400, protocolNs)));
      return;
    }
    try {
      identity ??= options.authenticator.authenticate(
        {
          method: req.method,
          path,
          query,
          headers: req.headers,
          body,
        },
        service.signingName,
      );
      if (input === undefined || input === null || typeof input !== 'object' || Array.isArray(input)) {
        throw new AwsError('SerializationException', undefined, 400, protocolNs);
      }
      const ctx: CallContext = {
        requestId: id,
        connectionId: connectionIds.get(req.socket) ?? 0,
        principal: identity.principal,
        // The region of the credential scope, as AWS would route it; the server's own without one.
        region: identity.region ?? options.region,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: header(req, 'user-agent') ?? '',
      };
      const result = await service.dispatch(operation, input as Record<string, unknown>, ctx, verdict);
      reply(200, result instanceof PartlySerialized ? result.toJsonBytes() : JSON.stringify(result ?? {}));
    } catch (error) {
      if (error instanceof AwsError) {
        reply(error.statusCode, errorBody(error));
        return;
      }
      options.onInternalError?.(error);
      reply(500, errorBody(service.internalError()));
    }
  }

  return {
    server,
    drain: () =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            drained = resolve;
          }),
  };
}

/**
 * Connections accepted whose first request's headers have not arrived, closed once they are
 * `timeoutMs` old. One sweep a second over them in order of accept (so it stops at the first one
 * not yet due), rather than a timer or an idle timeout per socket: the socket's idle timeout did
 * not always fire under load (test/http/idle-connections), and 10k idle connections are 10k
 * timers to arm and clear. The deadline is measured from the accept on a monotonic clock, so a
 * late sweep closes what is due all at once and never early.
 */
class NeverUsedConnections {
  /** Socket → when it was accepted (performance.now()); a Map keeps the order of insertion. */
  private readonly since = new Map<Socket, number>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  accepted(socket: Socket): void {
    this.since.set(socket, performance.now());
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.sweep(), Math.min(NEVER_USED_SWEEP_MS, this.timeoutMs));
      this.sweeper.unref();
    }
  }

  /** Its first request began, or it closed: no longer watched. */
  used(socket: Socket): void {
    this.since.delete(socket);
    if (this.since.size === 0) this.stop();
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const due = performance.now() - this.timeoutMs;
    for (const [socket, at] of this.since) {
      if (at > due) break;
      this.since.delete(socket);
      socket.destroy();
    }
    if (this.since.size === 0) this.stop();
  }
}

/**
 * What a large body must be parsed into: nothing for an operation that is answered without it,
 * the model check's verdict where the service lends its check to the worker, else the value.
 */
function largeBodyPurpose(service: ServiceHandler | undefined, operation: string): Purpose {
  if (!service?.hasOperation(operation)) return { kind: 'syntax' };
  if (service.offThreadCheck) return { kind: 'check', check: { ...service.offThreadCheck, operation } };
  return { kind: 'value' };
}

function logEntry(
  req: IncomingMessage,
  res: ServerResponse,
  started: number,
  connectionId: number,
  tableName: string | undefined,
): RequestLogEntry {
  const target = header(req, 'x-amz-target') ?? '';
  const dot = target.lastIndexOf('.');
  const requestId = res.getHeader('x-amzn-RequestId');
  return {
    operation: dot > 0 ? target.slice(dot + 1) : `${req.method ?? ''}:${(req.url ?? '/').split('?')[0]}`,
    ...(tableName !== undefined ? { tableName } : {}),
    status: res.statusCode,
    durationMs: performance.now() - started,
    requestId: typeof requestId === 'string' ? requestId : '',
    connectionId,
  };
}

/** Nesting depth of parsed JSON, measured without recursion (the input may be hostile). */
function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > deepest) deepest = depth + 1;
    if (deepest > MAX_JSON_DEPTH) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/**
 * DynamoDB sends UnknownOperationException without a message (dynalite test/connection.js); the
 * CLI then prints "Unknown" and the SDKs "UnknownError". sealdb names the operation, and says
 * whether the API has it but sealdb does not implement it, or the name is wrong.
 */
function unknownOperationMessage(target: string, operation: string, service: ServiceHandler | undefined): string {
  if (target === '') return 'The request has no X-Amz-Target header naming an operation.';
  if (!service) return `${target} is not an operation of any service sealdb serves.`;
  if (service.modelHasOperation?.(operation)) return `${operation} is not supported by sealdb.`;
  return `${operation} is not an operation of ${service.targetPrefix}.`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The body, hashed chunk by chunk into `pending` when its signature is to be checked; undefined
 * as soon as it passes the limit (the rest is not waited for).
 */
function readBody(req: IncomingMessage, pending?: PendingAuthentication): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    // A large body of a declared length is copied in as it arrives: one Buffer.concat of 15 MB
    // at its end held the event loop for ~5 ms. (Its own ArrayBuffer also moves to a worker as is.)
    const declared = Number(header(req, 'content-length'));
    const whole =
      Number.isSafeInteger(declared) && declared > OFF_THREAD_JSON_BYTES && declared <= MAX_REQUEST_BYTES
        ? Buffer.allocUnsafeSlow(declared)
        : undefined;
    let filled = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        // Paused, not just left: a stream without a listener flows on, and the rest of the body
        // was read (and dropped) until the socket closed (the reliability suite's hostile-HTTP part).
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      pending?.update(chunk);
      if (whole && chunks.length === 0 && size <= whole.length) {
        chunk.copy(whole, filled);
        filled = size;
      } else chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (!whole) resolve(Buffer.concat(chunks, size));
      else if (chunks.length > 0) resolve(Buffer.concat([whole.subarray(0, filled), ...chunks], size));
      else resolve(filled === whole.length ? whole : whole.subarray(0, filled));
    });
    req.on('error', reject);
  });
}

/**
 * Reads and drops the body of a request answered without it, so the connection can carry the
 * next request; a body that outgrows the limit (only a chunked one can) costs the connection.
 */
function discardBody(req: IncomingMessage): void {
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) req.socket.destroy();
  });
}

/**
 * 413 in the AWS shape other Coral-service emulators answer it (RequestEntityTooLargeException,
 * e.g. an SQS emulator's tests; DynamoDB's own answer is not recorded). `close`: the rest of the
 * body is not read, so the connection cannot carry another request.
 */
function refuseTooLarge(
  req: IncomingMessage,
  res: ServerResponse,
  reply: (status: number, payload: string | Buffer | EncodedBody) => void,
  namespace: string | undefined,
  close: boolean,
): void {
  if (close) {
    res.setHeader('Connection', 'close');
    // Not another byte of the body is read: Node drains a body nobody read before it closes the
    // connection (and a paused one would be resumed to be drained), so the socket is closed as
    // soon as the answer is written.
    req.pause();
    const socket = req.socket;
    res.once('finish', () => socket.destroy());
  }
  const message = `The request body is larger than the ${MAX_REQUEST_BYTES} bytes allowed`;
  reply(413, errorBody(new AwsError('RequestEntityTooLargeException', message, 413, namespace)));
}

/** The SerializationException for a body that is not the JSON an operation reads. */
function jsonError(reason: 'utf8' | 'syntax' | 'depth', namespace: string | undefined): AwsError {
  // DynamoDB answers unparseable JSON with a message-less SerializationException (dynalite
  // test/connection.js), and so it did to Latin-1 bytes sent as UTF-8 (aws/aws-sdk-js#46); sealdb
  // says what is wrong with the body for invalid UTF-8 and too deep nesting.
  const message =
    reason === 'utf8'
      ? 'The request body is not valid UTF-8'
      : reason === 'depth'
        ? `The request nests deeper than ${MAX_JSON_DEPTH} levels`
        : undefined;
  return new AwsError('SerializationException', message, 400, namespace);
}

function errorBody(error: AwsError): string | EncodedBody {
  return error.encodedBody ?? errorJson(error);
}

/** `payload`: JSON text, its UTF-8 bytes, or bytes with their CRC32 already known. */
function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  payload: string | Buffer | EncodedBody,
  withCrc: boolean,
): void {
  const encoded = typeof payload !== 'string' && !Buffer.isBuffer(payload);
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : encoded ? payload.bytes : payload;
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', bytes.length);
  if (withCrc) res.setHeader('x-amz-crc32', encoded ? payload.crc32 : crc32(bytes));
  res.end(bytes);
}

const REQUEST_ID_CHARS = Buffer.from('0123456789ABCDEFGHIJKLMNOPQRSTUV', 'latin1');
const REQUEST_ID_LENGTH = 52;
/**
 * Random bytes are drawn in bulk (one randomFillSync per request cost ~5% of a GetItem) and
 * turned into id characters in place, so each id is one latin1 slice, not 52 concatenations.
 */
const requestIdPool = Buffer.alloc(REQUEST_ID_LENGTH * 1024);
let requestIdOffset = requestIdPool.length;

/** DynamoDB request ids are 52 upper-case alphanumerics. */
function requestId(): string {
  if (requestIdOffset === requestIdPool.length) {
    randomFillSync(requestIdPool);
    for (let i = 0; i < requestIdPool.length; i++) {
      requestIdPool[i] = REQUEST_ID_CHARS[(requestIdPool[i] as number) & 31] as number;
    }
    requestIdOffset = 0;
  }
  const id = requestIdPool.toString('latin1', requestIdOffset, requestIdOffset + REQUEST_ID_LENGTH);
  requestIdOffset += REQUEST_ID_LENGTH;
  return id;
}
