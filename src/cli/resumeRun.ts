import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseCsvStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { type CheckpointRecord, checkpointPaths, FileCheckpoint } from '../checkpoint/FileCheckpoint.js';
import {
  fingerprintInput,
  hashPrefix,
  type InputFingerprint,
  inputDifferences,
} from '../checkpoint/fingerprintInput.js';
import { pollBackStartedRuns } from '../checkpoint/pollBackStartedRuns.js';
import { formatOfName } from '../sources/internal/formatOf.js';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { isUrlEndpoint } from './openEndpoints.js';

/** The `run` options that decide what is checkpointed and how a resumed run must match it. */
export interface ResumableRunOptions {
  readonly input: string;
  readonly output: string;
  readonly errors?: string | undefined;
  readonly inputFormat?: string | undefined;
  readonly outputFormat?: string | undefined;
  readonly app: string;
  readonly responseMode: string;
  readonly idField?: string | undefined;
  readonly user: string;
  readonly inputsField?: string | undefined;
  readonly queryField?: string | undefined;
  readonly ordered: boolean;
  readonly resume?: boolean | undefined;
  readonly filesRoot?: string | undefined;
  readonly uploadRemote?: boolean | undefined;
  readonly filesAllowHost?: readonly string[] | undefined;
}

/** Where a resumed run's file endpoints continue (openEndpoints' resume flags). */
export interface ResumeEndpointOptions {
  /** fromFile's `resumeFrom`: the first record not done. */
  readonly resumeFrom?: { readonly seq: number; readonly line: number; readonly offset: number };
  /** toFile's and toDeadLetter's `resumeAt`: the checkpointed byte lengths. */
  readonly outputResumeAt?: number;
  readonly deadLetterResumeAt?: number;
  /** CSV dead letters: the header already in the file. */
  readonly deadLetterColumns?: readonly string[];
}

/** How `run` continues (or starts) under a checkpoint: what to hand openEndpoints and runBatch. */
export interface ResumePlan {
  /** `undefined` when the run cannot be checkpointed (stdio, URLs, pipes, devices). */
  readonly checkpoint: FileCheckpoint | undefined;
  readonly endpointOptions: ResumeEndpointOptions;
  /** runBatch's `firstSeq`. */
  readonly firstSeq?: number;
  /**
   * Set when `--resume` found the run already complete: the exit code to return (0, or 2 when some
   * records failed) without running anything.
   */
  readonly alreadyComplete?: number;
  /**
   * The run is over: `complete` (every record done) marks the checkpoint complete and deletes the
   * journal, otherwise both stay for the next `--resume`; after an unreadable record (`error` is
   * ERR_SOURCE_READ) the bytes before the checkpoint are hashed, so that the file can be fixed after
   * that point and still resumed. Idempotent; the first call decides.
   */
  finish(complete: boolean, error?: unknown): Promise<void>;
}

/** The flag each result-shaping option comes from, for error messages. */
const FLAGS: Readonly<Record<string, string>> = Object.freeze({
  app: '--app',
  responseMode: '--response-mode',
  idField: '--id-field',
  user: '--user',
  inputsField: '--inputs-field',
  queryField: '--query-field',
  inputFormat: '--input-format',
  outputFormat: '--output-format',
  ordered: '--no-ordered',
  errors: '--errors',
  filesRoot: '--files-root',
  uploadRemote: '--upload-remote',
  filesAllowHost: '--files-allow-host',
});

/**
 * Sets up the checkpoint of a `run` (always, for a file input and a file output) and, with `--resume`,
 * verifies and loads the previous one: same input (size, mtime, hash of the head), same result-shaping
 * options, sinks at least as long as recorded; then the journal's results (and streaming workflow
 * runs recovered by polling) are reused, and the input continues at the watermark.
 *
 * @throws CliError (one line, exit 1) for anything that makes resuming unsafe.
 */
