/**
 * A table's Time to Live setting as kept in its catalog definition, and what DynamoDB shows of it.
 * The status is derived from the time of the last change and the clock, so ENABLING/DISABLING end
 * by themselves (also after a restart, and when a test moves the clock) with no background write.
 */

/** Stored in TableDefinition.TimeToLive once UpdateTimeToLive has succeeded on the table. */
export interface TimeToLiveState {
  /** What the last successful UpdateTimeToLive asked for. */
  Enabled: boolean;
  /** The TTL attribute; kept after a disable only to answer DISABLING and to name it in errors. */
  AttributeName: string;
  /** epoch ms of the last successful UpdateTimeToLive, for the transition and the cooldown. */
  ChangedAt: number;
}

export type TimeToLiveStatus = 'ENABLING' | 'ENABLED' | 'DISABLING' | 'DISABLED';

export interface TimeToLiveDescription {
  TimeToLiveStatus: TimeToLiveStatus;
  AttributeName?: string;
}

/**
 * How long ENABLING / DISABLING last. The docs allow "up to one hour", but DynamoDB was seen
 * settled at the first DescribeTimeToLive, within ~2 s, on every table tried (ack-api-quirks,
 * DDB-TABLE-144/145): a short, clock-driven window that a poller can still observe.
 */
export const TTL_TRANSITION_MS = 1_000;

/**
 * A second change within this interval of the last one is refused. The API reference: "It can take
 * up to one hour for the change to fully process. Any additional UpdateTimeToLive calls for the same
 * table during this one hour duration result in a ValidationException" (API_UpdateTimeToLive).
 * Measured against AWS the window was ~31 min (ack-api-quirks DDB-TABLE-143); sealdb keeps the
 * documented hour, the longer of the two, so code tested here does not break against AWS.
 */
export const TTL_CHANGE_COOLDOWN_MS = 60 * 60 * 1000;

export function timeToLiveStatus(state: TimeToLiveState | undefined, now: number): TimeToLiveStatus {
  if (!state) return 'DISABLED';
  const settled = now - state.ChangedAt >= TTL_TRANSITION_MS;
  if (state.Enabled) return settled ? 'ENABLED' : 'ENABLING';
  return settled ? 'DISABLED' : 'DISABLING';
}

/**
 * DescribeTimeToLive's answer. A disabled table shows no AttributeName, so one that never had TTL
 * and one that had it look the same (ack-api-quirks DDB-TABLE-144; dynalite's recorded
 * `{ TimeToLiveStatus: 'DISABLED' }`).
 */
export function timeToLiveDescription(state: TimeToLiveState | undefined, now: number): TimeToLiveDescription {
  const status = timeToLiveStatus(state, now);
  if (status === 'DISABLED' || !state) return { TimeToLiveStatus: status };
  return { TimeToLiveStatus: status, AttributeName: state.AttributeName };
}

/** The attribute the sweeper expires items by, when TTL is in force (ENABLED) on the table. */
export function expiryAttribute(state: TimeToLiveState | undefined, now: number): string | undefined {
  return state && timeToLiveStatus(state, now) === 'ENABLED' ? state.AttributeName : undefined;
}
