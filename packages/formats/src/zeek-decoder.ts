/**
 * Zeek's native TSV logs, decoded by their header into records shaped like Zeek's own JSON logs:
 * the same flat field names (`id.orig_h`), `_path` from the `#path` line, unset fields absent,
 * booleans, numbers and arrays typed as the JSON writer types them.
 *
 * `time` values become epoch seconds as a JavaScript number. Zeek writes them with 6 decimals,
 * and for any time before 2038 (below 2^31 s) `Math.round(x * 1e6)` gives back the exact
 * microseconds that were written: the double nearest the decimal is within 2^-22 s of it, which
 * after scaling stays well under half a microsecond.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import { compileFunction, defineField, isSpecialKey, quoteKey } from './compile-record.ts';
import type { DecodedRecord, LineDecoder } from './line-decoder.ts';

/** The state a Zeek log's header lines set; later records are decoded with it. */
export interface ZeekHeader {
  separator: string;
  setSeparator: string;
  emptyField: string;
  unsetField: string;
  /** The log stream name (`#path`), copied into each record as `_path`. */
  path: string | undefined;
  fields: readonly string[] | undefined;
  types: readonly string[];
  /** Byte offset of the file's first record line, once one is seen: header lines after it start a second log. */
  dataOffset?: number | undefined;
}

/** Zeek's defaults, in force until header lines say otherwise. */
export function createDefaultZeekHeader(): ZeekHeader {
  return { separator: '\t', setSeparator: ',', emptyField: '(empty)', unsetField: '-', path: undefined, fields: undefined, types: [] };
}

// Value kinds, one per column; a container kind is CONTAINER + its element kind.
const STRING = 0;
const REAL = 1;
const INTEGER = 2;
const BOOL = 3;
const CONTAINER = 4;

const HASH = 0x23;
const CONTAINER_TYPE = /^(?:set|vector)\[(.*)\]$/;

function scalarKind(type: string): number {
  switch (type) {
    case 'time':
    case 'double':
    case 'interval':
      return REAL;
    case 'count':
    case 'int':
    case 'port':
      return INTEGER;
    case 'bool':
      return BOOL;
    default:
      // string, addr, subnet, enum, pattern and anything newer stay text.
      return STRING;
  }
}

function kindOf(type: string | undefined): number {
  if (type === undefined) return STRING;
  const container = CONTAINER_TYPE.exec(type);
  return container === null ? scalarKind(type) : CONTAINER + scalarKind(container[1] as string);
}

/** Everything in a header that decoding depends on, as one comparable string. */
function headerSignature(header: ZeekHeader): string {
  const { separator, setSeparator, emptyField, unsetField, path, fields, types } = header;
  return JSON.stringify([separator, setSeparator, emptyField, unsetField, path, fields, types]);
}

/** Turns the fields of one line into a record, or returns the index of the field that did not parse. */
type Assembler = (parts: readonly string[]) => DecodedRecord | number;

/** Options of a Zeek decoder. */
export interface ZeekLineDecoderOptions {
  /** Build records with a function compiled per header (default true); false forces the generic loop. */
  compile?: boolean;
  /**
   * What a header block that changes the header after records does (files that concatenate logs):
   * `apply` it to the lines after it (default; right when every line is read in order from byte 0),
   * or `fail`, for a split that took its header from the file start: a split after that block could
   * not know it and would decode its lines with the wrong columns.
   */
  lateHeader?: 'apply' | 'fail';
  /** The file, named in errors. */
  url?: string;
}

/** Decodes Zeek TSV lines; `#` lines update the header, data lines become records. */
export class ZeekLineDecoder implements LineDecoder {
  #header: ZeekHeader;
  #compile: boolean;
  #kinds: Uint8Array = new Uint8Array(0);
  #assemble: Assembler | undefined;
  #parts: string[] = [];
  #failOnLateHeader: boolean;
  #url: string | undefined;

  constructor(header: ZeekHeader = createDefaultZeekHeader(), options: ZeekLineDecoderOptions = {}) {
    this.#header = { ...header };
    this.#compile = options.compile ?? true;
    this.#failOnLateHeader = options.lateHeader === 'fail';
    this.#url = options.url;
    this.#headerChanged();
  }

