/**
 * A bound on waiting, for shutdown paths: a client library's `close()` may wait forever on a
 * connection that is still reconnecting, and a process told to stop must stop anyway.
 */

/** Whether `promise` settled (either way) within `ms`; its outcome stays the caller's to read. */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true, () => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
