/**
 * `sluice hdfs put|ls|rm`: enough of an HDFS client to load archives for backfills and tests
 * without installing Hadoop's own tools.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Command } from 'commander';
import { ErrorCode, SluiceError, isSluiceError } from '@sluice/core';
import { FileType } from '@sluice/hdfs';
import { fileSystemFor, isLiteralUrl, normalizeInput } from '../inputs.ts';
import { expandInputs } from './run.ts';

/** Registers `sluice hdfs`. */
export function registerHdfsCommand(program: Command): void {
  const hdfs = program.command('hdfs').description('copy files to and list files on HDFS (WebHDFS) or file:// URLs');
  hdfs
    .command('put <dest> <files...>')
    .description('copy local files (or globs) into the folder <dest>, e.g. webhdfs://127.0.0.1:9870/archive/zeek')
    .option('--gunzip', 'decompress .gz files while copying (so they become splittable)')
    .option('--overwrite', 'replace existing files')
    .action(async (dest: string, patterns: string[], flags: { gunzip?: boolean; overwrite?: boolean }) => {
      const destUrl = normalizeInput(dest).replace(/\/+$/, '');
      const fs = fileSystemFor(destUrl);
      await fs.mkdirs(destUrl);
      for (const path of await expandInputs(patterns, 'local file')) {
        const unzip = flags.gunzip === true && path.endsWith('.gz');
        const name = unzip ? basename(path, '.gz') : basename(path);
        const source = unzip ? createReadStream(path).pipe(createGunzip()) : createReadStream(path);
        const started = performance.now();
        try {
          await fs.create(`${destUrl}/${name}`, source, { overwrite: flags.overwrite === true });
        } catch (error) {
          if (isSluiceError(error) && error.context.exception === 'FileAlreadyExistsException') {
            throw new SluiceError(error.code, `${destUrl}/${name} already exists; pass --overwrite to replace it`, { context: { url: `${destUrl}/${name}` }, cause: error });
          }
          throw error;
        }
        process.stdout.write(`${path} -> ${destUrl}/${name} (${((performance.now() - started) / 1000).toFixed(2)} s)\n`);
      }
    });
  hdfs
    .command('ls <url>')
    .description('list a directory (its files and directories), or the files matching a glob')
    .option('-R, --recursive', 'list every file under the directories, at any depth')
    .action(async (url: string, flags: { recursive?: boolean }) => {
      const target = normalizeInput(url);
      const fs = fileSystemFor(target);
      const literal = isLiteralUrl(target);
      // A directory named as it is shows what is in it, subdirectories too, as `hdfs dfs -ls` does;
      // listing only its files would print nothing for a tree of dt= partitions.
      const entries = literal && flags.recursive !== true
        ? await fs.listStatus(target)
        : await fs.listFiles(target, { recursive: flags.recursive === true });
      if (entries.length === 0 && !literal) {
        throw new SluiceError(ErrorCode.NOT_FOUND, `no file matches ${url}`, { context: { url } });
      }
      for (const entry of entries) {
        const directory = entry.type === FileType.DIRECTORY;
        process.stdout.write(`${(directory ? '-' : String(entry.length)).padStart(12)}  ${entry.url}${directory ? '/' : ''}\n`);
      }
    });
  hdfs
    .command('rm <url>')
    .description('delete a file or, with -r, a directory')
    .option('-r, --recursive', 'delete a directory and everything under it')
    .action(async (url: string, flags: { recursive?: boolean }) => {
      const target = normalizeInput(url);
      const deleted = await fileSystemFor(target).delete(target, { recursive: flags.recursive === true });
      process.stdout.write(deleted ? `deleted ${target}\n` : `${target} did not exist\n`);
    });
}
