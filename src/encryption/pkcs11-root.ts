/**
 * A root key inside a PKCS#11 token (an HSM, or SoftHSM for tests): a non-extractable AES-256
 * secret key found by token label and key label. sealdb never sees it; it only asks the token to
 * seal and open the data directory's master key with AES-256-GCM (C_Encrypt / C_Decrypt with
 * CKM_AES_GCM, a 96-bit IV sealdb draws and a 128-bit tag), and only while it starts or rotates.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Pkcs11Types from 'pkcs11js';

// pkcs11js is a CommonJS native addon: loaded on first use, so builds without an HSM never touch it.
const require = createRequire(import.meta.url);
let binding: typeof Pkcs11Types | undefined;
const pkcs11js = (): typeof Pkcs11Types => {
  binding ??= require('pkcs11js') as typeof Pkcs11Types;
  return binding;
};

/** The environment variable holding the token's user PIN (never a flag: flags show in `ps`). */
export const PKCS11_PIN_ENV = 'SEALDB_PKCS11_PIN';

export interface Pkcs11Spec {
  /** Path of the PKCS#11 module (shared library), e.g. /usr/lib/softhsm/libsofthsm2.so. */
  readonly module: string;
  /** The token's label. */
  readonly token: string;
  /** CKA_LABEL of the AES key. */
  readonly keyLabel: string;
}

export class Pkcs11RootError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Pkcs11RootError';
  }
}

/** `module=/path/lib.so,token=Label,key-label=root` (values may not contain commas). */
export function parsePkcs11Spec(text: string): Pkcs11Spec {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0)
      throw new Pkcs11RootError(`--root-pkcs11: "${part}" is not name=value (expected module=…,token=…,key-label=…)`);
    const name = part.slice(0, at).trim();
    if (!['module', 'token', 'key-label'].includes(name)) {
      throw new Pkcs11RootError(`--root-pkcs11: unknown field "${name}" (expected module, token and key-label)`);
    }
    fields.set(name, part.slice(at + 1).trim());
  }
  const missing = ['module', 'token', 'key-label'].filter((name) => !fields.get(name));
  if (missing.length > 0)
    throw new Pkcs11RootError(`--root-pkcs11 needs ${missing.join(', ')} (module=…,token=…,key-label=…)`);
  return {
    module: fields.get('module') as string,
    token: fields.get('token') as string,
    keyLabel: fields.get('key-label') as string,
  };
}

export const formatPkcs11Spec = (spec: Pkcs11Spec): string =>
  `module=${spec.module},token=${spec.token},key-label=${spec.keyLabel}`;

const VERSION = 1;
const IV_BYTES = 12;

/** One C_Initialize per module per process; several roots (a rotation's old and new) share it. */
const loaded = new Map<string, { module: Pkcs11Types.PKCS11; users: number }>();

function acquireModule(path: string): Pkcs11Types.PKCS11 {
  const existing = loaded.get(path);
  if (existing) {
    existing.users++;
    return existing.module;
  }
  const p = pkcs11js();
  const module = new p.PKCS11();
  try {
    module.load(path);
  } catch (error) {
    throw new Pkcs11RootError(`cannot load the PKCS#11 module ${path}: ${messageOf(error)}`);
  }
  try {
    module.C_Initialize();
  } catch (error) {
    if (codeName(error) !== 'CKR_CRYPTOKI_ALREADY_INITIALIZED') {
      throw new Pkcs11RootError(`the PKCS#11 module ${path} failed to initialize: ${messageOf(error)}`);
    }
  }
  loaded.set(path, { module, users: 1 });
  return module;
}

