/**
 * Runs the real-Python side of the kairos interop tests (`test/interop/*.py`: kairos 0.10.1 patched
 * for Python 3, redis-py, pandas) with the virtualenv's python. Each script takes one JSON request
 * and prints `{"result": ...}` or `{"error": ...}`; what Python raised becomes a SluiceError whose
 * context carries the exception type, message and traceback, so a test can assert on it.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, SluiceError } from '@sluice/core';

const run = promisify(execFile);
const interopDir = resolve(import.meta.dirname, '..', 'interop');

/** The interop scripts. */
export const KairosScript = {
  WRITE: 'kairos_write.py',
  READ: 'kairos_read.py',
  SEED_READ: 'seed_read.py',
} as const;

/** One of the interop scripts. */
export type KairosScript = (typeof KairosScript)[keyof typeof KairosScript];

/** kairos's series types. */
export type KairosType = 'series' | 'histogram' | 'count' | 'gauge' | 'set';

/** One interval as kairos's `Timeseries(intervals=...)` takes it. */
export interface KairosInterval {
  step: number | string;
  steps?: number;
  resolution?: number | string;
}

/** A value as `kairos_write.py` decodes it: `{ float: 3 }` is the Python float 3.0, which JSON cannot spell. */
export type KairosValue = string | number | { float: number };

/** One `Timeseries.insert(name, value?, timestamp?)`; without `value`, kairos's default (1 for a count). */
export interface KairosInsert {
  name: string;
  value?: KairosValue;
  /** Epoch seconds; absent means kairos's "now". */
  timestamp?: number;
}

/** Request of `kairos_write.py`. */
export interface KairosWriteRequest {
  prefix: string;
  type: KairosType;
  intervals: Readonly<Record<string, KairosInterval>>;
  /** The clock kairos sees, epoch seconds. */
  now: number;
  inserts: readonly KairosInsert[];
}

/** Result of `kairos_write.py`: the pipelines kairos executed, each command as redis-py sent it. */
export interface KairosWriteResult {
  inserts: number;
  pipelines: { transaction: boolean; commands: string[][] }[];
}

/** Keyword arguments of kairos's `get` and `series`. */
export interface KairosReadKwargs {
  timestamp?: number;
  start?: number;
  end?: number;
  steps?: number;
  condense?: boolean;
  collapse?: boolean;
}

/** Request of `kairos_read.py`. */
export interface KairosReadRequest {
  prefix: string;
  type: KairosType;
  intervals: Readonly<Record<string, KairosInterval>>;
  read_func: 'float' | 'int' | null;
  name: string;
  /** Unused by `properties`. */
  interval: string;
  op: 'get' | 'series' | 'properties';
  kwargs: KairosReadKwargs;
  now: number;
}

/** A dict that is not timestamp-keyed (a histogram row), as the scripts encode it: Python key type and `str(key)` entries. */
export interface KairosDict {
  keyType: string | null;
  entries: Record<string, unknown>;
}

/** Request of `seed_read.py`. */
export interface SeedReadRequest {
  metric_name: string;
  now: number;
  intervals?: Readonly<Record<string, KairosInterval>>;
}

/** The seed's DataFrame: one row per "months" bucket; the index as epoch seconds. */
export interface SeedFrame {
  columns: string[];
  indexDtype: string;
  index: number[];
  data: KairosDict[];
}

/** The scripts, bound to the venv's python and one Redis URL. */
export interface KairosScripts {
  write(request: KairosWriteRequest): Promise<KairosWriteResult>;
  /** `get`/`series` give `[ts, row]` pairs (nested for a resolution); `properties` gives `{interval: {first, last}}`. */
  read(request: KairosReadRequest): Promise<unknown>;
  readSeed(request: SeedReadRequest): Promise<SeedFrame>;
}

/** Builds the venv with `test/interop/setup-python`, or checks it (well under a second when built); returns its python. */
export async function setupKairosPython(): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(resolve(interopDir, 'setup-python'), [], { timeout: 600_000 }));
  } catch (error) {
    throw new SluiceError(ErrorCode.UNAVAILABLE, 'test/interop/setup-python failed; run it by hand to see why (it needs python3 >= 3.11, patch, and PyPI once)', {
      cause: error,
      retryable: false,
    });
  }
  const python = stdout.trim().split('\n').at(-1) ?? '';
  if (python.length === 0) throw new SluiceError(ErrorCode.INTERNAL, 'test/interop/setup-python printed no python path', { context: { stdout } });
  return python;
}

/** Binds the scripts to a python and a Redis URL (a database number in the URL selects that database). */
export function bindKairosScripts(python: string, redisUrl: string): KairosScripts {
  return {
    write: async (request) => (await runKairosScript(python, KairosScript.WRITE, request, redisUrl)) as KairosWriteResult,
    read: async (request) => await runKairosScript(python, KairosScript.READ, request, redisUrl),
    readSeed: async (request) => (await runKairosScript(python, KairosScript.SEED_READ, request, redisUrl)) as SeedFrame,
  };
}

/** Runs one script with the request as argv[1] and `REDIS_URL` set; returns its `result`, or throws what Python raised. */
export async function runKairosScript(python: string, script: KairosScript, request: object, redisUrl: string): Promise<unknown> {
  const args = [resolve(interopDir, script), JSON.stringify(request)];
  const options = { env: { ...process.env, REDIS_URL: redisUrl }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 };
  let stdout: string;
  try {
    ({ stdout } = await run(python, args, options));
  } catch (error) {
    // Exit status 1 with an error document means kairos (or the request) failed, not the harness.
    const printed = (error as { stdout?: unknown }).stdout;
    const failure = typeof printed === 'string' ? parseReply(printed)?.error : undefined;
    if (failure !== undefined) {
      throw new SluiceError(ErrorCode.REMOTE, `${script} raised ${failure.type}: ${failure.message}`, {
        cause: error,
        context: { script, request, pythonType: failure.type, pythonMessage: failure.message, traceback: failure.traceback },
      });
    }
    throw new SluiceError(ErrorCode.INTERNAL, `${script} did not run: ${(error as Error).message}`, { cause: error, context: { script, request } });
  }
  const reply = parseReply(stdout);
  if (reply === undefined || !('result' in reply)) {
    throw new SluiceError(ErrorCode.INTERNAL, `${script} printed no {"result": ...} document`, {
      context: { script, request, stdout: stdout.slice(0, 2000) },
    });
  }
  return reply.result;
}

interface Reply {
  result?: unknown;
  error?: { type: string; message: string; traceback: string };
}

/** The script's JSON document, or undefined when stdout is not one (the callers then report stdout). */
function parseReply(stdout: string): Reply | undefined {
  try {
    const parsed: unknown = JSON.parse(stdout);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Reply) : undefined;
  } catch {
    return undefined;
  }
}
