import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { type Command, Option } from 'commander';
import { request } from 'undici';
import type { CliContext } from './CliContext.js';
import { CliError } from './CliError.js';
import { parsePositiveInt } from './parsers.js';

/** Where `dify-batch jobs` finds the gateway unless `--gateway` or `DIFY_BATCH_GATEWAY` says otherwise. */
export const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

/** The options every `jobs` subcommand shares. */
interface ClientOptions {
  gateway?: string;
  apiKey?: string;
}

interface SubmitOptions extends ClientOptions {
  app: string;
  responseMode: string;
  concurrency?: number;
  idField?: string;
  inputsField?: string;
  queryField?: string;
  user?: string;
  wait: boolean;
}

interface ResultsOptions extends ClientOptions {
  errors: boolean;
  format: string;
  output?: string;
}

/** A finished job's exit code: 0 all records succeeded, 2 some failed, 1 the job failed or was cancelled. */
function exitCodeOf(job: { status: string; counts: { failed: number } }): number {
  if (job.status === 'succeeded') return job.counts.failed > 0 ? 2 : 0;
  return 1;
}

/**
 * Adds `dify-batch jobs submit|status|results|cancel|list`: a thin client of the gateway's job API
 * (`dify-batch serve`). Each prints the API's JSON (or the results) on stdout.
 */
export function registerJobsCommand(program: Command, ctx: CliContext, onExit: (code: number) => void): void {
  const jobs = program
    .command('jobs')
    .description('Submit and follow async jobs on a dify-batch gateway (dify-batch serve)');
  const client = (command: Command): Command =>
    command
      .option('--gateway <url>', `the gateway's base URL (env DIFY_BATCH_GATEWAY)`, undefined)
      .option('--api-key <key>', 'your app key: it runs the job and owns it (env DIFY_API_KEY)');

  client(jobs.command('submit <input>'))
    .description('Upload an NDJSON, CSV or JSON-array file (or give an http(s) URL) as a new job')
    .addOption(
      new Option('--app <kind>', 'Dify app kind')
        .choices(['workflow', 'completion', 'chat'])
        .default('workflow'),
    )
    .addOption(
      new Option('--response-mode <mode>', 'Dify response mode')
        .choices(['blocking', 'streaming'])
        .default('blocking'),
    )
    .option('-c, --concurrency <n>', "calls in flight at most (capped by the gateway's)", parsePositiveInt)
    .option('--id-field <name>', "use this field of each record as its result's id")
    .option('--inputs-field <name>', "send this field's object as the inputs (default: the whole record)")
    .option('--query-field <name>', 'chat/completion: the field holding the query')
    .option('--user <id>', 'the Dify end-user id (default: dify-batch-job)')
    .option('--wait', 'follow the job until it ends; exit 0, 2 (some records failed) or 1', false)
    .action(async (input: string, opts: SubmitOptions) => {
      const api = connect(opts, ctx);
      const query = new URLSearchParams({ app: opts.app, response_mode: opts.responseMode });
      for (const [name, value] of [
        ['concurrency', opts.concurrency],
        ['id_field', opts.idField],
        ['inputs_field', opts.inputsField],
        ['query_field', opts.queryField],
        ['user', opts.user],
      ] as const) {
        if (value !== undefined) query.set(name, String(value));
      }
      let job: JobJson;
      if (/^https?:\/\//i.test(input)) {
        job = await api.json('POST', `/v1/jobs?${query}`, {
          body: JSON.stringify({ input_url: input }),
          contentType: 'application/json',
        });
      } else {
        const size = await stat(input).then(
          (s) => s.size,
          () => {
            throw new CliError(`cannot read ${input}`);
          },
        );
        const contentType = /\.csv$/i.test(input)
          ? 'text/csv'
          : /\.json$/i.test(input)
            ? 'application/json'
            : 'application/x-ndjson';
        job = await api.json('POST', `/v1/jobs?${query}`, {
          body: createReadStream(input),
          contentType,
          length: size,
        });
      }
      if (!opts.wait) {
        ctx.stdout.write(`${JSON.stringify(job)}\n`);
        return;
      }
      ctx.stderr.write(`job ${job.id} submitted\n`);
      const done = await follow(api, job.id, ctx);
      ctx.stdout.write(`${JSON.stringify(done)}\n`);
      onExit(exitCodeOf(done));
    });

  client(jobs.command('status <id>'))
    .description("Print a job's status, counts, throughput, ETA, latency and errors by code (JSON)")
    .action(async (id: string, opts: ClientOptions) => {
      const job = await connect(opts, ctx).json('GET', `/v1/jobs/${encodeURIComponent(id)}`);
      ctx.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
    });

  client(jobs.command('results <id>'))
    .description("Write a job's results (or, with --errors, its failed records) written so far, in order")
    .option('--errors', 'the dead letters (failed input records plus _error) instead of the results', false)
    .addOption(new Option('--format <format>', 'output format').choices(['ndjson', 'csv']).default('ndjson'))
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (id: string, opts: ResultsOptions) => {
      const path = `/v1/jobs/${encodeURIComponent(id)}/${opts.errors ? 'errors' : 'results'}?format=${opts.format}`;
      const body = await connect(opts, ctx).stream(path);
      if (opts.output === undefined) {
        for await (const chunk of body) ctx.stdout.write(chunk as Buffer);
      } else await pipeline(body, createWriteStream(opts.output));
    });

  client(jobs.command('cancel <id>'))
    .description('Cancel a queued or running job (what is written stays)')
    .action(async (id: string, opts: ClientOptions) => {
      const job = await connect(opts, ctx).json('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
      ctx.stdout.write(`${JSON.stringify(job)}\n`);
    });

  client(jobs.command('list'))
    .description('List your jobs, newest first (JSON lines)')
    .action(async (opts: ClientOptions) => {
      const { jobs: list } = await connect(opts, ctx).json<{ jobs: JobJson[] }>('GET', '/v1/jobs');
      for (const job of list) ctx.stdout.write(`${JSON.stringify(job)}\n`);
    });
}

