/**
 * `sluice dead-letters <run-id>`: the records of a run that did not decode or that the processor
 * refused, each with its provenance (`file@offset` or `kafka://topic/partition@offset`), the
 * reason and the start of the raw record, so a user can find them in the input and fix it.
 */
import type { Command } from 'commander';
import { ErrorCode, SluiceError } from '@sluice/core';
import { createDeadLetterLog, createRunStore } from '@sluice/control';
import { integerFlag } from '../config.ts';
import { readFileBytes } from '../inputs.ts';
import { missingRun } from '../missing-run.ts';
import { withRedis } from '../redis-connection.ts';

/** A dead letter as the commit stores it. */
interface StoredDeadLetter {
  provenance?: unknown;
  reason?: unknown;
  raw?: unknown;
  splitId?: unknown;
}

/** Characters of the raw record shown per line in text output (`--json` prints it whole). */
const RAW_PREVIEW = 120;

/** Registers `sluice dead-letters`. */
export function registerDeadLettersCommand(program: Command): void {
  program
    .command('dead-letters <run-id>')
    .description('list the records of a run that did not decode or were refused, with where they are in the input')
    .option('--redis <url>', 'Redis URL (default: REDIS_URL)')
    .option('--limit <n>', 'dead letters to print, oldest first', integerFlag('--limit', { min: 1, max: 1_000_000 }), 20)
    .option('--json', 'print one JSON object a line, raw record whole')
    .action(async (runId: string, flags: { redis?: string; limit: number; json?: boolean }) => {
      await withRedis(flags.redis, async (redis) => {
        const runs = createRunStore(redis);
        // Oldest first: from the files the coordinator moved them to (--dead-letter-archive), then Redis.
        const [record, { letters, total }] = await Promise.all([runs.get(runId), createDeadLetterLog(redis).read(runId, flags.limit, readFileBytes)]);
        // A local `sluice run` keeps its dead letters but no run record: either one names a run.
        if (record === undefined && total === 0) {
          if ((await runs.forgotten(runId)) !== undefined) throw await missingRun(runs, runId);
          throw new SluiceError(ErrorCode.NOT_FOUND, `no run ${runId}; \`sluice status\` lists the runs (and \`sluice run\` prints the id of a local one)`, { context: { runId } });
        }
        if (flags.json === true) {
          for (const letter of letters) process.stdout.write(`${JSON.stringify(letter)}\n`);
          return;
        }
        process.stdout.write(`${formatDeadLetters(letters as StoredDeadLetter[], total)}\n`);
      });
    });
}

/** Dead letters as text: provenance and reason on one line, the start of the raw record indented below. */
export function formatDeadLetters(letters: readonly StoredDeadLetter[], total: number): string {
  if (total === 0) return 'no dead letters';
  const lines = letters.map((letter) => {
    const raw = typeof letter.raw === 'string' ? letter.raw : JSON.stringify(letter.raw ?? '');
    const preview = raw.length > RAW_PREVIEW ? `${raw.slice(0, RAW_PREVIEW)}…` : raw;
    return `${String(letter.provenance)}  ${String(letter.reason)}\n    ${JSON.stringify(preview)}`;
  });
  const shown = letters.length < total ? `${letters.length} of ${total} dead letters (--limit for more)` : `${total} dead letter${total === 1 ? '' : 's'}`;
  return `${lines.join('\n')}\n${shown}`;
}
