/**
 * Sluice's one error type. Every error that leaves a package is a SluiceError with a stable `code`
 * (so callers classify without `instanceof`, which breaks across duplicated module copies and
 * process boundaries), a `retryable` flag the queue uses to decide between retry and fail-fast,
 * and the context a human needs to act on it.
 */

/** Stable error codes; the list is the contract, the messages are not. */
export const ErrorCode = {
  /** A job definition, series declaration or option is wrong; fix the code or config. */
  INVALID_DEFINITION: 'SLUICE_INVALID_DEFINITION',
  /** A configuration value (env, URL, CLI flag) is wrong; the message says which and how to fix it. */
  INVALID_CONFIG: 'SLUICE_INVALID_CONFIG',
  /** A record could not be decoded or processed; it becomes a dead letter, the split goes on. */
  BAD_RECORD: 'SLUICE_BAD_RECORD',
  /** A whole input (file, split) is unreadable: truncated gzip, bad Parquet footer. */
  CORRUPT_INPUT: 'SLUICE_CORRUPT_INPUT',
  /** A path, topic or key that must exist does not. */
  NOT_FOUND: 'SLUICE_NOT_FOUND',
  /** The remote side refused us: permissions, auth. */
  PERMISSION_DENIED: 'SLUICE_PERMISSION_DENIED',
  /** A service could not be reached or answered with a transient failure. */
  UNAVAILABLE: 'SLUICE_UNAVAILABLE',
  /** A request took longer than its configured timeout. */
  TIMEOUT: 'SLUICE_TIMEOUT',
  /** A remote service answered with an error we do not classify further. */
  REMOTE: 'SLUICE_REMOTE',
  /** A fenced commit was refused because its sequence is out of order (an earlier chunk is missing). */
  FENCE_GAP: 'SLUICE_FENCE_GAP',
  /** A Kafka range starts below the log start offset: records were deleted by retention. */
  OFFSET_GAP: 'SLUICE_OFFSET_GAP',
  /**
   * A Kafka partition's offsets went back below what a stream run planned (the topic was deleted
   * and re-created, or its log truncated): the run cannot go on from its positions.
   */
  OFFSET_REWOUND: 'SLUICE_OFFSET_REWOUND',
  /** A write by a coordinator that no longer holds the lease was refused: it must stand down. */
  FENCED: 'SLUICE_FENCED',
  /** The operation was cancelled on request. */
  CANCELLED: 'SLUICE_CANCELLED',
  /**
   * This process is older than what it met (a split payload or a run written by a newer version):
   * upgrade it. Not the input's fault: the work goes back for an up-to-date process.
   */
  OUTDATED: 'SLUICE_OUTDATED',
  /** An invariant broke: a bug in Sluice, never the user's fault. */
  INTERNAL: 'SLUICE_INTERNAL',
} as const;

/** Union of every error code. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const BRAND = Symbol.for('sluice.error');

/** Options accepted by every SluiceError constructor. */
export interface SluiceErrorOptions {
  /** Whether trying the same thing again may succeed. Defaults per code (see `isRetryableCode`). */
  retryable?: boolean;
  /** The underlying error, kept for logs and `cause` chains. */
  cause?: unknown;
  /** Facts a human acts on: the path, the key, the offset, the option name. */
  context?: Readonly<Record<string, unknown>>;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  ErrorCode.UNAVAILABLE,
  ErrorCode.TIMEOUT,
  ErrorCode.FENCE_GAP,
]);

/** Whether errors of this code are retryable unless the thrower says otherwise. */
export function isRetryableCode(code: ErrorCode): boolean {
  return RETRYABLE_BY_DEFAULT.has(code);
}

/** The base of all Sluice errors: a code, a retryable flag, a cause and actionable context. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: Readonly<Record<string, unknown>>;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SluiceError';
    this.code = code;
    this.retryable = options.retryable ?? isRetryableCode(code);
    this.context = options.context ?? {};
  }

  /** A plain object that survives JSON and process boundaries (BullMQ failedReason, logs, API). */
  toJSON(): SerializedError {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      context: this.context,
      ...(this.cause === undefined ? {} : { cause: describeCause(this.cause) }),
    };
  }
}

/** The JSON shape of a SluiceError. */
export interface SerializedError {
  name: string;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  context: Readonly<Record<string, unknown>>;
  cause?: string;
}

/** True for any SluiceError, even one from another copy of this module. */
export function isSluiceError(value: unknown): value is SluiceError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/** Turns anything thrown into a SluiceError, keeping the original as `cause`. */
export function coerceError(value: unknown, code: ErrorCode = ErrorCode.INTERNAL): SluiceError {
  if (isSluiceError(value)) return value;
  const message = value instanceof Error ? value.message : String(value);
  return new SluiceError(code, message, { cause: value });
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) return `${cause.name}: ${cause.message}`;
  return String(cause);
}
