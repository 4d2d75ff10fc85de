import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { checkInteger, checkSignal, checkString } from '../internal/checkOption.js';

/**
 * What identifies an input file for `run --resume`: its path, size, modification time, and a hash
 * of its first bytes.
 * @category checkpoint
 */
export interface InputFingerprint {
  /** Absolute path. */
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** SHA-256 (hex) of the first `headBytes` bytes. */
  readonly headSha256: string;
  readonly headBytes: number;
  /**
   * Set when the run stopped on an unreadable record (a truncated JSON array, a broken CSV quote):
   * the SHA-256 of every byte before the checkpointed record, so that a file fixed or completed
   * after that point can still be resumed (the records before it are provably the same).
   */
  readonly prefixSha256?: string;
  readonly prefixBytes?: number;
}

/** Defaults of {@link fingerprintInput}. */
export const FINGERPRINT_DEFAULTS = Object.freeze({ headBytes: 64 * 1024 });

/**
 * Fingerprints a file: `stat` plus a SHA-256 of its first `headBytes` bytes (64 KiB by default), cheap
 * for any size yet catching an edit, a regenerated file or another file under the same name.
 *
 * @param path - The input file (not stdin: a stream cannot be resumed).
 * @param headBytes - How many leading bytes to hash. @defaultValue 65536
 * @param signal - Stops reading.
 * @throws InvalidOptionError (ERR_INVALID_OPTION) for a bad argument, before the file is read.
 * @category checkpoint
 */
export async function fingerprintInput(
  path: string,
  headBytes: number = FINGERPRINT_DEFAULTS.headBytes,
  signal?: AbortSignal,
): Promise<InputFingerprint> {
  checkString('path', path);
  checkInteger('headBytes', headBytes, 0);
  checkSignal(signal);
  const absolute = resolve(path);
  const info = await stat(absolute);
  return {
    path: absolute,
    size: info.size,
    mtimeMs: info.mtimeMs,
    headSha256: await hashPrefix(absolute, info.size > 0 ? headBytes : 0, signal),
    headBytes,
  };
}

/**
 * SHA-256 (hex) of the first `bytes` bytes of a file (all of it if it is shorter).
 * @category checkpoint
 */
export async function hashPrefix(path: string, bytes: number, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  if (bytes > 0) {
    const stream = createReadStream(path, { start: 0, end: bytes - 1, ...(signal ? { signal } : {}) });
    for await (const chunk of stream) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * How `now` differs from `then`, as the names of the fields (`size`, `mtime`, `hash`), or an empty
 * list when they are the same file. The path is not compared: a moved file is still the same input.
 * @category checkpoint
 */
export function inputDifferences(then: InputFingerprint, now: InputFingerprint): string[] {
  const differ: string[] = [];
  if (then.size !== now.size) differ.push('size');
  if (then.mtimeMs !== now.mtimeMs) differ.push('mtime');
  if (then.headSha256 !== now.headSha256 || then.headBytes !== now.headBytes) differ.push('hash');
  return differ;
}
