/**
 * Background work in bounded slices on the request thread (an index backfill; later TTL sweeps
 * and restores), duty-cycled: each slice runs at most `workMs`, then the work rests long enough
 * that it takes no more than its share of the thread. While requests are being served the share
 * is small (requests first); when none are, the work may use the thread alone (it still yields
 * one event-loop turn between slices, so a request arriving is taken at once).
 *
 * Time is a monotonic clock in milliseconds and waiting goes through `sleep`, both injectable:
 * tests drive a cycle without real time.
 */

export interface DutyCycleOptions {
  /** The longest slice, in ms (default 5). */
  readonly workMs?: number;
  /** The share of the thread the work may take while requests are served (default 0.2). */
  readonly busyShare?: number;
  /** The share while none are (default 1: only a yield between slices). */
  readonly idleShare?: number;
  /** Whether requests are being served now (default: never). */
  readonly busy?: () => boolean;
  /** A monotonic clock in ms (default performance.now). */
  readonly now?: () => number;
  /** Waits `ms` (default setTimeout; 0 = one setImmediate turn). */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class DutyCycle {
  readonly #workMs: number;
  readonly #busyShare: number;
  readonly #idleShare: number;
  readonly #busy: () => boolean;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  /** Work done since the last rest, in ms. */
  #worked = 0;
  #started: number | undefined;
  #deadline = Number.POSITIVE_INFINITY;
  #wasBusy = false;

  constructor(options: DutyCycleOptions = {}) {
    this.#workMs = options.workMs ?? 5;
    this.#busyShare = share(options.busyShare ?? 0.2);
    this.#idleShare = share(options.idleShare ?? 1);
    this.#busy = options.busy ?? (() => false);
    this.#now = options.now ?? (() => performance.now());
    this.#sleep = options.sleep ?? defaultSleep;
  }

  /** Begins a slice (of at most `workMs`). */
  start(): void {
    const now = this.#now();
    this.#started = now;
    this.#deadline = now + this.#workMs;
    if (this.#busy()) this.#wasBusy = true;
  }

  /** The slice has used its time: the work should stop at its next safe point. */
  expired(): boolean {
    return this.#now() >= this.#deadline;
  }

  /** Ends the slice begun by `start`. */
  stop(): void {
    if (this.#started === undefined) return;
    this.#worked += Math.max(0, this.#now() - this.#started);
    this.#started = undefined;
    this.#deadline = Number.POSITIVE_INFINITY;
    // Requests that came in during the slice waited for it: they count too.
    if (this.#busy()) this.#wasBusy = true;
  }

  /** The rest the work since the last rest has earned, in ms (0: only a yield). */
  owed(): number {
    const busy = this.#wasBusy || this.#busy();
    const fraction = busy ? this.#busyShare : this.#idleShare;
    return (this.#worked * (1 - fraction)) / fraction;
  }

  /** Waits out the rest owed (at least one event-loop turn), then counts from zero again. */
  async rest(): Promise<void> {
    const ms = this.owed();
    this.#worked = 0;
    this.#wasBusy = false;
    await this.#sleep(ms < 1 ? 0 : ms);
  }
}

/**
 * Whether requests are being served: one in flight now, or one begun within the last `windowMs`
 * (a request waiting behind a slice is not in flight yet, but the one before it was).
 */
export class RequestActivity {
  readonly #windowMs: number;
  readonly #now: () => number;
  #inFlight = 0;
  #last = Number.NEGATIVE_INFINITY;

  constructor(windowMs = 50, now: () => number = () => performance.now()) {
    this.#windowMs = windowMs;
    this.#now = now;
  }

  begin(): void {
    this.#inFlight++;
    this.#last = this.#now();
  }

  end(): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    this.#last = this.#now();
  }

  busy(): boolean {
    return this.#inFlight > 0 || this.#now() - this.#last < this.#windowMs;
  }
}

const share = (value: number): number => {
  if (!(value > 0 && value <= 1)) throw new RangeError(`a duty-cycle share must be in (0, 1], not ${value}`);
  return value;
};

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => (ms <= 0 ? setImmediate(resolve) : setTimeout(resolve, ms)));
