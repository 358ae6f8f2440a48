import { keyArn } from '../key-ids.js';
import { defineOperation } from '../operation.js';
import { pageMembers, paginate } from '../pagination.js';

interface ListKeysInput {
  Limit?: number;
  Marker?: string;
}

/** Only the caller's own account: other accounts' keys are never listed, whatever their policies say. */
export const listKeysOperation = defineOperation<ListKeysInput, object>({
  name: 'ListKeys',
  readOnly: true,
  execute({ input, caller, env }) {
    const keys = env.store.listKeys(caller.principal.accountId, env.region);
    const page = paginate(keys, (k) => k.keyId, { defaultLimit: 100, maxLimit: 1000 }, input.Limit, input.Marker);
    return {
      Keys: page.items.map((k) => ({ KeyId: k.keyId, KeyArn: keyArn(k.region, k.accountId, k.keyId) })),
      ...pageMembers(page),
    };
  },
});