export async function prepareResume(
  opts: ResumableRunOptions,
  ctx: CliContext,
  dify: { readonly baseUrl: string; readonly apiKey: string },
): Promise<ResumePlan> {
  // Only regular files can be cut back and continued; stdin, stdout, pipes and devices cannot.
  const resumable =
    (await kindOf(opts.input)) === 'file' &&
    (await kindOf(opts.output)) !== 'other' &&
    (opts.errors === undefined || (await kindOf(opts.errors)) !== 'other');
  if (!resumable) {
    if (opts.resume === true) {
      throw new CliError(
        '--resume needs a regular file as --input, --output and --errors (stdin/stdout, pipes and devices cannot be resumed)',
      );
    }
    return { checkpoint: undefined, endpointOptions: {}, finish: async () => {} };
  }
  const shaping = shapingOptions(opts);
  const paths = checkpointPaths(opts.output);
  const input = await fingerprintInput(opts.input, undefined, ctx.abortSignal);
  const fresh = {
    input,
    options: shaping,
    output: { path: resolve(opts.output), format: shaping.outputFormat as string, bytes: 0 },
    deadLetter:
      opts.errors === undefined
        ? null
        : { path: resolve(opts.errors), format: formatOf(opts.errors, 'ndjson'), bytes: 0 },
    nextSeq: 0,
    written: 0,
    failed: 0,
    inputLine: 0,
    inputOffset: 0,
  };
  const record = opts.resume === true ? await FileCheckpoint.load(paths.checkpoint) : undefined;
  if (record === undefined) {
    if (opts.resume === true && (await sizeOf(opts.output)) > 0) {
      throw new CliError(
        `--resume: ${opts.output} exists but has no checkpoint (${paths.checkpoint}): nothing to resume from; use --overwrite to start over`,
      );
    }
    return planOf(await FileCheckpoint.open({ header: fresh }), opts.input, { endpointOptions: {} });
  }

  const changed = inputDifferences(record.input, input);
  if (changed.length > 0 && (await prefixUnchanged(record.input, input, ctx.abortSignal))) {
    ctx.stderr.write(
      `resume: ${opts.input} changed after its first ${record.nextSeq} records (where the last run stopped reading), which are unchanged\n`,
    );
  } else if (changed.length > 0) {
    throw new CliError(
      `input changed since the checkpoint (${changed.join('/')} differ): ${opts.input}; resume needs the same file, or start over with --overwrite`,
    );
  }
  checkOptions(record, shaping);
  if (record.complete) {
    ctx.stderr.write(
      `resume: ${opts.output} is already complete (${record.written} records, ${record.failed} failed); nothing to do\n`,
    );
    return {
      checkpoint: undefined,
      endpointOptions: {},
      alreadyComplete: record.failed > 0 ? 2 : 0,
      finish: async () => {},
    };
  }
  const outputBytes = await sizeOf(opts.output);
  if (outputBytes < record.output.bytes) {
    throw new CliError(
      `--resume: ${opts.output} has ${outputBytes} bytes but the checkpoint recorded ${record.output.bytes}; it was changed since, start over with --overwrite`,
    );
  }
  if (record.deadLetter !== null && opts.errors !== undefined) {
    const bytes = await sizeOf(opts.errors);
    if (bytes < record.deadLetter.bytes) {
      throw new CliError(
        `--resume: ${opts.errors} has ${bytes} bytes but the checkpoint recorded ${record.deadLetter.bytes}; it was changed since, start over with --overwrite`,
      );
    }
  }

  const { journal, polled, recovered } = await pollBackStartedRuns(
    await FileCheckpoint.readJournal(paths.journal, record.nextSeq),
    { app: opts.app, responseMode: opts.responseMode, ...dify, signal: ctx.abortSignal },
  );
  if (polled > 0) ctx.stderr.write(`resume: ${recovered} of ${polled} started workflow runs recovered\n`);
  const { version: _v, updatedAt: _u, complete: _c, ...header } = record;
  // Unordered output runs ahead of the watermark: find what is already there so it is not written twice.
  const alreadyWritten = opts.ordered
    ? undefined
    : await seqsWritten(opts.output, record.output.bytes, record.output.format, record.nextSeq);
  const checkpoint = await FileCheckpoint.open({
    header: { ...header, input },
    recovered: journal,
    alreadyWritten,
  });
  ctx.stderr.write(
    `resume: ${record.written} records already written; continuing at record ${record.nextSeq + 1}` +
      ` with ${journal.results.size} results from the journal` +
      (alreadyWritten === undefined ? '' : ` and ${alreadyWritten.size} later results already written`) +
      '\n',
  );
  const deadLetterColumns =
    opts.errors !== undefined && record.deadLetter !== null && record.deadLetter.format === 'csv'
      ? await csvHeader(opts.errors, record.deadLetter.bytes)
      : undefined;
  return planOf(checkpoint, opts.input, {
    endpointOptions: {
      resumeFrom: { seq: record.nextSeq, line: record.inputLine, offset: record.inputOffset },
      outputResumeAt: record.output.bytes,
      ...(record.deadLetter === null ? {} : { deadLetterResumeAt: record.deadLetter.bytes }),
      ...(deadLetterColumns === undefined ? {} : { deadLetterColumns }),
    },
    firstSeq: record.nextSeq,
  });
}

