/**
 * CORS as DynamoDB's endpoint answers it, so browser apps can call sealdb. The header set and
 * values follow DynamoDB's recorded answers: its OPTIONS preflight (AllanZhengYP/cors-test,
 * output.md, dynamodb.us-east-1.amazonaws.com: 200, empty body, the requested method and headers
 * echoed, `Access-Control-Max-Age: 172800`), and dynalite's and ScyllaDB Alternator's tests against
 * DynamoDB (dynalite test/connection.js, alternator test/alternator/test_cors.py): no CORS headers
 * without an `Origin`, `Access-Control-Allow-Origin` and `-Expose-Headers` on every answer to one,
 * `Max-Age` and the echoes only on the preflight, and OPTIONS without an `Origin` is a 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** DynamoDB's list, plus x-amz-crc32 so browser SDKs can check the body they read. */
const EXPOSE_HEADERS = 'x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date,x-amz-crc32';
const PREFLIGHT_MAX_AGE_SECONDS = '172800';

export class CorsPolicy {
  readonly #anyOrigin: boolean;
  readonly #origins: ReadonlySet<string>;

  /** @param allowedOrigins exact origins (`scheme://host[:port]`), or `*` for any. */
  constructor(allowedOrigins: readonly string[]) {
    this.#anyOrigin = allowedOrigins.includes('*');
    this.#origins = new Set(allowedOrigins);
  }

  /**
   * Sets the headers every answer to a cross-origin request carries; false (and no CORS headers)
   * when the origin is not allowed.
   */
  apply(res: ServerResponse, origin: string): boolean {
    if (this.#anyOrigin) {
      res.setHeader('Access-Control-Allow-Origin', '*');
    } else {
      // The answer depends on the Origin, so shared caches must not reuse it for another one.
      res.setHeader('Vary', 'Origin');
      if (!this.#origins.has(origin)) return false;
      res.setHeader('Access-Control-Allow-Origin', origin);
    }
    res.setHeader('Access-Control-Expose-Headers', EXPOSE_HEADERS);
    return true;
  }

  /** Answers a preflight from an allowed origin (after `apply`). */
  answerPreflight(req: IncomingMessage, res: ServerResponse): void {
    const method = req.headers['access-control-request-method'];
    const headers = req.headers['access-control-request-headers'];
    if (method !== undefined) res.setHeader('Access-Control-Allow-Methods', method);
    if (headers !== undefined) res.setHeader('Access-Control-Allow-Headers', headers);
    res.setHeader('Access-Control-Max-Age', PREFLIGHT_MAX_AGE_SECONDS);
    res.statusCode = 200;
    res.setHeader('Content-Length', 0);
    res.end();
  }
}
