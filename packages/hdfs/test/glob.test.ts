import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { hasGlobSyntax, matchGlob, parseGlob } from '../src/glob.ts';

const matches = (pattern: string, path: string): boolean => matchGlob(parseGlob(pattern), path);

test('the base is the deepest directory free of glob syntax', () => {
  assert.equal(parseGlob('/archive/zeek/dt=2018-03-24/*.ndjson.gz').base, '/archive/zeek/dt=2018-03-24');
  assert.equal(parseGlob('/archive/zeek/dt=2018-03-*/conn.log').base, '/archive/zeek');
  assert.equal(parseGlob('/archive/zeek/conn.log').base, '/archive/zeek/conn.log');
  assert.equal(parseGlob('/archive/zeek/conn.log').segments.length, 0);
  assert.equal(parseGlob('/*').base, '/');
  assert.equal(parseGlob('/a/\\*literal/b*').base, '/a/*literal');
});

test('segment syntax: * ? [abc] [a-z] [!a] {a,b} nested braces and escapes', () => {
  const yes: Array<[string, string]> = [
    ['/d/*.gz', '/d/conn.ndjson.gz'],
    ['/d/?.gz', '/d/a.gz'],
    ['/d/[abc].gz', '/d/b.gz'],
    ['/d/[a-c][0-9].gz', '/d/c7.gz'],
    ['/d/[!a].gz', '/d/b.gz'],
    ['/d/[^a].gz', '/d/b.gz'],
    ['/d/{conn,dns}.log', '/d/dns.log'],
    ['/d/{conn,dns{,-v2}}.log', '/d/dns-v2.log'],
    ['/d/{}x', '/d/x'],
    ['/d/a\\*b', '/d/a*b'],
    ['/d/[]]', '/d/]'],
    ['/archive/zeek/dt=2018-03-2[3-5]/*.ndjson.gz', '/archive/zeek/dt=2018-03-24/conn.ndjson.gz'],
    ['/a/**/x.gz', '/a/x.gz'],
    ['/a/**/x.gz', '/a/b/c/d/x.gz'],
    ['/a/**', '/a/b/c'],
  ];
  for (const [pattern, path] of yes) assert.ok(matches(pattern, path), `${pattern} should match ${path}`);
  const no: Array<[string, string]> = [
    ['/d/*.gz', '/d/sub/conn.gz'],
    ['/d/?.gz', '/d/ab.gz'],
    ['/d/[abc].gz', '/d/d.gz'],
    ['/d/[!a].gz', '/d/a.gz'],
    ['/d/{conn,dns}.log', '/d/http.log'],
    ['/d/a\\*b', '/d/axxb'],
    ['/d/a.b', '/d/aXb'],
    ['/d/*', '/e/x'],
    ['/a/**/x.gz', '/a/b/y.gz'],
  ];
  for (const [pattern, path] of no) assert.ok(!matches(pattern, path), `${pattern} should not match ${path}`);
});

test('unclosed classes and braces are INVALID_CONFIG', () => {
  for (const pattern of ['/d/[ab', '/d/{a,b', '/d/{a,b/c}', '/d/[z-a]', 'relative/*']) {
    assert.throws(() => parseGlob(pattern), (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG, pattern);
  }
});

test('hasGlobSyntax ignores escaped characters', () => {
  assert.equal(hasGlobSyntax('dt=2018-03-24'), false);
  assert.equal(hasGlobSyntax('a\\*b'), false);
  assert.equal(hasGlobSyntax('a*b'), true);
  assert.equal(hasGlobSyntax('{a,b}'), true);
});

const name = fc.stringMatching(/^[a-zA-Z0-9._=\- *?[\]{},\\]{1,12}$/).filter((n) => n !== '.' && n !== '..');
const escape = (segment: string): string => segment.replace(/[\\*?[\]{}]/g, '\\$&');

test('property: an escaped literal path matches itself and nothing else', () => {
  fc.assert(
    fc.property(fc.array(name, { minLength: 1, maxLength: 4 }), name, (segments, other) => {
      const path = `/${segments.join('/')}`;
      const pattern = `/${segments.map(escape).join('/')}`;
      assert.ok(matches(pattern, path));
      const last = segments.at(-1) ?? '';
      if (other !== last) assert.ok(!matches(pattern, `/${[...segments.slice(0, -1), other].join('/')}`));
    }),
  );
});

test('property: * matches any one segment, ** any number of them', () => {
  fc.assert(
    fc.property(fc.array(name, { minLength: 1, maxLength: 5 }), (segments) => {
      const path = `/${segments.map((s) => s.replace(/\//g, '')).join('/')}`;
      const depth = segments.length;
      assert.ok(matches(`/${Array.from({ length: depth }, () => '*').join('/')}`, path));
      assert.ok(!matches(`/${Array.from({ length: depth + 1 }, () => '*').join('/')}`, path));
      assert.ok(matches('/**', path));
      assert.ok(matches(`/**/${escape(segments.at(-1) ?? '')}`, path));
    }),
  );
});
