/** Runs `sealdb start` as a real child process, the way a user would. */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface SealdbProcess {
  readonly child: ChildProcess;
  readonly endpoint: string;
  readonly output: () => string;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SpawnOptions {
  /** The whole environment of the child (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** A `node main.js <args>` child exactly as given, with its stdout and stderr gathered in one string. */
export function spawnSealdb(args: readonly string[], options: SpawnOptions = {}) {
  const child = spawn(process.execPath, [CLI, ...args], {
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const gather = (d: Buffer) => {
    output += d.toString();
  };
  child.stdout?.on('data', gather);
  child.stderr?.on('data', gather);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Resolves with the endpoint once the startup banner is complete (its auth line ends it). */
export function bannerEndpoint(child: ChildProcess, output: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    // Generous (a shared 2-core VM at load 20 took 18 s to restart after a kill -9); a server that
    // does not make it is killed, or it would keep the test process alive after the failure.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sealdb did not start within 60 s:\n${output()}`));
    }, 60_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)[\s\S]*\nauth: .*\n/.exec(output());
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sealdb exited with ${code}:\n${output()}`));
    });
  });
}

export async function startSealdbProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SealdbProcess> {
  const { child, output, exited } = spawnSealdb(['start', '--port', '0', ...args], { env: { ...process.env, ...env } });
  const endpoint = await bannerEndpoint(child, output);
  return {
    child,
    endpoint,
    output,
    stop(signal = 'SIGTERM') {
      child.kill(signal);
      return exited;
    },
  };
}

export const runCommand = promisify(execFile);

/** Environment for the AWS CLI against a local server: fake credentials, no config files, no pager. */
export const awsCliEnv = (): NodeJS.ProcessEnv => ({
  ...process.env,
  AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
  AWS_SECRET_ACCESS_KEY: 'local-secret',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_PAGER: '',
});
