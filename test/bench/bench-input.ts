/**
 * The one local file the single-process benchmarks (`process.ts`, `threads.ts`) read: `--file`, or
 * the first NDJSON part or Parquet file of the backfill benchmark's data, generated when missing.
 */
import { join, resolve } from 'node:path';
import { prepareBenchData } from './backfill/generate-data.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/** The path to read: `file` when given, else the first file of the `records`-record backfill data in `format`. */
export function resolveBenchInput(options: { file?: string | undefined; format: string; records: number }): string {
  if (options.file !== undefined) return options.file;
  const data = prepareBenchData(join(repoRoot, '.local', 'bench', `backfill-${options.records}`), options.records, (line) => process.stderr.write(`${line}\n`));
  const files = options.format === 'parquet' ? data.parquet : data.ndjson;
  return (files[0] as { path: string }).path;
}
