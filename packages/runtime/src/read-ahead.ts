/**
 * One batch of read-ahead for an async source. A Kafka range is read fetch by fetch; without
 * read-ahead the next fetch leaves only when the previous batch has been processed, so the worker
 * waits for the broker's round trip once per fetch, and measured stream workers sat idle a large
 * part of the time while a backlog waited. With it, the next fetch is in the air while this batch
 * is processed.
 */

/**
 * Yields what `source` yields, in order, always asking it for the next item before handing out the
 * current one. A failure of the source surfaces where it happened in the sequence; stopping early
 * (break, throw) closes the source.
 */
export async function* readAhead<T>(source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const iterator = source[Symbol.asyncIterator]();
  let next = iterator.next();
  let finished = false;
  try {
    for (;;) {
      const current = await next;
      if (current.done === true) {
        finished = true;
        return;
      }
      next = iterator.next();
      // A failure of the item read ahead is thrown by the `await next` above once its turn comes;
      // until then it must not count as an unhandled rejection, which would end the process.
      next.catch(() => undefined);
      yield current.value;
    }
  } catch (error) {
    // The source threw, so it is already closed.
    finished = true;
    throw error;
  } finally {
    if (!finished) {
      // Stopped early: let the read-ahead settle (its outcome no longer matters), then close the source.
      await next.catch(() => undefined);
      await iterator.return?.();
    }
  }
}
