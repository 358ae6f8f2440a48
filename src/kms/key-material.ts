/**
 * Key material: generated here, stored only wrapped (AES-256-GCM under a key derived from the root
 * of trust, bound to key id and version), unwrapped on demand and cached until the key is destroyed
 * or the service closes, when the cached copies are zeroed.
 */
import { randomBytes } from 'node:crypto';
import { unwrapKey, wrapKey } from '../encryption/key-wrap.js';
import type { RootOfTrust } from '../encryption/root-of-trust.js';
import type { KeyStore } from './key-store.js';
import type { KeyMaterialRecord, RotationType } from './types.js';

const MATERIAL_PURPOSE = 'sealdb/kms-material/v1';

const aad = (keyId: string, version: number) => `sealdb/kms/material/${keyId}/v${version}`;
/**
 * With the material id: a version made by a unit of work that was then run again (engine storage)
 * has another id than the version that was committed, so its copy is never served for it.
 */
const cacheKey = (keyId: string, version: number, materialId: string) => `${keyId}/${version}/${materialId}`;

export class KeyMaterialVault {
  readonly #kek: Buffer;
  readonly #cache = new Map<string, Buffer>();

  constructor(
    root: RootOfTrust,
    private readonly store: KeyStore,
  ) {
    this.#kek = root.deriveKey(MATERIAL_PURPOSE);
  }

  /** Generates a new 256-bit material version and stores it wrapped. */
  create(keyId: string, version: number, createdMs: number, rotationType?: RotationType): KeyMaterialRecord {
    const material = this.store.fresh(() => randomBytes(32));
    const record: KeyMaterialRecord = {
      keyId,
      version,
      materialId: this.store.fresh(() => randomBytes(32).toString('hex')),
      wrapped: wrapKey(this.#kek, material, aad(keyId, version)),
      createdMs,
      ...(rotationType ? { rotationType } : {}),
    };
    this.store.addMaterial(record);
    this.#cache.set(cacheKey(keyId, version, record.materialId), material);
    return record;
  }

  /** The plaintext material of one version, or undefined if that version does not exist (any more). */
  material(keyId: string, version: number): Buffer | undefined {
    // The record is read every time (one indexed read): only it says which material the version is.
    const record = this.store.getMaterial(keyId, version);
    if (!record) return undefined;
    const slot = cacheKey(keyId, version, record.materialId);
    const cached = this.#cache.get(slot);
    if (cached) return cached;
    const material = unwrapKey(this.#kek, record.wrapped, aad(keyId, version));
    this.#cache.set(slot, material);
    return material;
  }

  /** Zeroes every cached version of a key that is being destroyed. */
  forget(keyId: string): void {
    for (const [k, material] of this.#cache) {
      if (k.startsWith(`${keyId}/`)) {
        material.fill(0);
        this.#cache.delete(k);
      }
    }
  }

  close(): void {
    for (const material of this.#cache.values()) material.fill(0);
    this.#cache.clear();
    this.#kek.fill(0);
  }
}
