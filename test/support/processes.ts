/**
 * Spawns real `sluice` processes for end-to-end tests, keeps their output for diagnosis, and kills
 * whatever is left when the test ends.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { TestContext } from 'node:test';

const cli = resolve(import.meta.dirname, '..', '..', 'packages', 'cli', 'src', 'bin.ts');

/** A spawned sluice process. */
export interface SluiceProcess {
  readonly child: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name) once it exits. */
  exited: Promise<number | string>;
  /** Sends a signal. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when its output contains `text`, rejects after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
}

/** Spawns `sluice <args>` with Node 24 and registers cleanup on the test context. */
export function spawnSluice(t: TestContext, args: readonly string[], env: Record<string, string> = {}): SluiceProcess {
  const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
  });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return {
    child,
    output: () => out,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    waitFor(text, timeoutMs = 60_000) {
      return new Promise((resolveWait, reject) => {
        if (out.includes(text)) {
          resolveWait();
          return;
        }
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${JSON.stringify(text)}; output so far:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const check = (): void => {
          if (out.includes(text)) {
            clearTimeout(timer);
            listeners.delete(check);
            resolveWait();
          }
        };
        listeners.add(check);
      });
    },
  };
}

/** Runs `sluice <args>` to completion and returns its exit code and output. */
export async function runSluice(t: TestContext, args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | string; stdout: string; output: string }> {
  const p = spawnSluice(t, args, env);
  let stdout = '';
  p.child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  const code = await p.exited;
  return { code, stdout, output: p.output() };
}
