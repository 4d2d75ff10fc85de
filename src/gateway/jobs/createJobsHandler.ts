import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { SourceFormat } from '../../sources/SourceFormat.js';
import { ownerOf } from './JobKeys.js';
import { emptyStats, type JobManager } from './JobManager.js';
import { JobStore } from './JobStore.js';
import { parseJobOptions } from './parseJobOptions.js';
import { downloadJobInput, formatOf, InputTooLargeError, receiveJobInput } from './receiveJobInput.js';
import { streamJobEvents } from './streamJobEvents.js';
import { streamJobLines } from './streamJobLines.js';

/** What the jobs routes need from the gateway. */
export interface JobsHandlerConfig {
  readonly manager: JobManager;
  /** The gateway's concurrency: a job's `concurrency` is capped by it (and defaults to it). */
  readonly concurrency: number;
  readonly maxBodyBytes: number;
  /** Where the dashboard's files are (index.html, app.js, app.css). */
  readonly dashboardDir: string;
  /** Aborted when the gateway closes: uploads and event streams stop. */
  readonly shutdown: AbortSignal;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const DASHBOARD_FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/dashboard/app.js': 'app.js',
  '/dashboard/app.css': 'app.css',
};
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
/** A JSON options body (`{ "input_url": … }`) is small; anything bigger is not options. */
const MAX_OPTIONS_BYTES = 64 * 1024;

/**
 * The job API and the dashboard: `GET /`, `GET /dashboard/*`, and under `/v1/jobs` — `POST` (submit),
 * `GET` (list), `GET /{id}`, `GET /{id}/results|errors` (`?format=csv`), `GET /{id}/events` (SSE),
 * `POST /{id}/cancel`, `POST /{id}/retry-failed`. Resolves `false` for any other path (the gateway's
 * own routes). Every `/v1/jobs` call needs `Authorization: Bearer <key>`; a job is only visible to the
 * key that created it (another key gets 404).
 */
export function createJobsHandler(
  config: JobsHandlerConfig,
): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean> {
  return async (req, res, path) => {
    const file = DASHBOARD_FILES[path];
    if (file !== undefined) {
      req.resume();
      await serveFile(res, join(config.dashboardDir, file));
      return true;
    }
    if (path !== '/v1/jobs' && !path.startsWith('/v1/jobs/')) return false;
    const key = /^bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (key === undefined) {
      req.resume();
      res.setHeader('WWW-Authenticate', 'Bearer realm="jobs"');
      send(res, 401, {
        code: 'unauthorized',
        message: "Authorization header must be provided and start with 'Bearer'",
      });
      return true;
    }
    const owner = ownerOf(key);
    config.manager.resumeWaiting(owner, key);
    const query = new URL(req.url ?? '/', 'http://gateway').searchParams;
    const [, , , id, action, extra] = path.split('/');
    const method = req.method ?? 'GET';
    if (id === undefined || id === '') {
      if (method === 'POST') await submit(config, req, res, query, owner, key);
      else if (method === 'GET') send(res, 200, { jobs: config.manager.list(owner) });
      else notAllowed(req, res, 'GET, POST');
      return true;
    }
    if (method !== 'POST') req.resume();
    const view = JobStore.isId(id) && extra === undefined ? config.manager.get(id, owner) : undefined;
    if (view === undefined) {
      req.resume();
      send(res, 404, { code: 'not_found', message: `no job ${id} for this key` });
      return true;
    }
    const allowed = action === 'cancel' || action === 'retry-failed' ? 'POST' : 'GET';
    if (![undefined, 'results', 'errors', 'events', 'cancel', 'retry-failed'].includes(action)) {
      send(res, 404, { code: 'not_found', message: `no route ${path}` });
      return true;
    }
    if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) {
      notAllowed(req, res, allowed);
      return true;
    }
    req.resume();
    const paths = config.manager.store.paths(id);
    if (action === undefined) send(res, 200, view);
    else if (action === 'results' || action === 'errors') {
      await streamJobLines(
        res,
        action === 'results' ? paths.results : paths.errors,
        action,
        query.get('format'),
      );
    } else if (action === 'events') await streamJobEvents(config, res, id, owner);
    else if (action === 'cancel') send(res, 200, await config.manager.cancel(id, owner));
    else {
      const created = await config.manager.retryFailed(id, owner, key);
      if (created === 'nothing')
        send(res, 409, { code: 'no_failures', message: `job ${id} has no failed records` });
      else if (created !== 'not-found') send(res, 202, created);
    }
    return true;
  };
}

