import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { defaultJobSearchPaths, loadJob } from '../src/index.ts';

/** A job module without imports, so it loads from any folder. */
const jobSource = (name: string): string =>
  `export default { name: ${JSON.stringify(name)}, series: { a: { type: 'count', intervals: { m: { step: 60 } } } }, process() {} };\n`;

function jobsDir(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-jobs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

function withEnv(t: TestContext, value: string | undefined): void {
  const before = process.env.SLUICE_JOBS_PATH;
  if (value === undefined) delete process.env.SLUICE_JOBS_PATH;
  else process.env.SLUICE_JOBS_PATH = value;
  t.after(() => {
    if (before === undefined) delete process.env.SLUICE_JOBS_PATH;
    else process.env.SLUICE_JOBS_PATH = before;
  });
}

test('a job is found in any of the three layouts, first search path first', async (t) => {
  const first = jobsDir(t, { 'alpha/src/index.ts': jobSource('alpha'), 'beta/index.ts': jobSource('beta'), 'gamma.ts': jobSource('gamma') });
  const second = jobsDir(t, { 'alpha/src/index.ts': 'throw new Error("the second path must not be read");\n', 'delta.ts': jobSource('delta') });
  for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
    const job = await loadJob(name, { searchPaths: [first, second] });
    assert.equal(job.name, name);
    assert.equal(typeof job.process, 'function');
  }
});

test('SLUICE_JOBS_PATH is the default search path, colon-separated; without it, the repository\'s jobs folder', async (t) => {
  const a = jobsDir(t, {});
  const b = jobsDir(t, { 'from-env/index.ts': jobSource('from-env') });
  withEnv(t, `${a}::${b}`);
  assert.deepEqual(defaultJobSearchPaths(), [a, b]);
  assert.equal((await loadJob('from-env')).name, 'from-env');
  process.env.SLUICE_JOBS_PATH = '';
  assert.deepEqual(defaultJobSearchPaths(), [resolve(import.meta.dirname, '..', '..', '..', 'jobs')]);
  assert.equal((await loadJob('network-metrics')).name, 'network-metrics');
});

test('an unknown job is NOT_FOUND, naming every folder searched and how to add it', async (t) => {
  const a = jobsDir(t, { 'other/index.ts': jobSource('other') });
  const b = jobsDir(t, {});
  await assert.rejects(loadJob('missing-job', { searchPaths: [a, b] }), (e: unknown) => {
    assert.ok(isSluiceError(e) && e.code === ErrorCode.NOT_FOUND);
    assert.ok(e.message.includes(a) && e.message.includes(b), e.message);
    assert.match(e.message, /SLUICE_JOBS_PATH/);
    assert.deepEqual(e.context.searchPaths, [a, b]);
    assert.equal(e.retryable, false);
    return true;
  });
});

test('a module without a default job, or with another job\'s name, is INVALID_DEFINITION naming the file', async (t) => {
  const dir = jobsDir(t, {
    'no-default/index.ts': 'export const job = { name: "no-default", process() {} };\n',
    'not-a-job/index.ts': 'export default { name: "not-a-job" };\n',
    'renamed/index.ts': jobSource('original'),
  });
  for (const name of ['no-default', 'not-a-job', 'renamed']) {
    await assert.rejects(loadJob(name, { searchPaths: [dir] }), (e: unknown) => {
      assert.ok(isSluiceError(e) && e.code === ErrorCode.INVALID_DEFINITION, String(e));
      assert.equal(e.context.file, join(dir, name, 'index.ts'));
      assert.match(e.message, new RegExp(`export default defineJob\\(\\{ name: '${name}'`));
      return true;
    });
  }
});

test('a job name that could escape the search path is refused before any file is touched', async (t) => {
  const dir = jobsDir(t, { 'x.ts': jobSource('x') });
  for (const name of ['../x', 'X', '', 'a/b', '.hidden']) {
    await assert.rejects(loadJob(name, { searchPaths: [join(dir, 'sub')] }), (e: unknown) => isSluiceError(e) && e.code === ErrorCode.INVALID_CONFIG, name);
  }
});
