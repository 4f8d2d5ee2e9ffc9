import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import { FileType } from '../src/file-system.ts';
import type { FileStatus } from '../src/file-system.ts';
import { matchGlob, parseGlob } from '../src/glob.ts';
import { isHidden, listMatchingFiles } from '../src/list-files.ts';
import type { DirectoryLister } from '../src/list-files.ts';

function status(path: string, type: FileType): FileStatus {
  return {
    path,
    url: `mem://${path}`,
    name: path.split('/').at(-1) ?? '',
    type,
    length: type === FileType.FILE ? path.length : 0,
    modificationTime: 0,
    accessTime: 0,
    blockSize: 0,
    replication: 1,
    permission: '644',
    owner: 'o',
    group: 'g',
  };
}

/** An in-memory tree: every file path given, with its directories implied. */
function createTree(files: readonly string[]): DirectoryLister & { listings: number; maxInFlight: number } {
  const entries = new Map<string, FileStatus>();
  entries.set('/', status('/', FileType.DIRECTORY));
  for (const file of files) {
    const parts = file.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i += 1) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (!entries.has(dir)) entries.set(dir, status(dir, FileType.DIRECTORY));
    }
    entries.set(file, status(file, FileType.FILE));
  }
  let inFlight = 0;
  const tree = {
    listings: 0,
    maxInFlight: 0,
    async getFileStatus(path: string) {
      const found = entries.get(path);
      if (found === undefined) throw new SluiceError(ErrorCode.NOT_FOUND, `no ${path}`);
      return found;
    },
    async listStatus(path: string) {
      tree.listings += 1;
      inFlight += 1;
      tree.maxInFlight = Math.max(tree.maxInFlight, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      const self = await tree.getFileStatus(path);
      if (self.type === FileType.FILE) return [self];
      const prefix = path === '/' ? '/' : `${path}/`;
      return [...entries.values()]
        .filter((e) => e.path !== path && e.path.startsWith(prefix) && !e.path.slice(prefix.length).includes('/'))
        .toSorted((a, b) => (a.name < b.name ? -1 : 1));
    },
  };
  return tree;
}

const ZEEK = [
  '/archive/zeek/dt=2018-03-23/conn.ndjson.gz',
  '/archive/zeek/dt=2018-03-24/conn.ndjson.gz',
  '/archive/zeek/dt=2018-03-24/dns.ndjson.gz',
  '/archive/zeek/dt=2018-03-24/_SUCCESS',
  '/archive/zeek/dt=2018-03-24/.conn.ndjson.gz.crc',
  '/archive/zeek/dt=2018-03-24/hour=01/conn.ndjson.gz',
  '/archive/zeek/dt=2018-03-25/conn.ndjson.gz',
  '/archive/zeek/_temporary/0/part-0',
];

const paths = (files: readonly FileStatus[]): string[] => files.map((f) => f.path);

test('date partitions are plain globs; results are files sorted by path', async () => {
  const tree = createTree(ZEEK);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-2[45]/*.ndjson.gz')), [
    '/archive/zeek/dt=2018-03-24/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/dns.ndjson.gz',
    '/archive/zeek/dt=2018-03-25/conn.ndjson.gz',
  ]);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek/dt=*/{conn,http}.ndjson.gz')), [
    '/archive/zeek/dt=2018-03-23/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-25/conn.ndjson.gz',
  ]);
});

test('a matched directory contributes its files; recursive adds those below; hidden names are skipped', async () => {
  const tree = createTree(ZEEK);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-24')), [
    '/archive/zeek/dt=2018-03-24/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/dns.ndjson.gz',
  ]);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek', { recursive: true })), [
    '/archive/zeek/dt=2018-03-23/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/dns.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/hour=01/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-25/conn.ndjson.gz',
  ]);
  const withHidden = paths(await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-24/*', { includeHidden: true }));
  assert.ok(withHidden.includes('/archive/zeek/dt=2018-03-24/_SUCCESS'));
  assert.ok(withHidden.includes('/archive/zeek/dt=2018-03-24/.conn.ndjson.gz.crc'));
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-24/_*')), ['/archive/zeek/dt=2018-03-24/_SUCCESS']);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-24/_SUCCESS')), ['/archive/zeek/dt=2018-03-24/_SUCCESS']);
});

test('** reaches any depth, including none', async () => {
  const tree = createTree(ZEEK);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/**/conn.ndjson.gz')), [
    '/archive/zeek/dt=2018-03-23/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-24/hour=01/conn.ndjson.gz',
    '/archive/zeek/dt=2018-03-25/conn.ndjson.gz',
  ]);
  assert.equal((await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-24/**')).length, 3);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-23/conn.ndjson.gz/**')), ['/archive/zeek/dt=2018-03-23/conn.ndjson.gz']);
  assert.deepEqual(paths(await listMatchingFiles(tree, '/archive/zeek/dt=2018-03-2?/hour=*/**')), ['/archive/zeek/dt=2018-03-24/hour=01/conn.ndjson.gz']);
});

test('a missing literal path is NOT_FOUND; a glob matching nothing is empty', async () => {
  const tree = createTree(ZEEK);
  await assert.rejects(listMatchingFiles(tree, '/archive/zeek/dt=2019-01-01'), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.NOT_FOUND);
  await assert.rejects(listMatchingFiles(tree, '/nowhere/*'), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.NOT_FOUND);
  assert.deepEqual(await listMatchingFiles(tree, '/archive/zeek/dt=2019-*/*'), []);
  assert.deepEqual(await listMatchingFiles(tree, '/archive/zeek/dt=*/missing.gz'), []);
});