  /** A copy of the header state as of the lines seen so far. */
  get header(): ZeekHeader {
    return { ...this.#header };
  }

  decode(buf: Buffer, start: number, end: number, offset: number): DecodedRecord | string | undefined {
    const header = this.#header;
    if (buf[start] === HASH) {
      this.#applyLine(buf.toString('utf8', start, end), offset);
      return undefined;
    }
    header.dataOffset ??= offset;
    const fields = header.fields;
    if (fields === undefined) return 'no #fields header line precedes this line';
    const parts = this.#parts;
    const count = splitFields(buf.toString('utf8', start, end), header.separator, parts, fields.length);
    if (count !== fields.length) {
      return `expected ${fields.length} fields separated by ${JSON.stringify(header.separator)} as #fields declares, got ${count}`;
    }
    this.#assemble ??= this.#buildAssembler(fields);
    const record = this.#assemble(parts);
    if (typeof record === 'number') return badValue(fields[record] as string, parts[record] as string, header.types[record]);
    return record;
  }

  observe(buf: Buffer, start: number, end: number, offset: number): void {
    if (buf[start] === HASH) this.#applyLine(buf.toString('utf8', start, end), offset);
    else this.#header.dataOffset ??= offset;
  }

  isHeaderLine(buf: Buffer, start: number): boolean {
    return buf[start] === HASH;
  }

  #applyLine(line: string, offset: number): void {
    const dataOffset = this.#header.dataOffset;
    if (!this.#failOnLateHeader || dataOffset === undefined || offset < dataOffset) {
      this.applyHeaderLine(line);
      return;
    }
    const before = headerSignature(this.#header);
    this.applyHeaderLine(line);
    if (headerSignature(this.#header) === before) return; // #close, #open, or a block repeating the header
    const url = this.#url ?? 'a Zeek log';
    throw new SluiceError(
      ErrorCode.CORRUPT_INPUT,
      `${url}: the header line at byte ${offset} (${JSON.stringify(line.slice(0, 80))}) changes the header after records, so the file concatenates logs whose headers differ; ` +
        'the splits of a plain-text file decode with the header at its start, and a split after this line would read the wrong columns. ' +
        'Store each log as its own file, or gzip the file (a gzip file is read as one split from its start)',
      { context: { url: this.#url, offset, firstRecordOffset: dataOffset, line: line.slice(0, 1024) } },
    );
  }

  /** Applies one `#` line: `#separator \x09`, `#fields …`, `#types …`; others (`#open`, `#close`) are ignored. */
  applyHeaderLine(line: string): void {
    const header = this.#header;
    if (line.startsWith('#separator ')) {
      header.separator = unescapeAll(line.slice('#separator '.length).trim());
      this.#headerChanged();
      return;
    }
    const parts = line.slice(1).split(header.separator);
    const values = parts.slice(1);
    switch (parts[0]) {
      case 'set_separator':
        header.setSeparator = unescapeAll(values[0] ?? ',');
        break;
      case 'empty_field':
        header.emptyField = unescapeAll(values[0] ?? '');
        break;
      case 'unset_field':
        header.unsetField = unescapeAll(values[0] ?? '');
        break;
      case 'path':
        header.path = values[0];
        break;
      case 'fields':
        header.fields = values;
        break;
      case 'types':
        header.types = values;
        break;
      default:
        return;
    }
    this.#headerChanged();
  }

  #headerChanged(): void {
    const { fields, types } = this.#header;
    const kinds = new Uint8Array(fields?.length ?? 0);
    for (let i = 0; i < kinds.length; i += 1) kinds[i] = kindOf(types[i]);
    this.#kinds = kinds;
    this.#assemble = undefined;
  }

  #buildAssembler(fields: readonly string[]): Assembler {
    const { unsetField, emptyField, setSeparator, path } = this.#header;
    const kinds = this.#kinds;
    const parseContainer = (raw: string, kind: number): unknown[] | undefined => {
      if (raw === emptyField) return [];
      const elements: unknown[] = raw.split(setSeparator);
      const elementKind = kind - CONTAINER;
      for (let k = 0; k < elements.length; k += 1) {
        const element = elements[k] as string;
        if (element === unsetField) elements[k] = null;
        else if (elementKind === STRING) elements[k] = element === emptyField ? '' : unescapeValue(element);
        else {
          const parsed = parseScalar(element, elementKind);
          if (parsed === undefined) return undefined;
          elements[k] = parsed;
        }
      }
      return elements;
    };
    const compiled = this.#compile && !fields.some(isSpecialKey) ? compileAssembler(fields, kinds, path) : undefined;
    if (compiled !== undefined) return compiled(unsetField, emptyField, parseScalar, unescapeValue, parseContainer);
    return (parts) => {
      const record: DecodedRecord = path === undefined ? {} : { _path: path };
      for (let i = 0; i < fields.length; i += 1) {
        const raw = parts[i] as string;
        if (raw === unsetField) continue;
        const kind = kinds[i] as number;
        let value: unknown;
        if (kind === STRING) value = raw === emptyField ? '' : unescapeValue(raw);
        else value = kind < CONTAINER ? parseScalar(raw, kind) : parseContainer(raw, kind);
        if (value === undefined) return i;
        const name = fields[i] as string;
        if (isSpecialKey(name)) defineField(record, name, value);
        else record[name] = value;
      }
      return record;
    };
  }
}

type AssemblerFactory = (
  unset: string,
  empty: string,
  scalar: typeof parseScalar,
  unescape: typeof unescapeValue,
  container: (raw: string, kind: number) => unknown[] | undefined,
) => Assembler;

/** The assembler of one header as straight-line code with literal keys (see compile-record.ts). */
function compileAssembler(fields: readonly string[], kinds: Uint8Array, path: string | undefined): AssemblerFactory | undefined {
  const lines = [`const o = ${path === undefined ? '{}' : `{ _path: ${quoteKey(path)} }`};`, 'let v, x;'];
  for (let i = 0; i < fields.length; i += 1) {
    const key = quoteKey(fields[i] as string);
    const kind = kinds[i] as number;
    lines.push(`v = p[${i}];`);
    if (kind === STRING) {
      lines.push(`if (v !== U) o[${key}] = v === E ? '' : v.indexOf('\\\\x') === -1 ? v : un(v);`);
    } else if (kind === BOOL) {
      lines.push(`if (v !== U) { if (v === 'T') o[${key}] = true; else if (v === 'F') o[${key}] = false; else return ${i}; }`);
    } else {
      const call = kind < CONTAINER ? `s(v, ${kind})` : `c(v, ${kind})`;
      lines.push(`if (v !== U) { x = ${call}; if (x === undefined) return ${i}; o[${key}] = x; }`);
    }
  }
  lines.push('return o;');
  const body = `'use strict';\nreturn function assemble(p) {\n${lines.join('\n')}\n};`;
  return compileFunction<AssemblerFactory>(['U', 'E', 's', 'un', 'c'], body);
}

/** Splits `line` on `separator` into `parts`; returns the number of fields (parts beyond `max` are only counted). */
function splitFields(line: string, separator: string, parts: string[], max: number): number {
  const step = separator.length;
  let count = 0;
  let from = 0;
  for (;;) {
    const at = line.indexOf(separator, from);
    if (at === -1) {
      if (count < max) parts[count] = line.slice(from);
      return count + 1;
    }
    if (count < max) parts[count] = line.slice(from, at);
    count += 1;
    from = at + step;
  }
}

function badValue(field: string, raw: string, type: string | undefined): string {
  return `field ${field}: ${JSON.stringify(raw.slice(0, 64))} is not a valid ${type ?? 'value'}`;
}

/** A number or boolean, or undefined when the text is not one. */
function parseScalar(raw: string, kind: number): number | boolean | undefined {
  if (kind === BOOL) {
    if (raw === 'T') return true;
    if (raw === 'F') return false;
    return undefined;
  }
  const length = raw.length;
  if (length === 0) return undefined;
  if (kind === INTEGER && length < 16) return parseSmallInteger(raw, length);
  // Number() accepts '', whitespace, '0x1f', '0b1' and 'Infinity'; Zeek writes none of those.
  const first = raw.charCodeAt(0);
  const last = raw.charCodeAt(length - 1);
  if (!(isDigit(first) || ((first === 45 || first === 46) && length > 1)) || !(isDigit(last) || last === 46)) return undefined;
  if (first === 48 && length > 2) {
    const radix = raw.charCodeAt(1) | 0x20; // lower case
    if (radix === 0x78 || radix === 0x6f || radix === 0x62) return undefined; // 0x, 0o, 0b
  }
  const value = Number(raw);
  if (Number.isNaN(value)) return undefined;
  if (kind === INTEGER && !Number.isInteger(value)) return undefined;
  return value;
}

/** Up to 15 digits, so the value is exact; cheaper than Number() and its checks. */
function parseSmallInteger(raw: string, length: number): number | undefined {
  const negative = raw.charCodeAt(0) === 45;
  if (negative && length === 1) return undefined;
  let value = 0;
  for (let i = negative ? 1 : 0; i < length; i += 1) {
    const digit = raw.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * Undoes Zeek's `\xHH` escapes of ASCII bytes (separators, control characters, and a value that
 * would read as `-` or `(empty)`). Escapes of bytes >= 0x80 are kept as text, which is how Zeek's
 * JSON writer renders bytes that are not valid UTF-8, so both formats give the same string.
 */
export function unescapeValue(raw: string): string {
  if (raw.indexOf('\\x') === -1) return raw;
  return raw.replace(/\\x([0-7][0-9a-fA-F])/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function unescapeAll(raw: string): string {
  return raw.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}
