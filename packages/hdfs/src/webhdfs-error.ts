/**
 * The one place where WebHDFS failures become SluiceErrors: RemoteException bodies, bare HTTP statuses
 * and transport failures (refused, unresolvable, timed out). The Java exception class decides first,
 * because WebHDFS answers 403 for every IOException (a missing DataNode, an existing file, a standby
 * NameNode), so the status alone would misclassify most failures.
 */
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';

/** The `RemoteException` object of a WebHDFS error body. */
export interface RemoteException {
  /** Short class name, `FileNotFoundException`. */
  readonly exception: string;
  /** Fully qualified class name, `java.io.FileNotFoundException`. */
  readonly javaClassName: string;
  readonly message: string;
}

/** What was being done when a request failed; becomes the error's context. */
export interface RequestContext {
  /** WebHDFS operation, `OPEN`. */
  readonly op: string;
  /** HDFS path of the operation. */
  readonly path: string;
  /** The request URL, already redacted. */
  readonly url: string;
  /** Which server answered: the NameNode (or HttpFS), or the DataNode it redirected to. */
  readonly server: 'namenode' | 'datanode';
}

/** Errors that prove the server did not act on the request, so even non-idempotent calls may retry. */
const UNPROCESSED = new WeakSet<SluiceError>();

/** Whether the server certainly did not act on the failed request (refused connection, standby NameNode). */
export function isUnprocessed(error: unknown): boolean {
  return isSluiceError(error) && UNPROCESSED.has(error);
}

/** Errors saying the NameNode asked is not the one to ask: standby, or not reachable at all. */
const NAMENODE_AWAY = new WeakSet<SluiceError>();

/** Whether a NameNode request failed because that NameNode is standby or unreachable: an HA client tries another. */
export function isNameNodeAway(error: unknown): boolean {
  return isSluiceError(error) && NAMENODE_AWAY.has(error);
}

/** Exceptions of a NameNode that is up but cannot serve the request as the active one would. */
const NOT_ACTIVE_EXCEPTIONS: ReadonlySet<string> = new Set(['StandbyException', 'ObserverRetryOnActiveException']);

/** Exceptions the NameNode throws before doing anything, asking the client to come back (or fail over). */
const NOT_YET_EXCEPTIONS: ReadonlySet<string> = new Set([
  'StandbyException',
  'RetriableException',
  'ObserverRetryOnActiveException',
  'SafeModeException',
]);
/** Exceptions of a transient fault that may have happened mid-operation. */
const TRANSIENT_EXCEPTIONS: ReadonlySet<string> = new Set([
  'ConnectException',
  'ConnectTimeoutException',
  'SocketTimeoutException',
  'NoRouteToHostException',
  'RecoveryInProgressException',
  'NotReplicatedYetException',
  'BlockMissingException',
]);
/**
 * Exceptions that say the request itself cannot succeed, whatever the status: HttpFS sends them
 * with a 500, where the NameNode's WebHDFS sends 403, and a retry would only repeat the refusal.
 */
const REQUEST_EXCEPTIONS: ReadonlySet<string> = new Set([
  'FileAlreadyExistsException',
  'ParentNotDirectoryException',
  'PathIsNotEmptyDirectoryException',
  'PathIsNotDirectoryException',
  'InvalidPathException',
  'IllegalArgumentException',
  'UnsupportedOperationException',
  'DSQuotaExceededException',
  'NSQuotaExceededException',
  'QuotaExceededException',
]);
const PERMISSION_EXCEPTIONS: ReadonlySet<string> = new Set([
  'AccessControlException',
  'SecurityException',
  'AuthorizationException',
  'AuthenticationException',
  'InvalidToken',
]);

/** The RemoteException of an error body, or undefined when the body is not one (HTML, empty, a proxy's). */
export function decodeRemoteException(body: string): RemoteException | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const remote = (parsed as { RemoteException?: unknown } | null)?.RemoteException;
  if (typeof remote !== 'object' || remote === null) return undefined;
  const { exception, javaClassName, message } = remote as Record<string, unknown>;
  const className = typeof javaClassName === 'string' ? javaClassName : '';
  const shortName = typeof exception === 'string' && exception !== '' ? exception : (className.split('.').at(-1) ?? '');
  if (shortName === '') return undefined;
  return { exception: shortName, javaClassName: className, message: typeof message === 'string' ? message : '' };
}