async function submit(
  config: JobsHandlerConfig,
  req: IncomingMessage,
  res: ServerResponse,
  query: URLSearchParams,
  owner: string,
  key: string,
): Promise<void> {
  const now = new Date();
  const id = JobStore.newId(now);
  const paths = config.manager.store.paths(id);
  await mkdir(paths.dir, { recursive: true });
  const upload = join(paths.dir, 'upload');
  let url: URL | undefined;
  const fail = async (status: number, code: string, message: string): Promise<void> => {
    await rm(paths.dir, { recursive: true, force: true });
    if (status === 413) res.setHeader('Connection', 'close');
    send(res, status, { code, message });
  };
  try {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > config.maxBodyBytes) {
      req.resume();
      await fail(
        413,
        'request_entity_too_large',
        `the request body is larger than ${config.maxBodyBytes} bytes (--max-body-bytes)`,
      );
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    let received = await receiveJobInput(req, upload, config.maxBodyBytes, config.shutdown);
    let settings: Record<string, unknown> = Object.fromEntries(query);
    let format = (query.get('format') as SourceFormat | null) ?? formatOf('', contentType) ?? 'ndjson';
    if (format === 'json' && received.firstChar === '{' && query.get('format') === null) {
      // A JSON object is options (`input_url` and the rest), not records.
      if (received.bytes > MAX_OPTIONS_BYTES)
        return fail(
          400,
          'invalid_param',
          'a JSON object body must be options of at most 64 KiB; send records as NDJSON, CSV or a JSON array',
        );
      let body: unknown;
      try {
        body = JSON.parse(await readFile(upload, 'utf8'));
      } catch (error) {
        return fail(400, 'invalid_param', `the JSON body does not parse: ${(error as Error).message}`);
      }
      settings = { ...(body as Record<string, unknown>), ...settings };
      const raw = settings.input_url;
      if (typeof raw !== 'string' || !URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) {
        return fail(400, 'invalid_param', `input_url must be an http(s) URL, got ${JSON.stringify(raw)}`);
      }
      url = new URL(raw);
      const downloaded = await downloadJobInput(url, upload, config.maxBodyBytes, config.shutdown);
      received = downloaded;
      format = typeof settings.format === 'string' ? (settings.format as SourceFormat) : downloaded.format;
    }
    if (!['ndjson', 'csv', 'json'].includes(format)) {
      return fail(400, 'invalid_param', `format must be ndjson, csv or json, got ${JSON.stringify(format)}`);
    }
    const options = parseJobOptions(settings, config.concurrency);
    if (typeof options === 'string') return fail(400, 'invalid_param', options);
    await rename(upload, paths.input(format));
    const records =
      format === 'json' ? undefined : format === 'csv' ? Math.max(0, received.lines - 1) : received.lines;
    const view = await config.manager.submit(
      {
        id,
        owner,
        status: 'queued',
        created_at: now.toISOString(),
        options,
        input: { format, bytes: received.bytes, records, ...(url === undefined ? {} : { url: url.href }) },
        stats: emptyStats(),
      },
      key,
    );
    res.setHeader('Location', view.links.self!);
    send(res, 202, view);
  } catch (error) {
    if (error instanceof InputTooLargeError) {
      req.resume();
      await fail(413, 'request_entity_too_large', error.message);
    } else if (url === undefined && (error as { code?: unknown } | null)?.code === 'ABORT_ERR') {
      await rm(paths.dir, { recursive: true, force: true });
      res.destroy();
    } else await fail(400, 'invalid_input', `the input cannot be read: ${(error as Error).message}`);
  }
}

async function serveFile(res: ServerResponse, path: string): Promise<void> {
  try {
    const body = await readFile(path);
    const ext = path.slice(path.lastIndexOf('.') + 1);
    res.writeHead(200, {
      'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'Cache-Control': 'no-cache',
    });
    res.end(body);
  } catch {
    send(res, 404, { code: 'not_found', message: 'the dashboard files are missing from this install' });
  }
}

function notAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
  req.resume();
  res.setHeader('Allow', allow);
  send(res, 405, { code: 'method_not_allowed', message: 'The method is not allowed for the requested URL.' });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': JSON_TYPE });
  res.end(JSON.stringify(body));
}
