/**
 * The CloudTrail API on the shared port (JSON 1.1, `CloudTrail_20131101.*`): LookupEvents over the
 * caller's own account trail in the caller's region, and ListPublicKeys for the digest signing key. Other CloudTrail
 * operations (trails, event data stores, Lake) are not offered: sealdb has one built-in trail.
 */
import type { Clock } from '../core/clock.js';
import type { CallContext, ServiceHandler } from '../http/service.js';
import { checkTypes } from '../validation/checker.js';
import { type CompactModel, loadModel } from '../validation/model.js';
import { internalError } from './errors.js';
import modelJson from './model.json' with { type: 'json' };
import type { NextTokenCodec } from './next-token.js';
import { type ListPublicKeysInput, listPublicKeys } from './operations/list-public-keys.js';
import { type LookupEventsInput, lookupEvents } from './operations/lookup-events.js';
import type { DigestSigner } from './signing-key.js';
import type { TrailSource } from './trail-source.js';

const model: CompactModel = loadModel(modelJson);
const OPERATIONS: ReadonlySet<string> = new Set(['LookupEvents', 'ListPublicKeys']);

export interface CloudTrailServiceOptions {
  /** The trails of a region. */
  readonly source: (region: string) => TrailSource;
  readonly tokens: NextTokenCodec;
  readonly clock: Clock;
  /** Closes finished hours before a lookup, so a lookup never waits on a sweep to see them. */
  readonly beforeLookup: () => Promise<void>;
  readonly signer: () => Promise<DigestSigner | undefined>;
}

export function createCloudTrailHandler(options: CloudTrailServiceOptions): ServiceHandler {
  return {
    targetPrefix: model.metadata.targetPrefix,
    contentType: 'application/x-amz-json-1.1',
    signingName: 'cloudtrail',
    protocolErrorNamespace: undefined,
    hasOperation: (operation) => OPERATIONS.has(operation),
    modelHasOperation: (operation) => model.operations.has(operation),
    internalError,
    async dispatch(operation: string, input: Record<string, unknown>, ctx: CallContext): Promise<unknown> {
      const checked = checkTypes(model, operation, input);
      switch (operation) {
        case 'LookupEvents':
          await options.beforeLookup();
          return lookupEvents(
            {
              source: options.source(ctx.region),
              tokens: options.tokens,
              accountId: ctx.principal.accountId,
              now: options.clock.now(),
            },
            checked as LookupEventsInput,
          );
        case 'ListPublicKeys':
          return listPublicKeys(await options.signer(), checked as ListPublicKeysInput, options.clock.now());
        default:
          throw internalError();
      }
    },
  };
}
