/**
 * Locates the Sluice source checkout the CLI runs from; `sluice dev` drives the local-services
 * scripts that live there.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, SluiceError } from '@sluice/core';

/** The repository root (the folder holding `infra/local`), searched upwards from this file. */
export function findRepoRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'infra', 'local', 'up')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new SluiceError(ErrorCode.INVALID_CONFIG, 'cannot find the Sluice checkout (a folder with infra/local/up); run `sluice dev` from a clone of the repository', {
        context: { start },
      });
    }
    dir = parent;
  }
}
