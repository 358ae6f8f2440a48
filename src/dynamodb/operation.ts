/** The shape of one DynamoDB API operation: its own semantic checks beside its execution. */
import type { Clock } from '../core/clock.js';
import type { CallContext } from '../http/service.js';
import type { Prepared } from '../validation/off-thread.js';
import type { BackupManager } from './backups/manager.js';
import type { TransferManager } from './exports/manager.js';
import type { PitrManager } from './pitr/manager.js';
import type { EncryptionChangeLimit } from './sse.js';
import type { TableManager } from './tables.js';

export interface DynamoDbEnvironment {
  readonly tables: TableManager;
  readonly clock: Clock;
  readonly region: string;
  readonly encryptionChangeLimit: EncryptionChangeLimit;
  /** Told when a table has new background index work (a GSI to backfill or to drop). */
  readonly indexJobs?: { wake(): void };
  /** The item-collection limit of tables with LSIs (DynamoDB: 10 GB; tests lower it). */
  readonly itemCollectionLimitBytes?: number;
  /** Absent when the server keeps no backups. */
  readonly backups?: BackupManager;
  /** Exports to and imports from S3 (a local folder); absent in servers built without them. */
  readonly transfers?: TransferManager;
  /** Point-in-time recovery (src/dynamodb/pitr); absent in servers built without it. */
  readonly pitr?: PitrManager;
}

export interface OperationRequest<I> {
  readonly input: I;
  readonly ctx: CallContext;
  readonly env: DynamoDbEnvironment;
  /** What the JSON worker's item checks took out of a large input (item-checks/prepare.ts). */
  readonly prepared?: Prepared;
}

export interface Operation<I = Record<string, unknown>, O = unknown> {
  /** Must match the operation name in the AWS model, which validates the input first. */
  readonly name: string;
  execute(request: OperationRequest<I>): Promise<O> | O;
}

/** The environment of each region (operations see only the tables of the caller's region), made once per region. */
export class RegionEnvironments {
  readonly #base: DynamoDbEnvironment;
  readonly #byRegion = new Map<string, DynamoDbEnvironment>();

  constructor(base: DynamoDbEnvironment) {
    this.#base = base;
  }

  of(region: string): DynamoDbEnvironment {
    let env = this.#byRegion.get(region);
    if (!env) {
      env = { ...this.#base, region, tables: this.#base.tables.inRegion(region) };
      this.#byRegion.set(region, env);
    }
    return env;
  }
}
