import { accessKey } from '../access.js';
import { validation } from '../errors.js';
import { defineOperation } from '../operation.js';
import { DAY_MS, toEpochSeconds } from '../types.js';

interface ScheduleKeyDeletionInput {
  KeyId: string;
  PendingWindowInDays?: number;
}

const DEFAULT_WINDOW_DAYS = 30;

/** The model allows 1–365 days; KMS itself accepts 7–30. */
function checkWindow(days: number): void {
  if (days < 7 || days > 30) throw validation(`PendingWindowInDays should be between 7 and 30, but it is ${days}`);
}

export const scheduleKeyDeletionOperation = defineOperation<ScheduleKeyDeletionInput, object>({
  name: 'ScheduleKeyDeletion',
  readOnly: false,
  execute(request) {
    const days = request.input.PendingWindowInDays ?? DEFAULT_WINDOW_DAYS;
    checkWindow(days);
    const { key, arn } = accessKey(request, request.input.KeyId, 'ScheduleKeyDeletion');
    const deletionMs = request.env.clock.now() + days * DAY_MS;
    request.env.store.putKey({ ...key, state: 'PendingDeletion', deletionMs, pendingWindowInDays: days });
    return {
      KeyId: arn,
      DeletionDate: toEpochSeconds(deletionMs),
      KeyState: 'PendingDeletion',
      PendingWindowInDays: days,
    };
  },
});
