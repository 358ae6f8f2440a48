import { accessKey } from '../access.js';
import { defineOperation } from '../operation.js';
import { pageMembers, paginate } from '../pagination.js';
import { toEpochSeconds } from '../types.js';

interface ListKeyRotationsInput {
  KeyId: string;
  IncludeKeyMaterial?: 'ALL_KEY_MATERIAL' | 'ROTATIONS_ONLY';
  Limit?: number;
  Marker?: string;
}

/** ROTATIONS_ONLY (the default) leaves out the material the key was created with. */
export const listKeyRotationsOperation = defineOperation<ListKeyRotationsInput, object>({
  name: 'ListKeyRotations',
  readOnly: true,
  execute(request) {
    const { input, env } = request;
    const { key } = accessKey(request, input.KeyId, 'ListKeyRotations');
    const all = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
    const materials = env.store.listMaterials(key.keyId).filter((m) => all || m.rotationType !== undefined);
    const page = paginate(
      materials,
      (m) => String(m.version).padStart(10, '0'),
      { defaultLimit: 100, maxLimit: 1000 },
      input.Limit,
      input.Marker,
    );
    return {
      Rotations: page.items.map((m) => ({
        KeyId: key.keyId,
        KeyMaterialId: m.materialId,
        KeyMaterialState: m.version === key.currentVersion ? 'CURRENT' : 'NON_CURRENT',
        ...(m.rotationType ? { RotationDate: toEpochSeconds(m.createdMs), RotationType: m.rotationType } : {}),
      })),
      ...pageMembers(page),
    };
  },
});
