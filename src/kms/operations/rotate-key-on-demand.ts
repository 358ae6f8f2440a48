import { accessKey } from '../access.js';
import { limitExceeded } from '../errors.js';
import { addMaterialVersion } from '../lifecycle.js';
import { defineOperation } from '../operation.js';

interface RotateKeyOnDemandInput {
  KeyId: string;
}

/** KMS's API reference allows 10 on-demand rotations per key. */
const MAX_ON_DEMAND_ROTATIONS = 10;

/** KMS rotates asynchronously; sealdb's rotation is complete when the call returns. */
export const rotateKeyOnDemandOperation = defineOperation<RotateKeyOnDemandInput, object>({
  name: 'RotateKeyOnDemand',
  readOnly: false,
  execute(request) {
    const { env } = request;
    const { key, arn } = accessKey(request, request.input.KeyId, 'RotateKeyOnDemand');
    if (key.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
      throw limitExceeded(`The on-demand rotations limit has been reached for ${arn}.`);
    }
    addMaterialVersion(env, key, 'ON_DEMAND', env.clock.now());
    return { KeyId: arn };
  },
});
