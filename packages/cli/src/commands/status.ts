/**
 * `sluice status [run-id] [--json]`: runs and their progress, read from Redis, so it works from any
 * machine that reaches Redis whether or not a coordinator is alive.
 */
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { computePartitionLag, createRunStore, createStreamPositions, isFinalState } from '@sluice/control';
import type { PartitionLag, PlannedRange, RunProgress } from '@sluice/control';
import { integerFlag } from '../config.ts';
import { missingRun } from '../missing-run.ts';
import { withRedis } from '../redis-connection.ts';
import { formatTable } from '../table.ts';

/** Registers `sluice status`. */
export function registerStatusCommand(program: Command): void {
  program
    .command('status [run-id]')
    .description('show runs and their progress')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'newest runs to list, besides every active one', integerFlag('--limit', { min: 1, max: 100_000 }), 20)
    .action(async (runId: string | undefined, flags: { redis?: string; json?: boolean; limit: number }) => {
      await withRedis(flags.redis, async (redis) => {
        const runs = createRunStore(redis);
        if (runId !== undefined) {
          const progress = await runs.progress(runId);
          if (progress === undefined) throw await missingRun(runs, runId);
          const isStream = progress.run.kind === 'stream';
          const stream = isStream ? await streamLag(redis, progress) : undefined;
          const gaps = isStream ? await createStreamPositions(redis).gaps(runId) : undefined;
          if (flags.json === true) process.stdout.write(`${JSON.stringify({ ...progress, ...(stream === undefined ? {} : { stream, gaps }) })}\n`);
          else process.stdout.write(`${formatProgress(progress)}\n${stream === undefined ? '' : `${formatLag(stream)}\n${formatGaps(gaps ?? [])}`}`);
          return;
        }
        // Active runs are listed however old: they are what someone is waiting for.
        const [active, newest] = await Promise.all([runs.listActive(), runs.list(flags.limit)]);
        const byId = new Map([...newest, ...active].map((r) => [r.runId, r]));
        const list = [...byId.values()].sort((a, b) => b.submittedAt - a.submittedAt);
        const all = (await Promise.all(list.map((r) => runs.progress(r.runId)))).filter((p): p is RunProgress => p !== undefined);
        if (flags.json === true) {
          process.stdout.write(`${JSON.stringify(all)}\n`);
          return;
        }
        if (all.length === 0) {
          process.stdout.write('no runs\n');
          return;
        }
        process.stdout.write(`${formatRunList(all, Date.now())}\n`);
      });
    });
}

