import type { DynamoDbEnvironment } from '../operation.js';
import { backupsUnavailable } from './errors.js';
import type { BackupManager } from './manager.js';

/** The backup manager of a server that keeps backups. */
export function backupsOf(env: DynamoDbEnvironment): BackupManager {
  if (!env.backups) throw backupsUnavailable();
  return env.backups;
}
