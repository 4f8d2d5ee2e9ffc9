/**
 * The one place where errors of the Kafka client library become SluiceErrors, so that callers
 * classify by `code` and `retryable` and never by the library's classes or messages.
 */
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import { AuthenticationError, TimeoutError, UserError, findErrorBy, protocolErrors, protocolErrorsCodesById } from '@platformatic/kafka';

const DENIED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
]);
const MISSING = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID']);
const INVALID = new Set([
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
  'INVALID_REQUEST',
  'POLICY_VIOLATION',
  'TOPIC_ALREADY_EXISTS',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
]);

/** The protocol error name (`NOT_LEADER_OR_FOLLOWER`) of a numeric Kafka error code, or `UNKNOWN_<code>`. */
export function nameKafkaErrorCode(code: number): string {
  return protocolErrorsCodesById[code] ?? `UNKNOWN_${code}`;
}

/** Whether the broker marks this numeric error code as transient. */
export function isRetryableKafkaErrorCode(code: number): boolean {
  const name = protocolErrorsCodesById[code];
  return name !== undefined && protocolErrors[name]?.canRetry === true;
}

/**
 * Converts anything the client library threw into a SluiceError with `message` as its summary and
 * `context` (topic, partition, brokers…) for the human who reads it; the original stays as `cause`.
 */
export function convertKafkaError(error: unknown, message: string, context: Readonly<Record<string, unknown>> = {}): SluiceError {
  if (isSluiceError(error)) return error;
  const err = error instanceof Error ? error : new Error(String(error));
  const apiId = findProtocolErrorId(err);
  const unreachable = findUnreachableBroker(err);
  const details = unreachable === undefined
    ? `${message}: ${err.message}${apiId === undefined ? '' : ` (${apiId})`}`
    : `${message}: cannot connect to ${brokersOf(context)} (${unreachable}); check that the brokers run and that --brokers or KAFKA_BROKERS names them`;
  const fullContext = apiId === undefined ? context : { ...context, kafkaError: apiId };
  const make = (code: ErrorCode, retryable?: boolean): SluiceError =>
    new SluiceError(code, details, { cause: error, context: fullContext, ...(retryable === undefined ? {} : { retryable }) });

  if (err instanceof AuthenticationError || (apiId !== undefined && DENIED.has(apiId))) return make(ErrorCode.PERMISSION_DENIED);
  if ((apiId !== undefined && MISSING.has(apiId)) || /^Unknown topic\b/.test(findUserErrorMessage(err) ?? '')) {
    return make(ErrorCode.NOT_FOUND, false);
  }
  if (apiId !== undefined && INVALID.has(apiId)) return make(ErrorCode.INVALID_CONFIG, false);
  if (containsTimeout(err) || apiId === 'REQUEST_TIMED_OUT') return make(ErrorCode.TIMEOUT);
  if (isTransient(err)) return make(ErrorCode.UNAVAILABLE);
  if (findUserErrorMessage(err) !== undefined) return make(ErrorCode.INVALID_CONFIG, false);
  return make(ErrorCode.REMOTE, false);
}

/**
 * The system error under a failed broker connection (`connect ECONNREFUSED 127.0.0.1:9092`), which
 * the library wraps as "metadata failed 4 times" > "Cannot connect to any broker" > "Connection to
 * … failed": the part a user can act on.
 */
function findUnreachableBroker(error: Error): string | undefined {
  const network = findErrorBy(error, 'code', 'PLT_KFK_NETWORK');
  let cause: unknown = network?.cause;
  while (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return cause.message;
    cause = cause.cause;
  }
  return undefined;
}

function brokersOf(context: Readonly<Record<string, unknown>>): string {
  const brokers = context.brokers;
  return Array.isArray(brokers) && brokers.length > 0 ? `the Kafka brokers ${brokers.join(',')}` : 'any Kafka broker';
}

function findProtocolErrorId(error: Error): string | undefined {
  const found = findErrorBy(error, 'code', 'PLT_KFK_PROTOCOL');
  const id: unknown = found?.apiId;
  return typeof id === 'string' ? id : undefined;
}

function findUserErrorMessage(error: Error): string | undefined {
  if (error instanceof UserError) return error.message;
  return findErrorBy(error, 'code', UserError.code)?.message;
}

function containsTimeout(error: Error): boolean {
  if (error instanceof TimeoutError) return true;
  if (error instanceof AggregateError) return error.errors.some((e: unknown) => e instanceof Error && containsTimeout(e));
  return false;
}

/** Network failures and retriable protocol errors; the library marks the non-retriable ones `canRetry: false`. */
function isTransient(error: Error): boolean {
  if (findErrorBy(error, 'canRetry', false) !== null) return false;
  return findErrorBy(error, 'canRetry', true) !== null;
}