interface JobJson {
  readonly id: string;
  readonly status: string;
  readonly counts: { readonly written: number; readonly failed: number; readonly total: number | null };
}

interface JobsApi {
  json<T = JobJson>(
    method: string,
    path: string,
    body?: { body: string | NodeJS.ReadableStream; contentType: string; length?: number },
  ): Promise<T>;
  stream(path: string): Promise<AsyncIterable<unknown> & NodeJS.ReadableStream>;
}

/** The API client: checks the flags first (one-line errors), never prints the key. */
function connect(opts: ClientOptions, ctx: CliContext): JobsApi {
  const base = opts.gateway ?? ctx.env.DIFY_BATCH_GATEWAY ?? DEFAULT_GATEWAY_URL;
  if (!URL.canParse(base) || !/^https?:$/.test(new URL(base).protocol)) {
    throw new CliError(`--gateway must be an http(s) URL, got "${base}"`);
  }
  const key = opts.apiKey ?? ctx.env.DIFY_API_KEY;
  if (key === undefined || key.trim() === '' || /\s/.test(key)) {
    throw new CliError('missing --api-key (or env DIFY_API_KEY): jobs belong to the key that submits them');
  }
  const send = async (
    method: string,
    path: string,
    body?: { body: string | NodeJS.ReadableStream; contentType: string; length?: number },
  ) => {
    const url = new URL(path, base);
    let response: Awaited<ReturnType<typeof request>>;
    try {
      response = await request(url, {
        method: method as 'GET',
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined
            ? {}
            : {
                'content-type': body.contentType,
                ...(body.length === undefined ? {} : { 'content-length': String(body.length) }),
              }),
        },
        ...(body === undefined ? {} : { body: body.body as string }),
        signal: ctx.abortSignal,
      });
    } catch (error) {
      throw new CliError(`cannot reach the gateway at ${url.origin}: ${(error as Error).message}`);
    }
    if (response.statusCode >= 400) {
      const text = await response.body.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {}
      throw new CliError(`${method} ${url.pathname}: HTTP ${response.statusCode}: ${message}`);
    }
    return response;
  };
  return {
    async json<T>(
      method: string,
      path: string,
      body?: { body: string | NodeJS.ReadableStream; contentType: string; length?: number },
    ) {
      return (await (await send(method, path, body)).body.json()) as T;
    },
    async stream(path) {
      return (await send('GET', path)).body;
    },
  };
}

/** Polls the job every second, with a progress line on stderr, until it ends. */
async function follow(api: JobsApi, id: string, ctx: CliContext): Promise<JobJson> {
  for (;;) {
    const job = await api.json('GET', `/v1/jobs/${encodeURIComponent(id)}`);
    const { written, failed, total } = job.counts;
    ctx.stderr.write(
      `${job.status}: ${written}${total === null ? '' : `/${total}`} written, ${failed} failed\n`,
    );
    if (job.status !== 'queued' && job.status !== 'running') return job;
    // Ctrl-C stops following; the job itself goes on on the gateway.
    await delay(1000, undefined, { signal: AbortSignal.any([ctx.drainSignal, ctx.abortSignal]) });
  }
}
