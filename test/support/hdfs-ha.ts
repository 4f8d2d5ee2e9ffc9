/**
 * A private HA HDFS for one test (`infra/local/hdfs-ha`): nameservice `ha`, NameNodes nn1 (active at
 * start) and nn2 (standby) sharing their edit log, one DataNode. The test context stops the three
 * JVMs and removes their folder when the test ends.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { freePortRange } from './ports.ts';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../infra/local/hdfs-ha');

/** The NameNodes of an HA pair, and the operator's controls of it. */
export interface HaHdfs {
  /** `127.0.0.1:<port>` of nn1's and nn2's HTTP servers, in that order. */
  readonly httpAddresses: readonly [string, string];
  /** A Hadoop client configuration of the pair (the DataNode's: `fs.defaultFS` is `hdfs://ha`), for `HADOOP_CONF_DIR`. */
  readonly clientConfDir: string;
  /** `hdfs haadmin -failover from to`: from becomes standby, to active. */
  failover(from: 'nn1' | 'nn2', to: 'nn1' | 'nn2'): Promise<void>;
  /** `hdfs haadmin -transitionToActive nn`, for when the other one is gone. */
  activate(nn: 'nn1' | 'nn2'): Promise<void>;
  /** SIGKILLs one NameNode and waits until it is gone. */
  kill(nn: 'nn1' | 'nn2'): Promise<void>;
}

/** Starts an HA HDFS for this test; about 10 s of JVM start-ups. */
export async function startHaHdfs(t: TestContext): Promise<HaHdfs> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-hdfs-ha-'));
  const base = await freePortRange(7);
  t.after(async () => {
    await run(SCRIPT, ['stop', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  const out = await control('start', dir, String(base));
  const address = (nn: string): string => {
    const found = new RegExp(`^${nn}=(\\S+)$`, 'mu').exec(out)?.[1];
    if (found === undefined) throw new Error(`infra/local/hdfs-ha start printed no ${nn} address: ${out}`);
    return found;
  };
  return {
    httpAddresses: [address('nn1'), address('nn2')],
    clientConfDir: join(dir, 'conf-dn'),
    async failover(from, to) {
      await control('failover', dir, from, to);
    },
    async activate(nn) {
      await control('activate', dir, nn);
    },
    async kill(nn) {
      await control('kill', dir, nn);
    },
  };
}

/** Runs one command of the script; its stderr (the last lines of the failing tool's log) becomes the error. */
async function control(...args: string[]): Promise<string> {
  try {
    return (await run(SCRIPT, args, { maxBuffer: 1 << 20 })).stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`infra/local/hdfs-ha ${args.join(' ')} failed: ${stderr ?? String(error)}`, { cause: error });
  }
}
