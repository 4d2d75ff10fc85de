import type { Stats } from 'node:fs';
import { access, constants, realpath, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { CliError } from './CliError.js';

/** One file the run will write, named by the flag that gave it. */
export interface OutputPath {
  /** The flag, as the user would type it (`--output`). */
  readonly flag: string;
  readonly path: string;
  /**
   * A report that is always replaced (`--summary`): exempt from the "exists and is not empty" rule.
   * @defaultValue false
   */
  readonly isReport?: boolean;
}

/** What {@link checkOutputPaths} needs. */
export interface CheckOutputPathsOptions {
  /** The input path, or `-` for stdin. */
  readonly input: string;
  readonly outputs: readonly OutputPath[];
  /** `--overwrite`: an existing non-empty output may be replaced. */
  readonly overwrite: boolean;
  /** `--resume`: an existing output is the one to continue. */
  readonly resume: boolean;
}

/** How two spellings of one file are recognised: device + inode when it exists, else its real path. */
interface FileIdentity {
  readonly key: string;
  /** The resolved path, for messages. */
  readonly shown: string;
}

/**
 * Refuses, before any call is made, outputs that would destroy data: an output that is the input
 * (under any spelling: relative, absolute, `..`, a symlink, a hard link), two outputs that are the same
 * file, an existing non-empty output without `--overwrite` or `--resume`, and an output that cannot be
 * written (missing or read-only directory). Throws a one-line {@link CliError} naming the flags.
 *
 * @remarks
 * `-` (stdout), FIFOs, character devices (`/dev/stdout`, `/dev/null`) and sockets are never refused:
 * they are streams, not files that could be clobbered, and `/dev/stdin` and `/dev/stdout` may well
 * be the same terminal. `/dev/stdout` redirected to a regular file (`> out.ndjson`) is not refused for
 * being non-empty, but is still refused when it is the input. Nothing is created or truncated here; the sinks do that at their first write.
 */
export async function checkOutputPaths(options: CheckOutputPathsOptions): Promise<void> {
  const { input, outputs, overwrite, resume } = options;
  const inputIdentity = input === '-' ? undefined : await identityOfExisting(input);
  const seen: { flag: string; identity: FileIdentity }[] = [];
  let stdoutFlag: string | undefined;
  for (const { flag, path, isReport = false } of outputs) {
    if (path === '-') {
      if (stdoutFlag !== undefined) throw new CliError(`${stdoutFlag} and ${flag} both write to stdout (-)`);
      stdoutFlag = flag;
      continue;
    }
    const stats = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      if (error.code === 'ENOTDIR')
        throw new CliError(`${flag} "${path}": a part of the path is not a directory`);
      throw new CliError(`cannot use ${flag} "${path}": ${error.code ?? error.message}`);
    });
    if (stats !== undefined && isStream(stats)) {
      await checkWritable(flag, path, path);
      continue;
    }
    if (stats?.isDirectory()) throw new CliError(`${flag} "${path}" is a directory`);
    const identity = stats === undefined ? await identityOfNew(flag, path) : await identityOf(path, stats);
    if (inputIdentity !== undefined && identity.key === inputIdentity.key) {
      throw new CliError(
        `${flag} "${path}" is the input file (${identity.shown}): refusing to overwrite --input`,
      );
    }
    const same = seen.find((s) => s.identity.key === identity.key);
    if (same !== undefined) {
      throw new CliError(`${same.flag} and ${flag} are the same file (${identity.shown})`);
    }
    seen.push({ flag, identity });
    if (stats === undefined) continue;
    if (!isReport && !isStandardStream(path) && stats.size > 0 && !overwrite && !resume) {
      throw new CliError(
        `${flag} "${path}" exists and is not empty: pass --overwrite to replace it, or --resume to continue the run that wrote it`,
      );
    }
    await checkWritable(flag, path, path);
  }
}

/** `/dev/stdout` and friends name whatever the shell connected: a redirect the user chose on purpose. */
function isStandardStream(path: string): boolean {
  return /^\/(dev\/(stdout|stderr|fd\/\d+)|proc\/self\/fd\/\d+)$/.test(path);
}

function isStream(stats: Stats): boolean {
  return stats.isFIFO() || stats.isCharacterDevice() || stats.isSocket();
}

async function identityOfExisting(path: string): Promise<FileIdentity | undefined> {
  const stats = await stat(path).catch(() => undefined);
  // A missing input is reported by the input check; a stream input cannot be clobbered by a file.
  if (stats === undefined || isStream(stats) || !stats.isFile()) return undefined;
  return identityOf(path, stats);
}

async function identityOf(path: string, stats: Stats): Promise<FileIdentity> {
  // dev + ino: the same file under any name, hard links included.
  return { key: `${stats.dev}:${stats.ino}`, shown: await realpath(path).catch(() => resolve(path)) };
}

/** A file that does not exist yet is named by its directory's real path plus its own name. */
async function identityOfNew(flag: string, path: string): Promise<FileIdentity> {
  // Not path.resolve(): `sub/../x` must go through `sub` as the OS will, not be shortened lexically.
  const parent = dirname(path);
  const realParent = await realpath(parent).catch(() => {
    throw new CliError(`${flag} "${path}": directory ${parent} does not exist`);
  });
  const parentStats = await stat(realParent);
  if (!parentStats.isDirectory()) throw new CliError(`${flag} "${path}": ${parent} is not a directory`);
  await checkWritable(flag, path, realParent);
  const shown = resolve(realParent, basename(path));
  return { key: `path:${shown}`, shown };
}

async function checkWritable(flag: string, path: string, target: string): Promise<void> {
  await access(target, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw new CliError(`${flag} "${path}" cannot be written: ${error.code ?? error.message}`);
  });
}
