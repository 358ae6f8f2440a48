/**
 * UpdateTimeToLive's rules. What DynamoDB answers was recorded against AWS by ack-api-quirks
 * (DDB-TABLE-143, -146, -147) and by dynalite's tests (test/updateTimeToLive.js): every refusal is a
 * ValidationException, and the checks on what is asked come before the cooldown (a request that
 * would change nothing is told so even within the hour).
 */
import { validationError } from '../errors.js';
import { type TimeToLiveState, TTL_CHANGE_COOLDOWN_MS } from './state.js';

export interface TimeToLiveSpecification {
  Enabled: boolean;
  AttributeName: string;
}

/** The state after the change asked for, or DynamoDB's refusal of it. */
export function changeTimeToLive(
  state: TimeToLiveState | undefined,
  spec: TimeToLiveSpecification,
  now: number,
): TimeToLiveState {
  // "Enabled" here is what was last asked: ENABLING counts as enabled and DISABLING as disabled.
  const enabled = state?.Enabled === true;
  if (enabled && state.AttributeName !== spec.AttributeName) {
    // Enabling another attribute and disabling with the wrong one both get this (DDB-TABLE-146, -147).
    throw validationError(
      `TimeToLive is active on a different AttributeName: current AttributeName is ${state.AttributeName}`,
    );
  }
  if (enabled && spec.Enabled) throw validationError('TimeToLive is already enabled');
  if (!enabled && !spec.Enabled) throw validationError('TimeToLive is already disabled');
  // Only successful changes start the interval; refused attempts do not extend it (DDB-TABLE-143).
  if (state && now - state.ChangedAt < TTL_CHANGE_COOLDOWN_MS) {
    throw validationError('Time to live has been modified multiple times within a fixed interval');
  }
  return { Enabled: spec.Enabled, AttributeName: spec.AttributeName, ChangedAt: now };
}
