/**
 * All time in sealdb goes through a Clock so that tests can move past
 * 5-minute key caches and 7-day windows without sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A base clock (the system clock unless given) plus an offset a test moves at will, either way;
 * for tests that build a server in-process. A running `sealdb start` moves time only with
 * `--allow-time-travel`, through an OffsetClock.
 */
export class ManualClock implements Clock {
  #offsetMs: number;
  constructor(
    private readonly base: Clock = systemClock,
    offsetMs = 0,
  ) {
    this.#offsetMs = offsetMs;
  }
  now(): number {
    return this.base.now() + this.#offsetMs;
  }
  advance(ms: number): void {
    this.#offsetMs += ms;
  }
}

/**
 * The system clock moved forward on request: the clock of `sealdb start --allow-time-travel`, so
 * tests can pass the 7-day key-deletion and archival windows. Forward only: key deletion dates,
 * audit hours and their signed digests must never see time go back.
 */
export class OffsetClock implements Clock {
  #offsetMs = 0;
  constructor(private readonly base: Clock = systemClock) {}
  now(): number {
    return this.base.now() + this.#offsetMs;
  }
  /** How far this clock is ahead of its base. */
  get offsetMs(): number {
    return this.#offsetMs;
  }
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`time only moves forward: cannot advance by ${ms} ms`);
    this.#offsetMs += ms;
  }
  /** Moves to a point in time (epoch milliseconds), which must not be before now. */
  advanceTo(epochMs: number): void {
    const ms = epochMs - this.now();
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('time only moves forward: that time is in the past');
    this.#offsetMs += ms;
  }
}