const belowSkipped = (call: string): boolean => call.includes('/dt=2018-03-23/') || call.includes('/hour=01/');
const isSkippedDirectory = (call: string): boolean => call.endsWith('/dt=2018-03-23') || call.endsWith('/hour=01');

test('a directory skipDirectory names is not listed, nor anything below it, whatever the glob', async () => {
  const tree = createTree(ZEEK);
  const listed: string[] = [];
  const recording: DirectoryLister = {
    getFileStatus: (path) => {
      listed.push(`stat ${path}`);
      return tree.getFileStatus(path);
    },
    listStatus: (path) => {
      listed.push(path);
      return tree.listStatus(path);
    },
  };
  const asked: string[] = [];
  const skipDirectory = (path: string): boolean => {
    asked.push(path);
    return path.endsWith('/dt=2018-03-23') || path.endsWith('/hour=01');
  };
  for (const [pattern, options] of [['/archive/zeek', { recursive: true }], ['/archive/**/conn.ndjson.gz', {}], ['/archive/zeek/dt=*/*', {}]] as const) {
    listed.length = 0;
    asked.length = 0;
    const found = paths(await listMatchingFiles(recording, pattern, { ...options, skipDirectory }));
    assert.ok(!found.some((p) => p.includes('/dt=2018-03-23/') || p.includes('/hour=01/')), `${pattern}: ${found.join(', ')}`);
    assert.ok(found.includes('/archive/zeek/dt=2018-03-24/conn.ndjson.gz'), `${pattern}: ${found.join(', ')}`);
    assert.ok(asked.includes('/archive/zeek/dt=2018-03-23'), `${pattern}: the predicate is asked with absolute paths: ${asked.join(', ')}`);
    // Stat-ing a skipped directory itself is allowed (a literal segment); listing it or touching
    // anything below it is not.
    assert.deepEqual(listed.filter((call) => belowSkipped(call) || (!call.startsWith('stat ') && isSkippedDirectory(call))), [], pattern);
  }
  // Skipping the base itself lists nothing.
  listed.length = 0;
  assert.deepEqual(await listMatchingFiles(recording, '/archive/zeek/dt=2018-03-23', { skipDirectory }), []);
  assert.deepEqual(listed, ['stat /archive/zeek/dt=2018-03-23']);
});

test('listings are bounded in flight and each directory is listed once', async () => {
  const files = Array.from({ length: 60 }, (_, i) => `/wide/d${String(i).padStart(2, '0')}/f.gz`);
  const tree = createTree(files);
  const found = await listMatchingFiles(tree, '/wide/**/*.gz', { concurrency: 4 });
  assert.equal(found.length, 60);
  assert.ok(tree.maxInFlight <= 4, `at most 4 listings in flight, saw ${tree.maxInFlight}`);
  assert.equal(tree.listings, 61);
});

const segment = fc.constantFrom('a', 'b', 'ab', 'dt=1', 'dt=2', '_x', '.y', 'c.gz');
const patternSegment = fc.constantFrom('*', '?', 'a*', '[ab]', '{a,ab}', 'dt=?', '*.gz', '**', 'a', 'c.gz', 'b', '_*');
const tree = fc
  .uniqueArray(fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/r/${s.join('/')}`), { minLength: 1, maxLength: 25 })
  // A path cannot be both a file and a directory.
  .map((candidates) => candidates.filter((f) => !candidates.some((g) => g.startsWith(`${f}/`))));

/** What the walk must return, from matchGlob alone: matched files, and the files directly in matched directories. */
function expectedFiles(files: readonly string[], pattern: string): string[] {
  const glob = parseGlob(pattern);
  return files
    .filter((file) => matchGlob(glob, file) || matchGlob(glob, file.slice(0, file.lastIndexOf('/'))))
    .toSorted();
}

test('property: with hidden names included, the walk returns exactly what matchGlob accepts', async () => {
  await fc.assert(
    fc.asyncProperty(tree, fc.array(patternSegment, { minLength: 1, maxLength: 4 }), async (files, parts) => {
      const pattern = `/r/${parts.join('/')}`;
      let got: string[];
      try {
        got = paths(await listMatchingFiles(createTree(files), pattern, { includeHidden: true }));
      } catch (error) {
        // Only a literal base that does not exist may fail.
        assert.ok(isSluiceError(error) && error.code === ErrorCode.NOT_FOUND, String(error));
        const base = parseGlob(pattern).base;
        assert.ok(!files.some((f) => f === base || f.startsWith(`${base}/`)), `${base} exists`);
        return;
      }
      assert.deepEqual(got, expectedFiles(files, pattern), pattern);
    }),
    { numRuns: 400 },
  );
});

test('property: without hidden names, the walk returns the same minus every path with a hidden segment', async () => {
  await fc.assert(
    fc.asyncProperty(tree, fc.array(patternSegment.filter((p) => p !== '_*'), { minLength: 1, maxLength: 4 }), async (files, parts) => {
      const pattern = `/r/${parts.join('/')}`;
      const hiddenToo = createTree(files);
      const all = await listMatchingFiles(hiddenToo, pattern, { includeHidden: true }).catch(() => undefined);
      if (all === undefined) return;
      const got = paths(await listMatchingFiles(createTree(files), pattern));
      assert.deepEqual(got, paths(all).filter((p) => !p.split('/').some(isHidden)), pattern);
    }),
    { numRuns: 400 },
  );
});
