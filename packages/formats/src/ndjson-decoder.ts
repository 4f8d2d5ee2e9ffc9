/**
 * NDJSON: one JSON object a line. A line that is not a JSON object becomes a dead letter whose
 * reason carries the parser's message; the split goes on.
 */
import type { DecodedRecord, LineDecoder } from './line-decoder.ts';

/** Decodes JSON Lines / Zeek JSON streaming logs. */
export class NdjsonLineDecoder implements LineDecoder {
  decode(buf: Buffer, start: number, end: number): DecodedRecord | string {
    let value: unknown;
    try {
      value = JSON.parse(buf.toString('utf8', start, end));
    } catch (error) {
      return `invalid JSON: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return `not a JSON object: the line holds ${value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`}`;
    }
    return value as DecodedRecord;
  }

  observe(): void {}

  isHeaderLine(): boolean {
    return false;
  }
}
