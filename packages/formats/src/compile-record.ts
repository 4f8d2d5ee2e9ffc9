/**
 * Record construction for formats whose field names are only known at run time (Zeek `#fields`,
 * CSV headers).
 *
 * V8 keeps an object in fast mode only while its properties are added by named stores; past a dozen
 * properties added with computed keys (`record[name] = value`), it switches the object to
 * dictionary mode. A Zeek dns record has 25 fields: built in a loop it decodes about half as fast,
 * and every property a processor reads from it is a hash lookup. So per header we compile a small
 * function whose stores name their keys literally, as JSON.parse's records are built. The keys are
 * embedded as JSON string literals (always valid JS string literals), never as code. Where the
 * runtime forbids code generation (`--disallow-code-generation-from-strings`) the caller falls back
 * to the loop.
 */

let codegenAllowed: boolean | undefined;

/** Whether `new Function` works in this process. */
export function isCodegenAllowed(): boolean {
  if (codegenAllowed === undefined) {
    try {
      codegenAllowed = new Function('return 1')() === 1;
    } catch {
      codegenAllowed = false;
    }
  }
  return codegenAllowed;
}

/**
 * Builds `(…params) => body` once; `body` must only embed data through `quoteKey` or numbers.
 * Returns undefined when code generation is disallowed.
 */
export function compileFunction<F>(params: readonly string[], body: string): F | undefined {
  if (!isCodegenAllowed()) return undefined;
  return new Function(...params, body) as F;
}

/** A property key as a JS string literal. */
export function quoteKey(name: string): string {
  return JSON.stringify(name);
}

/**
 * Names that a plain assignment would not store as an own data property (`__proto__` invokes the
 * prototype setter); records with such a field are built with `defineField` instead.
 */
export function isSpecialKey(name: string): boolean {
  return name === '__proto__';
}

/** Stores `value` as an own enumerable property, whatever the name. */
export function defineField(record: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(record, name, { value, writable: true, enumerable: true, configurable: true });
}
