/**
 * The decoders against the real WRCCDC 2018 Zeek logs: every record of every file decodes, the
 * uncompressed files give the same records whatever the split size, and the Zeek JSON and Zeek TSV
 * versions of each event agree on the fields the network-metrics job reads.
 *
 * The dataset is found at `../shared/datasets/wrccdc-2018` from the repository root, or at
 * `SLUICE_DATASET_DIR`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createFileRangeReader, detectFormat, parseTimestampMicros, planTextSplits, readSplit } from '@sluice/formats';
import type { DecodedRecord, SplitCompression, SplitFormat } from '@sluice/formats';

const datasetDir = process.env.SLUICE_DATASET_DIR ?? resolve(import.meta.dirname, '../../../shared/datasets/wrccdc-2018');

const EXPECTED: Readonly<Record<string, number>> = { dns: 53_615, ssl: 49_474 };

interface Decoded {
  records: DecodedRecord[];
  offsets: number[];
  deadLetters: number;
}

async function decodeFile(path: string, format: SplitFormat, compression: SplitCompression, splitSize?: number): Promise<Decoded> {
  const reader = createFileRangeReader(path);
  const out: Decoded = { records: [], offsets: [], deadLetters: 0 };
  try {
    const size = await reader.size();
    const splits = splitSize === undefined ? [{ start: 0, end: size }] : planTextSplits(size, splitSize);
    for (const { start, end } of splits) {
      for await (const batch of readSplit(reader, { format, compression, start, end })) {
        for (let i = 0; i < batch.records.length; i += 1) {
          out.records.push(batch.records[i] as DecodedRecord);
          out.offsets.push(batch.offsets[i] as number);
        }
        out.deadLetters += batch.deadLetters.length;
      }
    }
  } finally {
    await reader.close();
  }
  return out;
}

/** The fields the job reads, normalised: `ts` as epoch microseconds, `rtt` as whole microseconds. */
function jobView(record: DecodedRecord): Record<string, unknown> {
  const view: Record<string, unknown> = { _path: record._path, ts: parseTimestampMicros(record.ts) };
  for (const field of ['id.orig_h', 'id.resp_h', 'established', 'version', 'rcode_name', 'qtype_name']) view[field] = record[field];
  view.rtt = typeof record.rtt === 'number' ? Math.round(record.rtt * 1e6) : record.rtt;
  return view;
}

describe('formats on the WRCCDC 2018 dataset', () => {
  for (const log of ['dns', 'ssl'] as const) {
    test(`${log}: NDJSON and Zeek TSV decode to ${EXPECTED[log]} records each, with no dead letters, and agree record by record`, async (t) => {
      const ndjsonPath = join(datasetDir, `${log}.ndjson.gz`);
      const tsvPath = join(datasetDir, `${log}.log.gz`);
      const ndjson = await decodeFile(ndjsonPath, ...formatOf(ndjsonPath));
      const tsv = await decodeFile(tsvPath, ...formatOf(tsvPath));
      assert.equal(ndjson.records.length, EXPECTED[log]);
      assert.equal(tsv.records.length, EXPECTED[log]);
      assert.equal(ndjson.deadLetters, 0);
      assert.equal(tsv.deadLetters, 0);

      // Both files list the same events in the same order.
      let withRtt = 0;
      for (let i = 0; i < ndjson.records.length; i += 1) {
        const fromJson = jobView(ndjson.records[i] as DecodedRecord);
        const fromTsv = jobView(tsv.records[i] as DecodedRecord);
        if (typeof fromJson.rtt === 'number') withRtt += 1;
        assert.deepEqual(fromTsv, fromJson, `record ${i} of ${log}`);
      }
      assert.equal(typeof ndjson.records[0]?.ts, 'string');
      assert.equal(typeof tsv.records[0]?.ts, 'number');
      assert.equal(ndjson.records.filter((r) => r._path !== log).length, 0);
      if (log === 'dns') assert.ok(withRtt > 30_000 && withRtt < 53_615, `${withRtt} dns records with rtt`);
      if (log === 'ssl') {
        const responders = new Set(ndjson.records.map((r) => r['id.resp_h']));
        assert.equal(responders.size, 609);
      }
      t.diagnostic(`${log}: ${EXPECTED[log]} records in both formats, ${withRtt} with rtt`);
    });
  }

  test('the uncompressed files read in 64 KiB and 1 MiB splits give the gzip records at the same offsets', async (t) => {
    const scratch = await mkdtemp(join(tmpdir(), 'sluice-dataset-'));
    t.after(() => rm(scratch, { recursive: true, force: true }));
    for (const name of ['dns.ndjson.gz', 'ssl.ndjson.gz', 'dns.log.gz', 'ssl.log.gz']) {
      const gzipPath = join(datasetDir, name);
      const plainPath = join(scratch, name.slice(0, -'.gz'.length));
      await writeFile(plainPath, gunzipSync(await readFile(gzipPath)));
      const [format] = formatOf(gzipPath);
      const whole = await decodeFile(gzipPath, format, 'gzip');
      for (const splitSize of [64 * 1024, 1024 * 1024]) {
        const split = await decodeFile(plainPath, ...formatOf(plainPath), splitSize);
        assert.equal(split.deadLetters, 0);
        assert.equal(split.records.length, EXPECTED[name.slice(0, 3)]);
        assert.deepEqual(split.offsets, whole.offsets, `${name} offsets with ${splitSize}-byte splits`);
        assert.deepEqual(split.records, whole.records, `${name} records with ${splitSize}-byte splits`);
      }
    }
  });
});

function formatOf(path: string): [SplitFormat, SplitCompression] {
  const { format, compression } = detectFormat(path);
  return [format, compression];
}
