/**
 * The one local file the single-process benchmarks (`process.ts`, `threads.ts`) read: `--file`, or
 * the first NDJSON part or Parquet file of the backfill benchmark's data, generated when missing.
 */
import { join, resolve } from 'node:path';
import { prepareBenchData } from './backfill/generate-data.ts';

const repoRoot = resolve(import.meta.dirname, '..', '..');

/** The command-line options both benchmarks take (`parseArgs` form): the input and the rounds. */
export const BENCH_INPUT_OPTIONS = {
  file: { type: 'string' },
  format: { type: 'string', default: 'ndjson' },
  records: { type: 'string', default: '1000000' },
  rounds: { type: 'string', default: '3' },
} as const;

/** The path to read: `file` when given, else the first file of the `records`-record backfill data in `format`. */
export function resolveBenchInput(options: { file?: string | undefined; format: string; records: number }): string {
  if (options.file !== undefined) return options.file;
  const data = prepareBenchData(join(repoRoot, '.local', 'bench', `backfill-${options.records}`), options.records, (line) => process.stderr.write(`${line}\n`));
  const files = options.format === 'parquet' ? data.parquet : data.ndjson;
  return (files[0] as { path: string }).path;
}
