/**
 * Bootstrap broker lists. Checked here rather than by the client library, which accepts almost any
 * string and then fails on connect with a network error that does not name the option.
 */
import { invalidOption } from './options.ts';

/** Where a client finds the cluster: `host:port` strings, or one comma-separated string (an env var). */
export type BrokerList = string | readonly string[];

const HOST_PORT = /^(?<host>\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?):(?<port>\d{1,5})$/;

/** Normalizes and checks a broker list; throws INVALID_CONFIG naming `option` on the first bad entry. */
export function parseBrokers(value: unknown, option = 'brokers'): string[] {
  const entries = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(entries) || entries.length === 0) {
    throw invalidOption(option, value, 'a non-empty list of host:port');
  }
  return entries.map((entry: unknown, index) => {
    const trimmed = typeof entry === 'string' ? entry.trim() : entry;
    const match = typeof trimmed === 'string' ? HOST_PORT.exec(trimmed) : null;
    const port = Number(match?.groups?.port);
    if (match === null || !(port >= 1 && port <= 65_535)) {
      throw invalidOption(`${option}[${index}]`, entry, 'host:port with a port in [1, 65535]');
    }
    return trimmed as string;
  });
}
