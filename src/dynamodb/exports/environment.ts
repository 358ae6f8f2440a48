import type { DynamoDbEnvironment } from '../operation.js';
import { noExportDir } from './errors.js';
import type { TransferManager } from './manager.js';

/** The export and import manager of a server that has one. */
export function transfersOf(env: DynamoDbEnvironment): TransferManager {
  if (!env.transfers) throw noExportDir();
  return env.transfers;
}
