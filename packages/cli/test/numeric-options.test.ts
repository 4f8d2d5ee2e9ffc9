/**
 * Every numeric option of every command is checked as it is parsed, before the command connects to
 * anything: the command tree is parsed in this process, and a bad value must reject with
 * INVALID_CONFIG naming the option, what it takes and the value given.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { createProgram } from '../src/program.ts';

/** Parses a command line that must fail on one option; resolves with the error. */
async function parseFailure(args: readonly string[]): Promise<unknown> {
  const program = createProgram();
  // Commander's own messages (none expected here) would go to the terminal.
  program.configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  try {
    await program.parseAsync([...args, '--redis', 'redis://127.0.0.1:1'], { from: 'user' });
  } catch (error) {
    return error;
  }
  assert.fail(`${args.join(' ')} was accepted`);
}

const cases: [args: string[], option: string, expected: string][] = [
  [['worker', '--concurrency', 'two'], '--concurrency', 'an integer from 1 to 1024'],
  [['worker', '--concurrency', '0'], '--concurrency', 'an integer from 1 to 1024'],
  [['worker', '--range-concurrency', '-3'], '--range-concurrency', 'an integer from 1 to 1024'],
  [['worker', '--drain', 'forever'], '--drain', 'a number from 0 to 86400 (seconds)'],
  [['worker', '--drain', '-1'], '--drain', 'a number from 0 to 86400 (seconds)'],
  [['worker', '--chunk-records', '0'], '--chunk-records', 'an integer of at least 1 (records)'],
  [['worker', '--lock-duration', '50'], '--lock-duration', 'an integer from 1000 to 2147483647 (milliseconds)'],
  [['worker', '--lock-duration', '3e4'], '--lock-duration', 'an integer from 1000 to 2147483647 (milliseconds)'],
  [['coordinator', '--attempts', '0'], '--attempts', 'an integer from 1 to 1000'],
  [['coordinator', '--lease-ttl', '10s'], '--lease-ttl', 'an integer from 300 to 2147483647 (milliseconds)'],
  [['coordinator', '--tick', '1.5'], '--tick', 'an integer from 10 to 2147483647 (milliseconds)'],
  [['coordinator', '--max-range-records', 'lots'], '--max-range-records', 'an integer of at least 1 (records)'],
  [['coordinator', '--max-in-flight', '0'], '--max-in-flight', 'an integer from 1 to 1000'],
  [['coordinator', '--retain-completed', '7 days'], '--retain-completed', 'a duration such as 7d, 12h, 30m or 90s, or never'],
  [['coordinator', '--forget-finished', '90'], '--forget-finished', 'a duration such as 7d, 12h, 30m or 90s of at least 1h, or never'],
  [['coordinator', '--forget-finished', '59m'], '--forget-finished', 'a duration such as 7d, 12h, 30m or 90s of at least 1h, or never'],
  [['status', '--limit', 'all'], '--limit', 'an integer from 1 to 100000'],
  [['backfill', 'network-metrics', '--input', '/x', '--split-size', '0'], '--split-size', 'a byte size of at least 1024 bytes'],
  [['run', 'network-metrics', '--input', '/x', '--concurrency', '-1'], '--concurrency', 'an integer from 1 to 1024'],
  [['run', 'network-metrics', '--input', '/x', '--split-size', '12t'], '--split-size', 'a byte size of at least 1024 bytes'],
  [['run', 'network-metrics', '--backfill', '/x', '--stream', 't', '--slack', 'soon'], '--slack', 'a number of at least 0 (seconds)'],
  [['demo', '--workers', '0'], '--workers', 'an integer from 1 to 64'],
];

for (const [args, option, expected] of cases) {
  test(`${args.join(' ')}: fails naming ${option}`, async () => {
    const error = await parseFailure(args);
    const value = args[args.indexOf(option) + 1] as string;
    assert.ok(isSluiceError(error), `a SluiceError, got ${String(error)}`);
    assert.equal(error.code, ErrorCode.INVALID_CONFIG);
    assert.equal(error.message, `${option} must be ${expected}${expected.includes('byte size') ? ', e.g. 134217728, 128m or 64k' : ''}, got ${JSON.stringify(value)}`);
    assert.equal(error.context.flag, option);
  });
}

test('defaults are the documented ones, and valid values arrive as numbers', () => {
  const program = createProgram();
  const option = (command: string, flag: string): unknown => program.commands.find((c) => c.name() === command)?.options.find((o) => o.long === flag)?.defaultValue;
  assert.deepEqual(
    [option('worker', '--concurrency'), option('worker', '--drain'), option('worker', '--lock-duration'), option('worker', '--range-concurrency'), option('worker', '--chunk-records')],
    [1, 30, 30_000, 4, undefined],
  );
  assert.deepEqual(
    [option('coordinator', '--lease-ttl'), option('coordinator', '--tick'), option('coordinator', '--max-range-records'), option('coordinator', '--max-in-flight'), option('coordinator', '--attempts'), option('coordinator', '--retain-completed'), option('coordinator', '--forget-finished')],
    [10_000, 1000, 20_000, 2, 5, 7 * 86_400_000, Number.POSITIVE_INFINITY],
  );
  assert.deepEqual([option('status', '--limit'), option('backfill', '--split-size'), option('run', '--split-size'), option('run', '--concurrency'), option('run', '--slack'), option('demo', '--workers')], [20, 128 * 1024 ** 2, 128 * 1024 ** 2, 2, 300, 2]);
  const worker = program.commands.find((c) => c.name() === 'worker');
  const parse = worker?.options.find((o) => o.long === '--drain')?.parseArg;
  assert.equal(parse?.('2.5', undefined), 2.5);
});
