/**
 * A private HttpFS gateway for one test (`infra/local/httpfs`), in front of the local HDFS. The
 * test context stops it and removes its folder when the test ends.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { freePortRange } from './ports.ts';

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, '../../infra/local/httpfs');

/** Starts HttpFS for this test and returns its base URL, `http://127.0.0.1:<port>`. */
export async function startHttpFs(t: TestContext): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-httpfs-'));
  const port = await freePortRange(1);
  t.after(async () => {
    await run(SCRIPT, ['stop', dir]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    await run(SCRIPT, ['start', dir, String(port)]);
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`infra/local/httpfs start failed: ${stderr ?? String(error)}`, { cause: error });
  }
  return `http://127.0.0.1:${port}`;
}