/** The run list: one aligned row per run under a header, newest first as given. */
export function formatRunList(all: readonly RunProgress[], now: number): string {
  // Only another namespace's coordinators run a namespaced run: say which, when there are any.
  const namespaced = all.some((p) => p.run.namespace !== undefined);
  const rows = [
    ['RUN', 'KIND', 'JOB', ...(namespaced ? ['NAMESPACE'] : []), 'STATE', 'SUBMITTED (UTC)', 'ELAPSED', 'PROGRESS', 'RECORDS', 'BAD'],
    ...all.map((p) => [
      p.run.runId, p.run.kind, p.run.job, ...(namespaced ? [p.run.namespace ?? '-'] : []), p.run.state, formatTime(p.run.submittedAt), formatElapsed(p, now),
      formatSplitCount(p), p.records.toLocaleString('en-US'), p.badRecords.toLocaleString('en-US'),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  // Counts are right-aligned so their digits line up.
  const right = new Set([rows[0]!.length - 2, rows[0]!.length - 1]);
  return rows.map((row) => row.map((cell, column) => (right.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n');
}

/** A time as `2026-12-03 20:15:04`, in UTC like the rest of Sluice's output. */
function formatTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Time from the run's start to its end (or to now while it runs), `-` before it started. */
function formatElapsed(p: RunProgress, now: number): string {
  if (p.run.startedAt === undefined) return '-';
  return formatDuration((p.run.finishedAt ?? now) - p.run.startedAt);
}

/** A duration as `42.3 s`, `7m 05s` or `3h 02m`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.floor(seconds);
  if (whole < 3600) return `${Math.floor(whole / 60)}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
}

/** A run's splits in the run list: done of planned for a backfill, done for a stream (which has no total). */
function formatSplitCount(p: RunProgress): string {
  const failed = formatFailedCount(p);
  if (p.run.kind === 'stream') return `${p.splitsDone} ${p.splitsDone === 1 ? 'range' : 'ranges'}${failed}`;
  return `${p.splitsDone}/${p.run.splitsTotal ?? '?'} splits${failed}`;
}

/** `, N failed` when splits or ranges failed for good, else nothing. */
function formatFailedCount(p: RunProgress): string {
  return p.splitsFailed > 0 ? `, ${p.splitsFailed} failed` : '';
}

/** Per-partition end offset, committed offset, lag in records and in seconds of event time, and records/s. */
export async function streamLag(redis: Redis, progress: RunProgress, now: number = Date.now()): Promise<PartitionLag[]> {
  const partitions = await createStreamPositions(redis).list(progress.run.runId);
  return partitions.map((p) => computePartitionLag(p, now));
}

/** Gaps listed by `sluice status <run>`; the JSON lists all of them. */
const GAPS_SHOWN = 10;

/** Offsets retention deleted before the run read them, one line each (empty when there are none). */
export function formatGaps(gaps: readonly PlannedRange[]): string {
  if (gaps.length === 0) return '';
  const records = gaps.reduce((n, g) => n + (g.until - g.from), 0);
  const lines = [`gaps: ${gaps.length} (${records.toLocaleString('en-US')} records deleted by retention before the run read them)`];
  for (const g of gaps.slice(0, GAPS_SHOWN)) lines.push(`  ${g.topic}/${g.partition} [${g.from}, ${g.until})`);
  if (gaps.length > GAPS_SHOWN) lines.push(`  … and ${gaps.length - GAPS_SHOWN} more (sluice status --json lists them all)`);
  return `${lines.join('\n')}\n`;
}

/** Formats the lag table of a stream run. */
export function formatLag(lag: readonly PartitionLag[]): string {
  return formatTable(lag.map((p) => {
    const seconds = p.lagSeconds === null ? 'unknown' : `${p.lagSeconds.toFixed(1)} s`;
    const rate = p.recordsPerSecond === null ? '-' : Math.round(p.recordsPerSecond).toLocaleString('en-US');
    return [`${p.topic}/${p.partition}`, `end ${p.endOffset}  committed ${p.committed}  lag ${p.lagRecords} records, ${seconds} of event time  ${rate} records/s`];
  }));
}

/** Formats one run's progress as a table. */
export function formatProgress(p: RunProgress, now = Date.now()): string {
  const total = p.run.splitsTotal;
  const failed = formatFailedCount(p);
  const rows: [string, string][] = [
    ['run', p.run.runId],
    ['job', `${p.run.job} (${p.run.kind})`],
    ['state', p.run.state],
    ['submitted', `${formatTime(p.run.submittedAt)} UTC`],
    ['elapsed', formatElapsed(p, now)],
    ['splits', p.run.kind === 'stream' ? `${p.splitsDone} ranges done${failed}` : total === undefined ? (isFinalState(p.run.state) ? 'none planned' : 'planning') : `${p.splitsDone}/${total} done${failed}`],
    ['bytes', `${p.bytes.toLocaleString('en-US')}${p.run.bytesTotal === undefined ? '' : ` / ${p.run.bytesTotal.toLocaleString('en-US')}`}`],
    ['records', p.records.toLocaleString('en-US')],
    ['records/s', Math.round(p.recordsPerSecond).toLocaleString('en-US')],
    ['bad records', p.badRecords === 0 ? '0' : `${p.badRecords.toLocaleString('en-US')} (sluice dead-letters ${p.run.runId})`],
    ['expired writes', p.expired.toLocaleString('en-US')],
    ['eta', p.etaSeconds === undefined ? '-' : `${Math.ceil(p.etaSeconds)} s`],
  ];
  if (p.run.error !== undefined) rows.push(['error', p.run.error]);
  if (p.run.prunedAt !== undefined) rows.push(['pruned', `${formatTime(p.run.prunedAt)} UTC (its fences and split ids; a late attempt still writes nothing)`]);
  for (const f of p.failed) rows.push([p.run.kind === 'stream' ? 'failed range' : 'failed split', `${f.splitId}: [${f.code}] ${f.message} (${f.attempts} attempts)`]);
  return formatTable(rows);
}

