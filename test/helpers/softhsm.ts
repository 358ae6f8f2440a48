/** A SoftHSM token store of the test's own (a SOFTHSM2_CONF in a temporary folder), for PKCS#11 roots. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const MODULES = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

export interface SoftHsm {
  /** The SOFTHSM2_CONF file: set it in the environment of whatever opens the module. */
  readonly conf: string;
  readonly module: string;
  /** A `--root-pkcs11` value. */
  spec(token: string, keyLabel: string): string;
  /** Initializes a token in the first free slot. */
  initToken(label: string, pin: string): void;
}

export function createSoftHsm(dir: string): SoftHsm {
  const module = MODULES.find((path) => existsSync(path));
  if (!module) throw new Error('SoftHSM is not installed: apt-get install softhsm2 (.ci/run does)');
  const tokens = join(dir, 'tokens');
  mkdirSync(tokens, { recursive: true });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  return {
    conf,
    module,
    spec: (token, keyLabel) => `module=${module},token=${token},key-label=${keyLabel}`,
    initToken(label, pin) {
      execFileSync(
        'softhsm2-util',
        ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', `so-${pin}`],
        {
          env: { ...process.env, SOFTHSM2_CONF: conf },
          stdio: 'ignore',
        },
      );
    },
  };
}
