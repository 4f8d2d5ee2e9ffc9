/**
 * Child processes of the backfill benchmark: `sluice` commands and helpers, with their output kept
 * for diagnosis, a way to wait for a line, and their peak memory read from /proc.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';

const cli = resolve(import.meta.dirname, '..', '..', '..', 'packages', 'cli', 'src', 'bin.ts');

/** A running child. */
export interface Child {
  readonly name: string;
  readonly child: ChildProcess;
  /** Everything it printed (stdout and stderr), the last 64 KiB. */
  output(): string;
  /** Only what it printed on stdout. */
  stdout(): string;
  /** Resolves with the exit code (or signal name) once it exits. */
  readonly exited: Promise<number | string>;
  /** Resolves when the output contains `text`; rejects after `timeoutMs` or when the child exits first. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs` if still alive; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
}

const KEEP_CHARS = 64 * 1024;

/** Spawns `command args`. */
export function startChild(name: string, command: string, args: readonly string[], env: Record<string, string> = {}): Child {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  const listeners = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    stdout += text;
    out = (out + text).slice(-KEEP_CHARS);
    for (const l of listeners) l();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-KEEP_CHARS);
    for (const l of listeners) l();
  });
  const exited = new Promise<number | string>((resolveExit) => {
    child.once('exit', (code, signal) => {
      resolveExit(code ?? signal ?? 'unknown');
      for (const l of listeners) l();
    });
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    name,
    child,
    output: () => out,
    stdout: () => stdout,
    exited,
    waitFor(text, timeoutMs = 60_000) {
      return new Promise((resolveWait, reject) => {
        const check = (): void => {
          if (out.includes(text)) {
            done();
            resolveWait();
          } else if (!alive()) {
            done();
            reject(new Error(`${name} exited before printing ${JSON.stringify(text)}:\n${out.slice(-4000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: timed out waiting for ${JSON.stringify(text)}; output so far:\n${out.slice(-4000)}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(graceMs = 15_000) {
      if (!alive()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (alive()) child.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Spawns `sluice <args>` on this Node; `nodeOptions` go before the script (e.g. `--cpu-prof`). */
export function startSluice(name: string, args: readonly string[], nodeOptions: readonly string[] = []): Child {
  return startChild(name, process.execPath, [...nodeOptions, cli, ...args]);
}
