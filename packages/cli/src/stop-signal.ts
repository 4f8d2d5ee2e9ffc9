/**
 * How the long-running commands (worker, coordinator) meet SIGTERM and SIGINT: say so, run their
 * bounded stop once, and tell the caller whether it ended cleanly, so a process whose connections
 * did not close can exit instead of waiting on their retry timers.
 */

/** Resolves once SIGTERM or SIGINT arrived and `stop` settled: true when it succeeded (a failure is logged). */
export function stopOnSignal(log: (line: string) => void, doing: string, stop: () => Promise<void>): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const onSignal = (signal: string): void => {
      log(`${signal}: ${doing}`);
      stop().then(
        () => resolve(true),
        (error: unknown) => {
          log(`stopping: ${error instanceof Error ? error.message : String(error)}`);
          resolve(false);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}
