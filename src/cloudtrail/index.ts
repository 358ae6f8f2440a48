/**
 * sealdb's audit trail: every KMS call becomes a CloudTrail record in the caller's (and the key
 * owner's) account trail of the call's region, kept in hourly log files with signed, hash-chained digests, and served
 * by the CloudTrail LookupEvents API.
 *
 * Wiring: `kms.onCall((event) => audit.record(event))`, mount `audit.handlers` on the shared port,
 * call `audit.sweep()` periodically (it closes finished hours and writes their digests), and
 * `audit.close()` after the HTTP server has drained and before the root of trust is destroyed.
 */
import { join } from 'node:path';
import type { Clock } from '../core/clock.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import type { ServiceHandler } from '../http/service.js';
import type { KmsCallEvent } from '../kms/index.js';
import { MemoryTrailStore } from './memory-store.js';
import { NextTokenCodec } from './next-token.js';
import { toDeliveries } from './record.js';
import { createCloudTrailHandler } from './service.js';
import { DigestSigner } from './signing-key.js';
import type { TrailStore } from './trail-source.js';
import { DiskTrailStore, TRAIL_FOLDER } from './trail-store.js';

export type { CloudTrailRecord } from './record.js';

export interface AuditTrailOptions {
  /** undefined = in memory: lookups work, nothing is written, no digests. */
  readonly dataDir?: string;
  readonly root: RootOfTrust;
  readonly clock: Clock;
  /** Told about damage found while running (a file set aside, a chain restarted); default stderr. */
  readonly onWarning?: (message: string) => void;
  /** The signing key `openAuditSigner` checked at startup. */
  readonly signer?: DigestSigner;
  /** Told about each failed attempt to write a digest (a metric; a warning goes to `onWarning`). */
  readonly onDigestFailure?: () => void;
  /**
   * Where the trail is kept instead of `dataDir` (engine storage: storage/postgres/pg-trail-store.ts,
   * shared by every node), with the signing key it keeps.
   */
  readonly store?: SignedTrailStore;
}

/** A trail store that also keeps the digest signing key (ListPublicKeys). */
export interface SignedTrailStore extends TrailStore {
  /** Undefined while the trail has no key yet. */
  signer(): Promise<DigestSigner | undefined>;
}

export interface AuditTrail {
  /** The CloudTrail API under its model's target prefix (botocore, the AWS CLI). */
  readonly handler: ServiceHandler;
  /**
   * `handler` plus the same service under `CloudTrail_20131101`, the target prefix the AWS SDK for
   * JavaScript v3 sends (`X-Amz-Target: CloudTrail_20131101.LookupEvents`): mount all of these.
   */
  readonly handlers: readonly ServiceHandler[];
  /** Resolves once the call's record is durably appended to every trail it belongs to. */
  record(event: KmsCallEvent): Promise<void>;
  /** Closes finished hours and writes their digests (also happens lazily on record and lookup). */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

const SHORT_TARGET_PREFIX = 'CloudTrail_20131101';
const NEXT_TOKEN_PURPOSE = 'sealdb/cloudtrail-next-token/v1';

/**
 * Checks the data directory's signing key at startup: a damaged one would otherwise only show at
 * the next hour change, when every digest fails. Throws `SigningKeyError` (naming the file and how
 * to restore it); a public key file that does not match the signing key is rewritten and reported.
 * Undefined while the trail has no key yet (it is made with the first record).
 */
export async function openAuditSigner(
  dataDir: string,
  root: RootOfTrust,
  onWarning: (message: string) => void = defaultWarning,
): Promise<DigestSigner | undefined> {
  const trailDir = join(dataDir, TRAIL_FOLDER);
  const signer = await DigestSigner.open(trailDir, root);
  await signer?.exportPublicKey(trailDir, onWarning);
  return signer;
}

const defaultWarning = (message: string): void => console.error(`sealdb: audit trail: ${message}`);

export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const disk: SignedTrailStore | undefined =
    options.store ??
    (options.dataDir === undefined
      ? undefined
      : new DiskTrailStore({
          dataDir: options.dataDir,
          root: options.root,
          clock: options.clock,
          ...(options.onWarning ? { warn: options.onWarning } : {}),
          ...(options.signer ? { signer: options.signer } : {}),
          ...(options.onDigestFailure ? { onDigestFailure: options.onDigestFailure } : {}),
        }));
  const store: TrailStore = disk ?? new MemoryTrailStore(options.clock);
  const key = options.root.deriveKey(NEXT_TOKEN_PURPOSE);
  const tokens = new NextTokenCodec(key);
  key.fill(0);
  const handler = createCloudTrailHandler({
    source: (region) => store.inRegion(region),
    tokens,
    clock: options.clock,
    beforeLookup: () => store.closeFinishedHours(),
    signer: async () => disk?.signer(),
  });
  return {
    handler,
    handlers: [handler, { ...handler, targetPrefix: SHORT_TARGET_PREFIX }],
    async record(event) {
      const deliveries = toDeliveries(event);
      if (deliveries.length > 0) await store.append(deliveries);
    },
    sweep: () => store.closeFinishedHours(),
    async close() {
      try {
        await store.close();
      } finally {
        tokens.destroy();
      }
    },
  };
}