function releaseModule(path: string): void {
  const entry = loaded.get(path);
  if (!entry) return;
  entry.users--;
  if (entry.users > 0) return;
  loaded.delete(path);
  try {
    entry.module.C_Finalize();
  } catch {
    // Finalizing is cleanup only.
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const codeName = (error: unknown): string => messageOf(error).split(':')[0] ?? '';

/** An open, logged-in session on the token with the root key found and checked. */
export class Pkcs11Root {
  #closed = false;
  private constructor(
    readonly spec: Pkcs11Spec,
    private readonly module: Pkcs11Types.PKCS11,
    private readonly session: Pkcs11Types.Handle,
    private readonly key: Pkcs11Types.Handle,
  ) {}

  /** Opens the token and finds the key; throws Pkcs11RootError saying what is wrong (token, PIN, key). */
  static open(spec: Pkcs11Spec, pin: string | undefined): Pkcs11Root {
    return withSession(spec, pin, false, (module, session) => {
      const key = findKey(module, session, spec);
      return new Pkcs11Root(spec, module, session, key);
    });
  }

  /**
   * Creates the root key in the token: AES-256, on the token, private, sensitive and never
   * extractable, usable only to encrypt and decrypt. Refuses if a key of that label exists.
   */
  static generateKey(spec: Pkcs11Spec, pin: string | undefined): void {
    withSession(spec, pin, true, (module, session) => {
      const p = pkcs11js();
      if (findObjects(module, session, spec.keyLabel).length > 0) {
        throw new Pkcs11RootError(`token "${spec.token}" already has an object labelled "${spec.keyLabel}"`);
      }
      module.C_GenerateKey(session, { mechanism: p.CKM_AES_KEY_GEN }, [
        { type: p.CKA_CLASS, value: p.CKO_SECRET_KEY },
        { type: p.CKA_KEY_TYPE, value: p.CKK_AES },
        { type: p.CKA_VALUE_LEN, value: 32 },
        { type: p.CKA_TOKEN, value: true },
        { type: p.CKA_PRIVATE, value: true },
        { type: p.CKA_SENSITIVE, value: true },
        { type: p.CKA_EXTRACTABLE, value: false },
        { type: p.CKA_ENCRYPT, value: true },
        { type: p.CKA_DECRYPT, value: true },
        { type: p.CKA_LABEL, value: spec.keyLabel },
      ]);
      module.C_Logout(session);
      module.C_CloseSession(session);
      releaseModule(spec.module);
    });
  }

  /** `version(1) | iv(12) | ciphertext | tag(16)`, sealed by the token with AES-256-GCM. */
  wrap(plaintext: Buffer, aad: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const module = this.#module();
    module.C_EncryptInit(this.session, this.#mechanism(iv, aad), this.key);
    const out = module.C_Encrypt(this.session, plaintext, Buffer.alloc(plaintext.length + 32));
    return Buffer.concat([Buffer.of(VERSION), iv, out]);
  }

  /** Throws Pkcs11RootError when the sealed key does not open under this token key. */
  unwrap(wrapped: Buffer, aad: string): Buffer {
    const module = this.#module();
    if (wrapped.length < 1 + IV_BYTES + 16 || wrapped[0] !== VERSION) {
      throw new Pkcs11RootError('the sealed master key is not in the PKCS#11 format');
    }
    const iv = wrapped.subarray(1, 1 + IV_BYTES);
    try {
      module.C_DecryptInit(this.session, this.#mechanism(Buffer.from(iv), aad), this.key);
      const body = Buffer.from(wrapped.subarray(1 + IV_BYTES));
      return Buffer.from(module.C_Decrypt(this.session, body, Buffer.alloc(body.length)));
    } catch (error) {
      throw new Pkcs11RootError(
        `the key "${this.spec.keyLabel}" on token "${this.spec.token}" does not open this data directory's master key ` +
          `(${codeName(error)}): it is another key of the same label`,
      );
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.module.C_Logout(this.session);
      this.module.C_CloseSession(this.session);
    } catch {
      // Closing is cleanup only.
    }
    releaseModule(this.spec.module);
  }

  #module(): Pkcs11Types.PKCS11 {
    if (this.#closed) throw new Pkcs11RootError('the PKCS#11 session is closed');
    return this.module;
  }

  #mechanism(iv: Buffer, aad: string): Pkcs11Types.Mechanism {
    const p = pkcs11js();
    return {
      mechanism: p.CKM_AES_GCM,
      parameter: {
        type: p.CK_PARAMS_AES_GCM,
        iv,
        aad: Buffer.from(aad, 'utf8'),
        ivBits: 96,
        tagBits: 128,
      } as Pkcs11Types.AesGCM,
    };
  }
}

function withSession<T>(
  spec: Pkcs11Spec,
  pin: string | undefined,
  readWrite: boolean,
  use: (module: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle) => T,
): T {
  if (!pin) {
    throw new Pkcs11RootError(`set ${PKCS11_PIN_ENV} to the user PIN of the PKCS#11 token "${spec.token}"`);
  }
  const p = pkcs11js();
  const module = acquireModule(spec.module);
  let session: Pkcs11Types.Handle | undefined;
  try {
    const slots = module.C_GetSlotList(true);
    const labels = slots.map((slot) => ({ slot, label: module.C_GetTokenInfo(slot).label.trim() }));
    const matching = labels.filter((t) => t.label === spec.token);
    if (matching.length === 0) {
      const known = labels.map((t) => t.label).filter((l) => l !== '');
      throw new Pkcs11RootError(
        `the PKCS#11 module ${spec.module} has no token labelled "${spec.token}"` +
          (known.length > 0
            ? ` (its tokens: ${known.map((l) => `"${l}"`).join(', ')})`
            : ' (it has no initialized token)'),
      );
    }
    if (matching.length > 1) throw new Pkcs11RootError(`more than one PKCS#11 token is labelled "${spec.token}"`);
    session = module.C_OpenSession(
      (matching[0] as { slot: Pkcs11Types.Handle }).slot,
      p.CKF_SERIAL_SESSION | (readWrite ? p.CKF_RW_SESSION : 0),
    );
    try {
      module.C_Login(session, p.CKU_USER, pin);
    } catch (error) {
      const code = codeName(error);
      if (code === 'CKR_USER_ALREADY_LOGGED_IN') {
        // Another session of this process logged in to the token: the login is per token.
      } else if (code === 'CKR_PIN_INCORRECT') {
        throw new Pkcs11RootError(
          `the PIN in ${PKCS11_PIN_ENV} is wrong for PKCS#11 token "${spec.token}" (CKR_PIN_INCORRECT); ` +
            'nothing was read or changed. Too many wrong PINs lock the token.',
        );
      } else if (code === 'CKR_PIN_LOCKED') {
        throw new Pkcs11RootError(
          `the user PIN of PKCS#11 token "${spec.token}" is locked (CKR_PIN_LOCKED): unlock it with the SO PIN`,
        );
      } else {
        throw new Pkcs11RootError(`cannot log in to PKCS#11 token "${spec.token}": ${code || messageOf(error)}`);
      }
    }
    return use(module, session);
  } catch (error) {
    if (session !== undefined) {
      try {
        module.C_CloseSession(session);
      } catch {
        // Already failing.
      }
    }
    releaseModule(spec.module);
    if (error instanceof Pkcs11RootError) throw error;
    throw new Pkcs11RootError(`PKCS#11 token "${spec.token}": ${messageOf(error)}`);
  }
}

function findObjects(module: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle, label: string): Pkcs11Types.Handle[] {
  const p = pkcs11js();
  module.C_FindObjectsInit(session, [{ type: p.CKA_LABEL, value: label }]);
  try {
    return module.C_FindObjects(session, 16);
  } finally {
    module.C_FindObjectsFinal(session);
  }
}

function findKey(module: Pkcs11Types.PKCS11, session: Pkcs11Types.Handle, spec: Pkcs11Spec): Pkcs11Types.Handle {
  const p = pkcs11js();
  const found = findObjects(module, session, spec.keyLabel);
  const where = `PKCS#11 token "${spec.token}"`;
  if (found.length === 0) {
    throw new Pkcs11RootError(
      `${where} has no key labelled "${spec.keyLabel}". Create it with ` +
        `\`sealdb root pkcs11-keygen --root-pkcs11 ${formatPkcs11Spec(spec)}\` (a new data directory only: ` +
        'a data directory made with another key cannot be read with a new one), or name the key it was made with.',
    );
  }
  if (found.length > 1)
    throw new Pkcs11RootError(
      `${where} has ${found.length} objects labelled "${spec.keyLabel}": the root key must be one`,
    );
  const key = found[0] as Pkcs11Types.Handle;
  const [cls, type, length, extractable, sensitive] = module
    .C_GetAttributeValue(session, key, [
      { type: p.CKA_CLASS },
      { type: p.CKA_KEY_TYPE },
      { type: p.CKA_VALUE_LEN },
      { type: p.CKA_EXTRACTABLE },
      { type: p.CKA_SENSITIVE },
    ])
    .map((a) => a.value as Buffer);
  const number = (b: Buffer | undefined) => (b && b.length > 0 ? Number(b.readUIntLE(0, Math.min(6, b.length))) : -1);
  if (number(cls) !== p.CKO_SECRET_KEY || number(type) !== p.CKK_AES || number(length) !== 32) {
    throw new Pkcs11RootError(`the object "${spec.keyLabel}" on ${where} is not an AES-256 secret key`);
  }
  if (extractable?.[0] !== 0 || sensitive?.[0] !== 1) {
    throw new Pkcs11RootError(
      `the key "${spec.keyLabel}" on ${where} can leave the token (CKA_EXTRACTABLE true or CKA_SENSITIVE false): ` +
        'a root key must be non-extractable and sensitive',
    );
  }
  return key;
}