/** The SluiceError for a non-success HTTP answer whose body was `body`. */
export function toResponseError(status: number, body: string, request: RequestContext): SluiceError {
  const remote = decodeRemoteException(body);
  const context = {
    op: request.op,
    path: request.path,
    url: request.url,
    status,
    ...(remote === undefined ? {} : { exception: remote.exception, javaClassName: remote.javaClassName }),
  };
  const where = `${request.op} ${request.path}`;
  if (remote === undefined) return classifyStatus(status, body, where, request, context);

  const { exception, message } = remote;
  const said = `${where}: ${exception}: ${firstLine(message)}`;
  if (exception === 'FileNotFoundException') {
    return new SluiceError(ErrorCode.NOT_FOUND, said, { context });
  }
  if (PERMISSION_EXCEPTIONS.has(exception)) {
    return new SluiceError(ErrorCode.PERMISSION_DENIED, `${said} (user and delegationToken decide access)`, { context });
  }
  if (exception === 'SafeModeException' && !/turned off automatically/iu.test(message)) {
    return new SluiceError(
      ErrorCode.REMOTE,
      `${said} (safe mode was turned on by an operator: 'hdfs dfsadmin -safemode leave' ends it)`,
      { context, retryable: false },
    );
  }
  if (NOT_ACTIVE_EXCEPTIONS.has(exception) && request.server === 'namenode') {
    return away(unprocessed(new SluiceError(ErrorCode.UNAVAILABLE, `${said} (this NameNode is not the active one)`, { context, retryable: true })));
  }
  if (NOT_YET_EXCEPTIONS.has(exception) || /failed to find datanode/iu.test(message)) {
    return unprocessed(new SluiceError(ErrorCode.UNAVAILABLE, `${said} (the server asked to retry later)`, { context, retryable: true }));
  }
  if (REQUEST_EXCEPTIONS.has(exception)) {
    return new SluiceError(ErrorCode.REMOTE, said, { context, retryable: false });
  }
  if (TRANSIENT_EXCEPTIONS.has(exception) || status >= 500) {
    return new SluiceError(ErrorCode.UNAVAILABLE, said, { context, retryable: true });
  }
  return new SluiceError(ErrorCode.REMOTE, said, { context, retryable: false });
}

/**
 * Whether an OPEN failed only because it starts at or after the end of the file, which HDFS refuses
 * (`Offset=10 out of the range [0, 10)`, or EOFException from HttpFS) where a local read returns
 * nothing; readers turn it into an empty read so both twins agree. HttpFS 3.4 answers an offset
 * past the end with a 500 and Jetty's HTML page naming the EOFException, not a RemoteException.
 */
export function isPastEndOfFile(error: SluiceError): boolean {
  const exception = error.context.exception;
  return (
    (exception === 'IOException' && /Offset=\d+ out of the range/u.test(error.message)) ||
    (exception === 'EOFException' && /seek after EOF/iu.test(error.message)) ||
    (exception === undefined && error.context.status === 500 && /EOFException: Premature EOF from inputStream after skipping/u.test(error.message))
  );
}

/** The SluiceError for a request that got no answer: refused, unresolvable, reset, timed out, cancelled. */
export function toTransportError(error: unknown, request: RequestContext, timeoutMs: number): SluiceError {
  if (isSluiceError(error)) return error;
  const converted = describeTransportError(error, request, timeoutMs);
  // A hung or unreachable NameNode is one to fail over from; a slow DataNode is the NameNode's to replace.
  return request.server === 'namenode' && converted.code !== ErrorCode.CANCELLED ? away(converted) : converted;
}

