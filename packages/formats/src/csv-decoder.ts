/**
 * CSV with a header line (RFC 4180: quoted fields, `""` for a quote inside them, commas inside
 * quotes). Values stay strings: CSV carries no types, and guessing them would make a column's type
 * depend on which rows a split happens to hold.
 *
 * A quoted field containing a line break is not supported: splits are cut at line breaks, and a
 * split cannot know whether a line break it sees is inside quotes without reading the file from
 * its start. Such a record becomes dead letters (an unterminated quote, then stray lines).
 */
import { compileFunction, defineField, isSpecialKey, quoteKey } from './compile-record.ts';
import type { DecodedRecord, LineDecoder } from './line-decoder.ts';

/** The column names of a CSV file and where its header line starts. */
export interface CsvHeader {
  names: readonly string[];
  /** Byte offset of the header line, so a split that owns it does not read it as a record. */
  offset: number;
}

/** Options of a CSV decoder. */
export interface CsvLineDecoderOptions {
  /** Build records with a function compiled per header (default true); false forces the generic loop. */
  compile?: boolean;
}

type Assembler = (values: readonly string[]) => DecodedRecord;

/** Decodes CSV lines; the first non-empty line of the file is the header. */
export class CsvLineDecoder implements LineDecoder {
  #header: CsvHeader | undefined;
  #compile: boolean;
  #assemble: Assembler | undefined;

  constructor(header?: CsvHeader, options: CsvLineDecoderOptions = {}) {
    this.#header = header;
    this.#compile = options.compile ?? true;
  }

  /** The header, once seen. */
  get header(): CsvHeader | undefined {
    return this.#header;
  }

  decode(buf: Buffer, start: number, end: number, offset: number): DecodedRecord | string | undefined {
    const header = this.#header;
    if (header === undefined) return this.#takeHeader(buf, start, end, offset);
    if (offset === header.offset) return undefined;
    const values = parseCsvLine(buf.toString('utf8', start, end));
    if (typeof values === 'string') return values;
    const names = header.names;
    if (values.length !== names.length) return `expected ${names.length} fields as the header names, got ${values.length}`;
    this.#assemble ??= this.#buildAssembler(names);
    return this.#assemble(values);
  }

  #buildAssembler(names: readonly string[]): Assembler {
    if (this.#compile && !names.some(isSpecialKey)) {
      const entries = names.map((name, i) => `${quoteKey(name)}: p[${i}]`).join(', ');
      const compiled = compileFunction<Assembler>(['p'], `'use strict';\nreturn { ${entries} };`);
      if (compiled !== undefined) return compiled;
    }
    return (values) => {
      const record: DecodedRecord = {};
      for (let i = 0; i < names.length; i += 1) {
        const name = names[i] as string;
        if (isSpecialKey(name)) defineField(record, name, values[i]);
        else record[name] = values[i];
      }
      return record;
    };
  }

  observe(buf: Buffer, start: number, end: number, offset: number): void {
    if (this.#header === undefined) this.#takeHeader(buf, start, end, offset);
  }

  isHeaderLine(): boolean {
    return this.#header === undefined;
  }

  #takeHeader(buf: Buffer, start: number, end: number, offset: number): string | undefined {
    const names = parseCsvLine(buf.toString('utf8', start, end));
    if (typeof names === 'string') return `header line: ${names}`;
    this.#header = { names, offset };
    return undefined;
  }
}

/** The fields of one CSV line, or a string saying why it is malformed. */
export function parseCsvLine(line: string): string[] | string {
  if (line.indexOf('"') === -1) return line.split(',');
  const fields: string[] = [];
  const length = line.length;
  let i = 0;
  for (;;) {
    if (line.charCodeAt(i) === 34) {
      let value = '';
      let from = i + 1;
      for (;;) {
        const quote = line.indexOf('"', from);
        if (quote === -1) return `unterminated quoted field at character ${i} (quoted fields cannot span lines)`;
        value += line.slice(from, quote);
        if (line.charCodeAt(quote + 1) === 34) {
          value += '"';
          from = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (i === length) return fields;
      if (line.charCodeAt(i) !== 44) return `unexpected character after the closing quote at character ${i}`;
      i += 1;
    } else {
      const comma = line.indexOf(',', i);
      const field = comma === -1 ? line.slice(i) : line.slice(i, comma);
      const quote = field.indexOf('"');
      if (quote !== -1) return `a quote inside an unquoted field at character ${i + quote}`;
      fields.push(field);
      if (comma === -1) return fields;
      i = comma + 1;
    }
    if (i === length) {
      fields.push('');
      return fields;
    }
  }
}
