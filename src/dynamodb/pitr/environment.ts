import type { DynamoDbEnvironment } from '../operation.js';
import { pitrNotKept } from './errors.js';
import type { PitrManager } from './manager.js';

/** The PITR manager of a server that keeps history. */
export function pitrOf(env: DynamoDbEnvironment): PitrManager {
  if (!env.pitr) throw pitrNotKept();
  return env.pitr;
}