function describeTransportError(error: unknown, request: RequestContext, timeoutMs: number): SluiceError {
  const context = { op: request.op, path: request.path, url: request.url };
  const target = describeTarget(request);
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') {
    return new SluiceError(
      ErrorCode.TIMEOUT,
      `${request.op} ${request.path}: no answer from ${target} within ${timeoutMs} ms (timeoutMs); is it overloaded or unreachable?`,
      { cause: error, context: { ...context, timeoutMs } },
    );
  }
  if (name === 'AbortError') {
    return new SluiceError(ErrorCode.CANCELLED, `${request.op} ${request.path}: cancelled because the client was closed`, {
      cause: error,
      context,
    });
  }
  const code = findErrorCode(error);
  const hint = request.server === 'namenode'
    // Name the settings a user can change: the address comes from one of these three.
    ? 'is the NameNode (or HttpFS) running, and is its HTTP address right (the host:port of a webhdfs:// URL, 9870 by default; for hdfs:// URLs, SLUICE_HDFS_HTTP_ADDRESS or dfs.namenode.http-address in HADOOP_CONF_DIR)?'
    : 'is the DataNode running, and does the hostname it advertises resolve and route from here (dfs.datanode.hostname)?';
  const said = `${request.op} ${request.path}: cannot reach ${target}`;
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return unprocessed(new SluiceError(ErrorCode.UNAVAILABLE, `${said} (${code}): ${hint}`, { cause: error, context: { ...context, errno: code } }));
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return unprocessed(
      new SluiceError(ErrorCode.UNAVAILABLE, `${said} (host name does not resolve, ${code}): ${hint}`, {
        cause: error,
        context: { ...context, errno: code },
      }),
    );
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    return unprocessed(
      new SluiceError(ErrorCode.TIMEOUT, `${said} (connect timed out): ${hint}`, { cause: error, context: { ...context, errno: code } }),
    );
  }
  const detail = describeInnermost(error);
  return new SluiceError(ErrorCode.UNAVAILABLE, `${request.op} ${request.path}: the exchange with ${target} failed (${code === undefined ? detail : `${code}: ${detail}`}): ${hint}`, {
    cause: error,
    context: { ...context, ...(code === undefined ? {} : { errno: code }) },
  });
}

function classifyStatus(
  status: number,
  body: string,
  where: string,
  request: RequestContext,
  context: Readonly<Record<string, unknown>>,
): SluiceError {
  const said = `${where}: HTTP ${status} from ${describeTarget(request)}${summarize(body)}`;
  if (status === 401 || status === 403) {
    return new SluiceError(ErrorCode.PERMISSION_DENIED, `${said} (check user and delegationToken)`, { context });
  }
  if (status === 404) {
    return new SluiceError(ErrorCode.NOT_FOUND, `${said} (is this a WebHDFS server, and does the path exist?)`, { context });
  }
  if (status === 408 || status === 429 || status >= 500) {
    return new SluiceError(ErrorCode.UNAVAILABLE, said, { context, retryable: true });
  }
  return new SluiceError(ErrorCode.REMOTE, said, { context, retryable: false });
}

function unprocessed(error: SluiceError): SluiceError {
  UNPROCESSED.add(error);
  return error;
}

function away(error: SluiceError): SluiceError {
  NAMENODE_AWAY.add(error);
  return error;
}

function describeTarget(request: RequestContext): string {
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]+/iu.exec(request.url)?.[0] ?? request.url;
  return request.server === 'namenode' ? `the NameNode at ${origin}` : `the DataNode at ${origin}`;
}

/** The first system error code (`ECONNREFUSED`) in a cause chain or an AggregateError. */
function findErrorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 5) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = findErrorCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  return findErrorCode(cause, depth + 1);
}

/** The message of the deepest cause: fetch says only `fetch failed`, its cause says why. */
function describeInnermost(error: unknown): string {
  let current = error;
  for (let depth = 0; depth < 5; depth += 1) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (!(cause instanceof Error)) break;
    current = cause;
  }
  return current instanceof Error ? current.message : String(current);
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function summarize(body: string): string {
  const text = body.replace(/<[^>]*>/gu, ' ').replace(/\s+/gu, ' ').trim();
  return text === '' ? '' : `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}
