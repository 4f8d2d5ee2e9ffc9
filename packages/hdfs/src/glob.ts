/**
 * Path globs, matched one path segment at a time so a listing only descends into directories that
 * can still match: `*`, `?`, `[abc]`, `[a-z]`, `[!abc]`, `{a,b}` (nestable, within a segment), `\`
 * escapes, and `**` as a whole segment for any depth. Date partitions (`dt=2018-03-*`) are plain globs.
 */
import { ErrorCode, SluiceError } from '@sluice/core';
import { normalizePath } from './webhdfs-url.ts';

/** One segment of a glob below its literal base. */
export type GlobSegment =
  | { readonly kind: 'literal'; readonly name: string }
  | {
      readonly kind: 'pattern';
      readonly source: string;
      readonly regex: RegExp;
      /** The pattern itself starts with `.` or `_`, so it may match names listings hide by default. */
      readonly matchesHidden: boolean;
    }
  | { readonly kind: 'any-depth' };

/** A parsed glob: the deepest directory free of glob syntax, and the segments below it. */
export interface GlobPattern {
  /** Absolute, normalized path every match lies under. */
  readonly base: string;
  readonly segments: readonly GlobSegment[];
}

/** Parses an absolute glob path; throws INVALID_CONFIG for an unclosed `[` or `{`. */
export function parseGlob(pattern: string): GlobPattern {
  if (!pattern.startsWith('/')) {
    throw new SluiceError(ErrorCode.INVALID_CONFIG, `glob '${pattern}' must be an absolute path`, { context: { pattern } });
  }
  const parts = normalizePath(pattern).split('/').filter((part) => part !== '');
  const base: string[] = [];
  let index = 0;
  for (; index < parts.length; index += 1) {
    const part = parts[index] ?? '';
    if (hasGlobSyntax(part)) break;
    base.push(unescapeGlob(part));
  }
  const segments = parts.slice(index).map((part) => compileSegment(part, pattern));
  return { base: `/${base.join('/')}`, segments };
}

/** Whether a segment contains unescaped glob syntax. */
export function hasGlobSyntax(segment: string): boolean {
  for (let i = 0; i < segment.length; i += 1) {
    const char = segment[i];
    if (char === '\\') i += 1;
    else if (char === '*' || char === '?' || char === '[' || char === '{') return true;
  }
  return false;
}

/** Whether `name` (one path segment) matches a segment pattern. */
export function matchSegment(segment: GlobSegment, name: string): boolean {
  if (segment.kind === 'literal') return segment.name === name;
  if (segment.kind === 'any-depth') return true;
  return segment.regex.test(name);
}

/** Whether a whole absolute path matches a glob; the walk in `listMatchingFiles` agrees with it. */
export function matchGlob(pattern: GlobPattern, path: string): boolean {
  const baseParts = pattern.base.split('/').filter((part) => part !== '');
  const parts = normalizePath(path).split('/').filter((part) => part !== '');
  if (parts.length < baseParts.length || baseParts.some((part, i) => parts[i] !== part)) return false;
  return matchFrom(pattern.segments, 0, parts.slice(baseParts.length), 0);
}

function matchFrom(segments: readonly GlobSegment[], s: number, parts: readonly string[], p: number): boolean {
  const segment = segments[s];
  if (segment === undefined) return p === parts.length;
  if (segment.kind === 'any-depth') {
    for (let skip = p; skip <= parts.length; skip += 1) {
      if (matchFrom(segments, s + 1, parts, skip)) return true;
    }
    return false;
  }
  const part = parts[p];
  return part !== undefined && matchSegment(segment, part) && matchFrom(segments, s + 1, parts, p + 1);
}

function compileSegment(part: string, pattern: string): GlobSegment {
  if (part === '**') return { kind: 'any-depth' };
  if (!hasGlobSyntax(part)) return { kind: 'literal', name: unescapeGlob(part) };
  const { source, end } = translate(part, 0, false, pattern);
  if (end !== part.length) throw badGlob(pattern, `unexpected '${part[end] ?? ''}' in '${part}'`);
  return {
    kind: 'pattern',
    source: part,
    regex: new RegExp(`^(?:${source})$`, 'u'),
    matchesHidden: part.startsWith('.') || part.startsWith('_'),
  };
}

/** Translates glob text from `start` to a regex source; inside braces it stops at `,` or `}`. */
function translate(text: string, start: number, inBraces: boolean, pattern: string): { source: string; end: number } {
  let source = '';
  let i = start;
  while (i < text.length) {
    const char = text[i] ?? '';
    if (inBraces && (char === ',' || char === '}')) return { source, end: i };
    if (char === '\\') {
      source += escapeRegex(text[i + 1] ?? '\\');
      i += 2;
    } else if (char === '*') {
      source += '[^/]*';
      i += 1;
    } else if (char === '?') {
      source += '[^/]';
      i += 1;
    } else if (char === '[') {
      const parsed = translateClass(text, i, pattern);
      source += parsed.source;
      i = parsed.end;
    } else if (char === '{') {
      const alternatives: string[] = [];
      let j = i + 1;
      for (;;) {
        const inner = translate(text, j, true, pattern);
        alternatives.push(inner.source);
        const stop = text[inner.end];
        if (stop === undefined) throw badGlob(pattern, `unclosed '{' in '${text}'`);
        j = inner.end + 1;
        if (stop === '}') break;
      }
      source += `(?:${alternatives.join('|')})`;
      i = j;
    } else {
      source += escapeRegex(char);
      i += 1;
    }
  }
  return { source, end: i };
}

/** `[...]` at `start`: ranges, `!`/`^` negation, a leading `]` taken literally. */
function translateClass(text: string, start: number, pattern: string): { source: string; end: number } {
  let i = start + 1;
  let negated = false;
  if (text[i] === '!' || text[i] === '^') {
    negated = true;
    i += 1;
  }
  let body = '';
  let first = true;
  while (i < text.length && (text[i] !== ']' || first)) {
    let char = text[i] ?? '';
    if (char === '\\' && i + 1 < text.length) {
      i += 1;
      char = text[i] ?? '';
    }
    if (text[i + 1] === '-' && text[i + 2] !== undefined && text[i + 2] !== ']') {
      const to = text[i + 2] ?? '';
      if (to < char) throw badGlob(pattern, `range '${char}-${to}' is out of order in '${text}'`);
      body += `${escapeClassChar(char)}-${escapeClassChar(to)}`;
      i += 3;
    } else {
      body += escapeClassChar(char);
      i += 1;
    }
    first = false;
  }
  if (text[i] !== ']') throw badGlob(pattern, `unclosed '[' in '${text}'`);
  return { source: negated ? `[^/${body}]` : `[${body}]`, end: i + 1 };
}

function unescapeGlob(part: string): string {
  return part.replace(/\\(.)/gu, '$1');
}

function escapeRegex(char: string): string {
  return /[\\^$.*+?()[\]{}|/]/u.test(char) ? `\\${char}` : char;
}

function escapeClassChar(char: string): string {
  return /[\\\]^[-]/u.test(char) ? `\\${char}` : char;
}

function badGlob(pattern: string, hint: string): SluiceError {
  return new SluiceError(ErrorCode.INVALID_CONFIG, `invalid glob '${pattern}': ${hint}`, { context: { pattern } });
}
