import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, isSluiceError } from '@sluice/core';
import { detectFormat } from '../src/detect-format.ts';

describe('detectFormat', () => {
  const cases: [string, string, string][] = [
    ['/data/dns.ndjson', 'ndjson', 'none'],
    ['/data/dns.ndjson.gz', 'ndjson', 'gzip'],
    ['events.jsonl', 'ndjson', 'none'],
    ['events.JSON.GZ', 'ndjson', 'gzip'],
    ['/logs/2018-03-24/ssl.17:00:00-18:00:00.log.gz', 'zeek', 'gzip'],
    ['conn.log', 'zeek', 'none'],
    ['x.tsv.gz', 'zeek', 'gzip'],
    ['table.csv', 'csv', 'none'],
    ['webhdfs://nn:9870/data/dns.log.gz?op=OPEN', 'zeek', 'gzip'],
    ['file:///tmp/a.csv.gz#frag', 'csv', 'gzip'],
    ['/data/dns.parquet', 'parquet', 'none'],
    ['webhdfs://nn:9870/warehouse/ssl.PARQ', 'parquet', 'none'],
  ];
  for (const [path, format, compression] of cases) {
    test(`${path} is ${format}, ${compression}`, () => {
      assert.deepEqual(detectFormat(path), { format, compression });
    });
  }

  for (const path of ['data.orc', 'README', 'archive.gz', 'x.log.bz2', '/dir/']) {
    test(`${JSON.stringify(path)} is refused with INVALID_CONFIG that says how to name the format`, () => {
      assert.throws(
        () => detectFormat(path),
        (error: unknown) => {
          assert.ok(isSluiceError(error));
          assert.equal(error.code, ErrorCode.INVALID_CONFIG);
          assert.match(error.message, /format: 'ndjson' \| 'zeek' \| 'csv' \| 'parquet'/);
          assert.equal(error.context.path, path);
          return true;
        },
      );
    });
  }

  test('a gzip-compressed Parquet file is refused: it cannot be read by ranges', () => {
    assert.throws(
      () => detectFormat('/data/dns.parquet.gz'),
      (error: unknown) => isSluiceError(error) && error.code === ErrorCode.INVALID_CONFIG && /Parquet compresses its pages itself/.test(error.message),
    );
  });
});
