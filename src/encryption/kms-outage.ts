/**
 * Riding out an outage of an external KMS: while it fails transiently (unreachable, throttled,
 * 5xx, timeout), tables keep being served from the table keys last decrypted, for a bounded grace
 * period counted from the first failure; after it, requests get the KMS error. The first answer
 * from the KMS ends the outage, without a restart.
 */
import type { Clock } from '../core/clock.js';

export const DEFAULT_KMS_GRACE_MS = 15 * 60 * 1000;
/**
 * In an outage the KMS is asked again at most this often while cached keys stand in: requests
 * between two probes do not each wait out a connection timeout.
 */
export const OUTAGE_PROBE_MS = 5000;

export interface KmsOutageState {
  /** Epoch ms of the first transient failure since the last success; undefined = healthy. */
  readonly since: number | undefined;
  /** When serving from cached keys stops (since + grace). */
  readonly graceEndsAt: number | undefined;
  readonly lastError: string | undefined;
  readonly graceMs: number;
}

export class KmsOutage {
  #since: number | undefined;
  #lastError: string | undefined;
  #servedFromReserve = 0;
  #lastProbe = 0;

  constructor(
    private readonly clock: Clock,
    readonly graceMs: number = DEFAULT_KMS_GRACE_MS,
  ) {}

  /** The KMS answered (even with an error of its own, such as DisabledException). */
  answered(): void {
    this.#since = undefined;
    this.#lastError = undefined;
  }

  transientFailure(message: string): void {
    this.#since ??= this.clock.now();
    this.#lastError = message;
    this.#lastProbe = this.clock.now();
  }

  /** Outside an outage always; in one, once per OUTAGE_PROBE_MS (the caller then asks the KMS). */
  mayProbe(): boolean {
    if (this.#since === undefined) return true;
    const now = this.clock.now();
    if (now - this.#lastProbe < OUTAGE_PROBE_MS) return false;
    this.#lastProbe = now;
    return true;
  }

  get inOutage(): boolean {
    return this.#since !== undefined;
  }

  /** Cached keys may stand in for the KMS now. */
  withinGrace(): boolean {
    return this.#since !== undefined && this.clock.now() - this.#since < this.graceMs;
  }

  /** Milliseconds of the grace left (0 when healthy or past it). */
  graceRemainingMs(): number {
    return this.#since === undefined ? 0 : Math.max(0, this.#since + this.graceMs - this.clock.now());
  }

  servedFromReserve(): void {
    this.#servedFromReserve++;
  }

  get servedFromReserveCount(): number {
    return this.#servedFromReserve;
  }

  state(): KmsOutageState {
    return {
      since: this.#since,
      graceEndsAt: this.#since === undefined ? undefined : this.#since + this.graceMs,
      lastError: this.#lastError,
      graceMs: this.graceMs,
    };
  }
}
