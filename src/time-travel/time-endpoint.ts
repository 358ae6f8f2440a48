/**
 * `POST /_sealdb/time` moves the clock of a server started with `--allow-time-travel` forward and
 * runs the background work due at the new time, so tests can pass the 7-day key-deletion and
 * archival windows; `GET` answers the server's time. For tests only: without the flag every move
 * is refused and nothing changes.
 */
import type { Clock, OffsetClock } from '../core/clock.js';
import { type AdminReply, type AdminRoute, isLoopbackAddress } from '../http/admin-route.js';

export const TIME_PATH = '/_sealdb/time';

export interface TimeEndpointOptions {
  /** The server's clock (current time for GET). */
  readonly clock: Clock;
  /** The movable clock when time travel is on; undefined when it is off. */
  readonly travel: OffsetClock | undefined;
  /** With strict auth the call, which carries no signature, is only taken from loopback clients. */
  readonly loopbackOnly: boolean;
  /** The server's background sweep (key checks, archival, audit hours). */
  readonly sweep: () => Promise<void>;
}

/** Far past any window sealdb keeps (the longest is a 7-day archival or a 30-day deletion). */
const MAX_ADVANCE_SECONDS = 100 * 366 * 24 * 60 * 60;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export const TIME_TRAVEL_OFF_MESSAGE =
  "Time travel is off: sealdb moves its clock only when started with --allow-time-travel (env SEALDB_ALLOW_TIME_TRAVEL=1, config allowTimeTravel: true), which is for tests only. The server's time was not changed.";

export function timeEndpoint(options: TimeEndpointOptions): AdminRoute {
  return async (request) => {
    if (request.method === 'GET') return { status: 200, body: timeBody(options) };
    if (request.method !== 'POST') {
      return refuse(405, 'MethodNotAllowedException', `${TIME_PATH} answers GET (the time) and POST (a move)`, {
        Allow: 'GET, POST',
      });
    }
    if (!options.travel) return refuse(403, 'AccessDeniedException', TIME_TRAVEL_OFF_MESSAGE);
    if (options.loopbackOnly && !isLoopbackAddress(request.remoteAddress)) {
      return refuse(
        403,
        'AccessDeniedException',
        `With --auth strict the time is only moved from the server's own host (loopback), not from ${request.remoteAddress}. The server's time was not changed.`,
      );
    }
    const move = parseMove(request.body, options.clock.now());
    if (typeof move === 'string') return refuse(400, 'ValidationException', move);
    options.travel.advance(move);
    // Each sweep takes a table one step (key unusable → inaccessible → ARCHIVING → ARCHIVED), as the
    // periodic sweep would have between the old time and the new: a jump runs two, so a table found
    // due for archival is archived once the call answers.
    await options.sweep();
    await options.sweep();
    return { status: 200, body: timeBody(options) };
  };
}

/** How far to move, in milliseconds, or what is wrong with the request. */
function parseMove(body: Buffer, nowMs: number): number | string {
  const usage = 'Send {"advanceSeconds": <seconds>} or {"set": "<ISO 8601 time with zone, e.g. 2030-01-01T00:00:00Z>"}';
  let input: unknown;
  try {
    input = JSON.parse(body.toString('utf8'));
  } catch {
    return `The body is not JSON. ${usage}`;
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    return `The body is not a JSON object. ${usage}`;
  const keys = Object.keys(input);
  if (keys.length !== 1 || (keys[0] !== 'advanceSeconds' && keys[0] !== 'set')) {
    return `The body must hold exactly one of advanceSeconds and set. ${usage}`;
  }
  const { advanceSeconds, set } = input as { advanceSeconds?: unknown; set?: unknown };
  if (keys[0] === 'advanceSeconds') {
    if (typeof advanceSeconds !== 'number' || !Number.isFinite(advanceSeconds)) {
      return 'advanceSeconds must be a number of seconds';
    }
    if (advanceSeconds < 0) return 'Time only moves forward: advanceSeconds must not be negative';
    if (advanceSeconds > MAX_ADVANCE_SECONDS)
      return `advanceSeconds must be at most ${MAX_ADVANCE_SECONDS} (100 years)`;
    return Math.round(advanceSeconds * 1000);
  }
  if (typeof set !== 'string' || !ISO_TIME.test(set) || Number.isNaN(Date.parse(set))) {
    return `set must be an ISO 8601 time with a zone, e.g. 2030-01-01T00:00:00Z, not ${JSON.stringify(set)}`;
  }
  const target = Date.parse(set);
  if (target < nowMs) {
    return `Time only moves forward: ${set} is before the server's time ${new Date(nowMs).toISOString()}`;
  }
  if (target - nowMs > MAX_ADVANCE_SECONDS * 1000) return 'set must be at most 100 years ahead of the server time';
  return target - nowMs;
}

function timeBody(options: TimeEndpointOptions): Record<string, unknown> {
  const now = options.clock.now();
  return {
    now: new Date(now).toISOString(),
    epochMillis: now,
    offsetSeconds: (options.travel?.offsetMs ?? 0) / 1000,
    timeTravel: options.travel ? 'on' : 'off',
  };
}

function refuse(status: number, type: string, message: string, headers?: Record<string, string>): AdminReply {
  return { status, body: { __type: type, message }, ...(headers ? { headers } : {}) };
}
