/**
 * A text file must not be a compressed or binary file under a text name. Decoded as lines, a
 * gzip file named `.ndjson` gives thousands of garbage "records", each a dead letter holding up to
 * a KiB: several times the file's size in Redis, and a run that ends with every record bad instead
 * of an error. The name still decides how a file is read (see `detect-format.ts`); its first bytes
 * can only refuse it, by the magic numbers of the formats that get misnamed.
 */
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import type { RangeReader } from '@sluice/core';

interface Magic {
  what: string;
  fix: string;
  matches(head: Uint8Array): boolean;
}

const startsWith = (head: Uint8Array, bytes: readonly number[]): boolean => bytes.every((b, i) => head[i] === b);

const MAGICS: readonly Magic[] = [
  { what: 'gzip-compressed', fix: 'name it with .gz at the end (x.ndjson.gz)', matches: (h) => startsWith(h, [0x1f, 0x8b]) },
  // PAR1 followed by a byte no text holds: a header line that happens to start with "PAR1" passes.
  { what: 'a Parquet file', fix: 'name it .parquet', matches: (h) => startsWith(h, [0x50, 0x41, 0x52, 0x31]) && h.length > 4 && isControl(h[4] as number) },
  { what: 'zstd-compressed', fix: 'decompress it (zstd -d) or convert it to gzip', matches: (h) => startsWith(h, [0x28, 0xb5, 0x2f, 0xfd]) },
  { what: 'xz-compressed', fix: 'decompress it (xz -d) or convert it to gzip', matches: (h) => startsWith(h, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { what: 'bzip2-compressed', fix: 'decompress it (bunzip2) or convert it to gzip', matches: (h) => startsWith(h, [0x42, 0x5a, 0x68]) && (h[3] ?? 0) >= 0x31 && (h[3] ?? 0) <= 0x39 && startsWith(h.subarray(4), [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) },
  { what: 'a zip archive', fix: 'extract it', matches: (h) => startsWith(h, [0x50, 0x4b, 0x03, 0x04]) },
  { what: 'an Avro container file', fix: 'convert it to NDJSON or Parquet', matches: (h) => startsWith(h, [0x4f, 0x62, 0x6a, 0x01]) },
];

/** Bytes read from the start of a file to check it, once per reader. */
export const HEAD_CHECK_BYTES = 10;

const checked = new WeakMap<RangeReader, Promise<void>>();

function isControl(byte: number): boolean {
  return byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d;
}

/** What a file's first bytes show it to be when it is not text, or undefined when they could be text. */
export function detectBinaryContent(head: Uint8Array): { what: string; fix: string } | undefined {
  const magic = MAGICS.find((m) => m.matches(head));
  return magic === undefined ? undefined : { what: magic.what, fix: magic.fix };
}

/** Throws CORRUPT_INPUT (not retried) when a file to be read as plain text starts like a compressed or binary file; checks once per reader. */
export function checkTextContent(reader: RangeReader, format: string): Promise<void> {
  let pending = checked.get(reader);
  if (pending === undefined) {
    pending = checkHead(reader, format);
    checked.set(reader, pending);
    // A failed read is not remembered: the next split asks again.
    pending.catch((error: unknown) => {
      if (!(isSluiceError(error) && error.code === ErrorCode.CORRUPT_INPUT)) checked.delete(reader);
    });
  }
  return pending;
}

async function checkHead(reader: RangeReader, format: string): Promise<void> {
  const head = await reader.read(0, HEAD_CHECK_BYTES);
  const found = detectBinaryContent(head);
  if (found === undefined) return;
  throw new SluiceError(
    ErrorCode.CORRUPT_INPUT,
    `${reader.url} is named as plain ${format} but is ${found.what} (its first bytes are ${Buffer.from(head.subarray(0, 4)).toString('hex')}); ${found.fix}`,
    { retryable: false, context: { url: reader.url, format, content: found.what } },
  );
}
