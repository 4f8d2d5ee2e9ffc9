/**
 * Partition pruning for `--since`: archives are laid out in date partitions
 * (`/archive/zeek/dt=2018-03-24/…`, optionally `…/hour=17/…`), and a backfill of the last day
 * should not read the years before it. A partition's files hold events that happened before the
 * partition ends, whether the archive partitions by event time or by arrival time (an event
 * arrives after it happens), so a partition that ends before `since` holds nothing the run keeps.
 * The same does not hold for `until`: an archive partitioned by arrival time keeps late events in
 * later partitions, so nothing is pruned by it.
 */

/** Slack for clocks: a partition is skipped only when it ended at least this long before `since`. */
export const PRUNE_SLACK_MICROS = 3_600_000_000;

const DAY = /^(?:dt|date|day)=(\d{4})-(\d{2})-(\d{2})$/;
const HOUR = /^(?:hour|hr|h)=(\d{1,2})$/;

/**
 * End (epoch µs, exclusive) of the innermost date partition a URL's path names, or undefined when
 * it names none: `dt=YYYY-MM-DD` (also `date=`, `day=`) is a UTC day, and an `hour=HH` directly
 * under it an hour of that day.
 */
export function partitionEndMicros(url: string): number | undefined {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  const segments = path.split('/').map((s) => safeDecode(s));
  let end: number | undefined;
  for (let i = 0; i < segments.length; i += 1) {
    const day = DAY.exec(segments[i] as string);
    if (day === null) continue;
    const start = Date.UTC(Number(day[1]), Number(day[2]) - 1, Number(day[3]));
    // A date that does not exist (2018-02-30) is not a partition we understand: no pruning.
    if (new Date(start).toISOString().slice(0, 10) !== `${day[1]}-${day[2]}-${day[3]}`) return undefined;
    const hour = HOUR.exec(segments[i + 1] ?? '');
    const h = hour === null ? undefined : Number(hour[1]);
    end = (h !== undefined && h < 24 ? start + (h + 1) * 3_600_000 : start + 86_400_000) * 1000;
  }
  return end;
}

/** Whether a URL or path lies in a date partition that ended (with slack) before `sinceMicros`. */
export function partitionEndedBefore(urlOrPath: string, sinceMicros: number): boolean {
  const end = partitionEndMicros(urlOrPath);
  return end !== undefined && end + PRUNE_SLACK_MICROS <= sinceMicros;
}

/** The files that may hold events at or after `sinceMicros`: those not in a partition that ended (with slack) before it. */
export function prunePartitionsBefore<F extends { url: string }>(files: readonly F[], sinceMicros: number | undefined): { kept: F[]; pruned: number } {
  if (sinceMicros === undefined) return { kept: [...files], pruned: 0 };
  const kept = files.filter((f) => !partitionEndedBefore(f.url, sinceMicros));
  return { kept, pruned: files.length - kept.length };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