function planOf(
  checkpoint: FileCheckpoint,
  inputPath: string,
  plan: Omit<ResumePlan, 'checkpoint' | 'finish'>,
): ResumePlan {
  let finished = false;
  return {
    ...plan,
    checkpoint,
    async finish(complete, error) {
      if (finished) return;
      finished = true;
      if (complete) {
        await checkpoint.complete();
        return;
      }
      checkpoint.close();
      const last = checkpoint.current;
      const unreadable = (error as { code?: unknown } | null)?.code === 'ERR_SOURCE_READ';
      // Decompressed offsets say nothing about the compressed bytes before them.
      if (unreadable && last !== undefined && !/\.gz$/i.test(inputPath)) {
        const prefixSha256 = await hashPrefix(inputPath, last.inputOffset);
        await checkpoint.annotateInput({ prefixBytes: last.inputOffset, prefixSha256 });
      }
    },
  };
}

function shapingOptions(opts: ResumableRunOptions): Record<string, string | boolean | null> {
  return {
    app: opts.app,
    responseMode: opts.responseMode,
    idField: opts.idField ?? null,
    user: opts.user,
    inputsField: opts.inputsField ?? null,
    queryField: opts.queryField ?? null,
    inputFormat: opts.inputFormat ?? formatOf(opts.input.replace(/\.gz$/i, ''), null),
    outputFormat: opts.outputFormat ?? formatOf(opts.output, 'ndjson'),
    ordered: opts.ordered,
    errors: opts.errors === undefined ? null : resolve(opts.errors),
    // Which files records name (and how they reach Dify) shapes results; unset is null, as in older checkpoints.
    filesRoot: opts.filesRoot === undefined ? null : resolve(opts.filesRoot),
    uploadRemote: opts.uploadRemote === true ? true : null,
    // Which URLs may be downloaded decides which records fail; unset is null, as in older checkpoints.
    filesAllowHost:
      opts.filesAllowHost === undefined
        ? null
        : [...new Set(opts.filesAllowHost.map((h) => h.toLowerCase()))].sort().join(','),
  };
}

function checkOptions(record: CheckpointRecord, now: Record<string, string | boolean | null>): void {
  for (const key of Object.keys(now)) {
    const then = record.options[key] ?? null;
    if (then === now[key]) continue;
    const flag = FLAGS[key] ?? key;
    throw new CliError(
      `--resume: ${flag} differs from the checkpointed run (${show(then)} then, ${show(now[key] ?? null)} now); resume with the same options`,
    );
  }
}

function show(value: string | number | boolean | null): string {
  return value === null ? 'not set' : JSON.stringify(value);
}

function formatOf<T extends string | null>(path: string, fallback: T): string | T {
  return formatOfName(path) ?? fallback;
}

/** A run that stopped on an unreadable record recorded its prefix hash: is that prefix still the same? */
async function prefixUnchanged(
  then: InputFingerprint,
  now: InputFingerprint,
  signal: AbortSignal,
): Promise<boolean> {
  if (then.prefixSha256 === undefined || then.prefixBytes === undefined) return false;
  if (now.size < then.prefixBytes) return false;
  return (await hashPrefix(now.path, then.prefixBytes, signal)) === then.prefixSha256;
}

/** `file` for a regular file, `missing` for none (yet), `other` for stdio (`-`), URLs, pipes, devices, directories. */
async function kindOf(path: string): Promise<'file' | 'missing' | 'other'> {
  if (path === '-' || isUrlEndpoint(path)) return 'other';
  try {
    return (await stat(path)).isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The CSV header of the first `bytes` bytes of `path` (without `_error`, which the sink appends). */
async function csvHeader(path: string, bytes: number): Promise<readonly string[] | undefined> {
  if (bytes === 0) return undefined;
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(
      Buffer.alloc(Math.min(bytes, 64 * 1024)),
      0,
      Math.min(bytes, 64 * 1024),
      0,
    );
    const text = buffer.toString('utf8', 0, bytesRead);
    const firstLine = text.slice(0, text.indexOf('\n') === -1 ? text.length : text.indexOf('\n'));
    const [header] = parse(firstLine) as string[][];
    return header?.filter((name) => name !== '_error');
  } finally {
    await file.close();
  }
}

/**
 * The `seq` of every result at or after `fromSeq` in the first `bytes` bytes of an output (an unordered
 * run's results past its watermark). Reads the file once; JSON lines start with `{"seq":N,`.
 */
async function seqsWritten(
  path: string,
  bytes: number,
  format: string,
  fromSeq: number,
): Promise<Set<number>> {
  const seqs = new Set<number>();
  if (bytes === 0) return seqs;
  const stream = createReadStream(path, { start: 0, end: bytes - 1 });
  if (format === 'csv') {
    for await (const row of stream.pipe(parseCsvStream({ columns: true }))) {
      const seq = Number((row as { seq?: string }).seq);
      if (Number.isSafeInteger(seq) && seq >= fromSeq) seqs.add(seq);
    }
    return seqs;
  }
  for await (const line of createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })) {
    const match = /^\{"seq":(\d+),/.exec(line);
    if (match !== null && Number(match[1]) >= fromSeq) seqs.add(Number(match[1]));
  }
  return seqs;
}
