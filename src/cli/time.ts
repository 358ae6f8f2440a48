/**
 * `sealdb time show|advance|set`: reads or moves the clock of a running server started with
 * `--allow-time-travel` (tests only), through its `/_sealdb/time` endpoint.
 */
import type { Command } from 'commander';
import { TIME_PATH } from '../time-travel/time-endpoint.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** `7d`, `1h30m`, `90s` or plain seconds (`90`), as seconds. */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhd]?)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new Error(`not a duration: '${text}' (examples: 7d, 1h30m, 90s, 90)`);
  }
  return parts.reduce((total, [, amount, unit]) => total + Number(amount) * (UNIT_SECONDS[unit || 's'] as number), 0);
}

interface TimeFlags {
  endpointUrl: string;
}

async function callTime(flags: TimeFlags, body?: Record<string, unknown>): Promise<void> {
  const url = new URL(TIME_PATH, flags.endpointUrl);
  let response: Response;
  try {
    response = await fetch(url, {
      method: body ? 'POST' : 'GET',
      ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message ?? String(error);
    throw new Error(`cannot reach ${url}: ${cause}`);
  }
  const text = await response.text();
  let answer: { now?: string; offsetSeconds?: number; timeTravel?: string; message?: string };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    throw new Error(`${url} answered ${response.status} with something other than JSON: is it a sealdb server?`);
  }
  if (!response.ok) throw new Error(answer.message ?? `${url} answered ${response.status}`);
  console.log(`server time: ${answer.now} (offset ${answer.offsetSeconds} s; time travel ${answer.timeTravel})`);
}

export function registerTimeCommands(program: Command): void {
  const time = program
    .command('time')
    .description('read or move the clock of a server started with --allow-time-travel (tests only)');
  const endpointOption = (command: Command) =>
    command.option(
      '--endpoint-url <url>',
      'the server (default env AWS_ENDPOINT_URL, else http://127.0.0.1:8000)',
      process.env.AWS_ENDPOINT_URL || 'http://127.0.0.1:8000',
    );
  endpointOption(time.command('show').description("print the server's time")).action((flags: TimeFlags) =>
    callTime(flags),
  );
  endpointOption(
    time
      .command('advance <duration>')
      .description('move the clock forward, e.g. 7d, 1h30m, 90s, then run the background sweep'),
  ).action((duration: string, flags: TimeFlags) => callTime(flags, { advanceSeconds: parseDuration(duration) }));
  endpointOption(
    time.command('set <time>').description('move the clock forward to an ISO 8601 time, e.g. 2030-01-01T00:00:00Z'),
  ).action((to: string, flags: TimeFlags) => callTime(flags, { set: to }));
}
