/**
 * Finds a job definition by name. Jobs live in folders (`jobs/<name>/src/index.ts` in this
 * repository), so workers can run any registered job without being rebuilt: a job folder added to
 * the search path is enough.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SluiceError } from '@sluice/core';
import type { JobDefinition } from '@sluice/core';

/** Options of `loadJob`. */
export interface LoadJobOptions {
  /** Folders holding one sub-folder per job; defaults to `SLUICE_JOBS_PATH` (colon-separated). */
  searchPaths?: readonly string[];
}

/** The job folders searched by default: `SLUICE_JOBS_PATH`, else `<repo>/jobs` next to this package. */
export function defaultJobSearchPaths(): string[] {
  const fromEnv = process.env.SLUICE_JOBS_PATH;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv.split(':').filter((p) => p !== '');
  return [resolve(import.meta.dirname, '..', '..', '..', 'jobs')];
}

/** Imports the job named `name` and checks that its module exports a job definition. */
export async function loadJob(name: string, options: LoadJobOptions = {}): Promise<JobDefinition<unknown, unknown>> {
  const searchPaths = options.searchPaths ?? defaultJobSearchPaths();
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `job name ${JSON.stringify(name)} is not valid: use lowercase letters, digits, '.', '_' and '-'`, {
      context: { job: name },
    });
  }
  for (const dir of searchPaths) {
    for (const candidate of [join(dir, name, 'src', 'index.ts'), join(dir, name, 'index.ts'), join(dir, `${name}.ts`)]) {
      if (!existsSync(candidate)) continue;
      const module = (await import(pathToFileURL(candidate).href)) as { default?: unknown };
      const job = module.default;
      if (!isJobDefinition(job) || job.name !== name) {
        throw new SluiceError(ErrorCode.INVALID_DEFINITION, `${candidate} must \`export default defineJob({ name: '${name}', ... })\``, {
          context: { job: name, file: candidate },
        });
      }
      return job;
    }
  }
  throw new SluiceError(ErrorCode.NOT_FOUND, `no job named ${JSON.stringify(name)} in ${searchPaths.join(', ')}; add jobs/${name}/src/index.ts or set SLUICE_JOBS_PATH`, {
    context: { job: name, searchPaths },
  });
}

function isJobDefinition(value: unknown): value is JobDefinition<unknown, unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { process?: unknown }).process === 'function'
    && typeof (value as { name?: unknown }).name === 'string';
}
