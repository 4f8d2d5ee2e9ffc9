/**
 * Runs the real kairos (Python) scripts of test/interop from the TypeScript tests: the venv is
 * built by test/interop/setup-python, requests go as JSON on argv, results come back as JSON.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join, resolve } from 'node:path';
import { redisUrl } from './env.ts';

const run = promisify(execFile);
const interop = resolve(import.meta.dirname, '..', 'interop');
let python: string | undefined;

/** The venv's python, building the venv first if needed (idempotent, fast when built). */
export function kairosPython(): string {
  python ??= execFileSync(join(interop, 'setup-python'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').at(-1) as string;
  return python;
}

/** Runs one of the interop scripts with a JSON request; throws with kairos's own error on failure. */
export async function callKairos<T>(script: 'kairos_write.py' | 'kairos_read.py' | 'seed_read.py', request: unknown): Promise<T> {
  try {
    const { stdout } = await run(kairosPython(), [join(interop, script), JSON.stringify(request)], {
      env: { ...process.env, REDIS_URL: redisUrl() },
      maxBuffer: 64 * 1024 * 1024,
    });
    return (JSON.parse(stdout) as { result: T }).result;
  } catch (error) {
    const stdout = (error as { stdout?: string }).stdout ?? '';
    throw new Error(`${script} failed: ${stdout || (error as Error).message}`, { cause: error });
  }
}
