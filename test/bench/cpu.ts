/**
 * CPU accounting shared by the benchmarks: what a process or the Redis server used so far, so a
 * bench can report CPU per record of every part of a run next to its wall-clock rate.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** User plus system CPU seconds a process used so far, from /proc (clock ticks of 10 ms). */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which may hold spaces: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** User plus system CPU seconds of the Redis server's main process so far (INFO cpu). */
export async function readRedisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}
