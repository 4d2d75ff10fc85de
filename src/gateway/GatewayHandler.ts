import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { Logger } from 'pino';
import { DifyBatchError } from '../core/DifyBatchError.js';
import { redactSecrets } from '../core/redactSecrets.js';
import type { DifyAppKind } from '../dify/DifyRequest.js';
import { linkAbort } from '../internal/abortable.js';
import type { BatchMetrics } from '../metrics/BatchMetrics.js';
import { type BatchElement, type GatewayErrorBody, parseBatchEnvelope } from './parseBatchEnvelope.js';
import { readRequestBody } from './readRequestBody.js';
import { type BatchResult, toBatchResult } from './toBatchResult.js';
import type { UpstreamBody, UpstreamClient } from './UpstreamClient.js';
import type { UpstreamScheduler } from './UpstreamScheduler.js';

/** What the handler needs, all of it built and validated by `startGateway`. */
export interface GatewayHandlerConfig {
  readonly upstream: UpstreamClient;
  readonly scheduler: UpstreamScheduler;
  readonly metrics: BatchMetrics;
  /** Sent upstream instead of the caller's Authorization when set. */
  readonly apiKey: string | undefined;
  readonly maxItems: number;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
  readonly tracer: Tracer;
  /** Aborted on a hard shutdown: every batch in progress stops calling upstream at once. */
  readonly shutdown: AbortSignal;
  /** The job API and dashboard routes (`createJobsHandler`): `false` when the path is not theirs. */
  readonly jobs?: ((req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>) | undefined;
}

const BATCH_ROUTES: Readonly<Record<string, { readonly app: DifyAppKind; readonly route: string }>> = {
  '/v1/workflows/run/batch': { app: 'workflow', route: 'workflows_run_batch' },
  '/v1/completion-messages/batch': { app: 'completion', route: 'completion_messages_batch' },
  '/v1/chat-messages/batch': { app: 'chat', route: 'chat_messages_batch' },
};

const UPSTREAM_PATHS: Readonly<Record<DifyAppKind, string>> = {
  workflow: '/workflows/run',
  completion: '/completion-messages',
  chat: '/chat-messages',
};

const NDJSON = 'application/x-ndjson';
const JSON_TYPE = 'application/json';
const BEARER = /^bearer\s+\S+/i;

/**
 * The gateway's request handler: `POST /v1/{workflows/run,completion-messages,chat-messages}/batch`,
 * `GET /healthz`, `GET /metrics`. See `startGateway` for the contract. The promise settles (never
 * rejects) when the request is fully handled, so `close()` can wait for requests in progress.
 */
export function createGatewayHandler(
  config: GatewayHandlerConfig,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return (req, res) =>
    handle(config, req, res).catch((error: unknown) => {
      if ((error as { code?: unknown } | null)?.code === 'ERR_ABORTED') {
        res.destroy();
        return;
      }
      // Only a bug gets here (a throwing logger or tracer): answer if we still can, never crash.
      config.logger.error({ err: describe(error) }, 'gateway handler failed');
      if (!res.headersSent)
        sendError(res, { code: 'unknown', message: 'Internal Server Error', status: 500 });
      else res.destroy();
    });
}

async function handle(
  config: GatewayHandlerConfig,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const target = BATCH_ROUTES[path];
  if (target === undefined) {
    if (config.jobs !== undefined && (await config.jobs(req, res, path))) return;
    await handleOther(config, req, res, path);
    return;
  }
  const startedAt = performance.now();
  const parent = propagation.extract(context.active(), req.headers);
  const span = config.tracer.startSpan(
    `POST ${path}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': 'POST', 'url.path': path } },
    parent,
  );
  const summary: { items: number; succeeded: number; failed: number } = { items: 0, succeeded: 0, failed: 0 };
  res.once('close', () => {
    const status = res.statusCode;
    config.metrics.requests.inc({ route: target.route, status: String(status) });
    span.setAttribute('http.response.status_code', status);
    if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
    config.logger.info(
      {
        req: {
          method: req.method,
          url: req.url,
          headers: req.headers,
          remoteAddress: req.socket.remoteAddress,
        },
        res: { statusCode: status },
        ...summary,
        disconnected: !res.writableFinished,
        responseTimeMs: Math.round(performance.now() - startedAt),
      },
      'batch request',
    );
  });
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    sendError(res, {
      code: 'method_not_allowed',
      message: 'The method is not allowed for the requested URL.',
      status: 405,
    });
    req.resume();
    return;
  }
  const authorization = config.apiKey === undefined ? req.headers.authorization : `Bearer ${config.apiKey}`;
  if (authorization === undefined || !BEARER.test(authorization)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="api"');
    const message = "Authorization header must be provided and start with 'Bearer'";
    sendError(res, { code: 'unauthorized', message, status: 401 });
    req.resume();
    return;
  }
  const body = await readRequestBody(req, config.maxBodyBytes);
  if (body === undefined) {
    const message = `the request body is larger than ${config.maxBodyBytes} bytes (--max-body-bytes)`;
    // The rest of the body is never read: close the connection once the answer is out.
    res.setHeader('Connection', 'close');
    sendError(res, { code: 'request_entity_too_large', message, status: 413 });
    res.once('finish', () => req.socket.destroySoon());
    return;
  }
  const parsed = parseBatchEnvelope(body.text, target.app, config.maxItems);
  if (!parsed.ok) {
    sendError(res, parsed.error);
    return;
  }
  const { elements } = parsed;
  summary.items = elements.length;
  const calls = elements.reduce((n, element) => (element.body === undefined ? n : n + 1), 0);
  if (!config.scheduler.admit(calls)) {
    res.setHeader('Retry-After', String(config.scheduler.retryAfterSeconds()));
    const message = 'Too many requests. The gateway queue is full; retry after the delay in Retry-After.';
    sendError(res, { code: 'too_many_requests', message, status: 429 });
    return;
  }
  const streaming = (req.headers.accept ?? '').includes(NDJSON);
  const callContext = trace.setSpan(parent, span);
  await runElements(config, target.app, elements, authorization, callContext, res, streaming, summary);
}

/** Runs every element under the shared scheduler and writes the results in input order. */
async function runElements(
  config: GatewayHandlerConfig,
  app: DifyAppKind,
  elements: readonly BatchElement[],
  authorization: string,
  callContext: Context,
  res: ServerResponse,
  streaming: boolean,
  summary: { items: number; succeeded: number; failed: number },
): Promise<void> {
  // Aborted when the client goes away: items not yet started are never called, calls in flight stop.
  const abort = new AbortController();
  setMaxListeners(4 * elements.length + 16, abort.signal);
  res.once('close', () => {
    if (!res.writableFinished) abort.abort(new DifyBatchError('ERR_ABORTED', 'the client disconnected'));
  });
  const unlink = linkAbort(config.shutdown, abort);
  const results: (BatchResult | undefined)[] = new Array(elements.length);
  const failedIndexes: number[] = [];
  let next = 0;
  if (streaming) res.writeHead(200, { 'Content-Type': `${NDJSON}; charset=utf-8` });

  // Writes the longest ready prefix: results leave in input order as soon as each prefix is complete.
  const flush = (): void => {
    let chunk = '';
    while (next < results.length && results[next] !== undefined) {
      const result = results[next]!;
      if (result.error === undefined) summary.succeeded++;
      else {
        summary.failed++;
        failedIndexes.push(next);
      }
      if (streaming) chunk += `${JSON.stringify({ index: next, ...result })}\n`;
      next++;
    }
    if (chunk !== '' && !res.destroyed) res.write(chunk);
  };
  const settle = (index: number, result: BatchResult): void => {
    results[index] = result;
    config.metrics.itemDone(result.error?.code);
    if (index === next) flush();
  };

  const pending = elements.map(async (element, index) => {
    if (element.body === undefined) {
      settle(index, { status: 400, error: element.error });
      return;
    }
    const body = element.body;
    try {
      const outcome = await config.scheduler.run(
        (signal) => callUpstream(config, app, body, authorization, callContext, signal),
        abort.signal,
      );
      settle(index, toBatchResult(app, outcome));
    } catch {
      // Aborted: the client is gone, nobody will read this result.
    }
  });
  await Promise.all(pending);
  unlink();
  if (abort.signal.aborted || res.destroyed) {
    res.destroy();
    return;
  }
  const tail = { succeeded: summary.succeeded, failed: summary.failed, individual_errors: failedIndexes };
  if (streaming) {
    res.end(`${JSON.stringify(tail)}\n`);
    return;
  }
  let text = '{"results":[';
  for (let i = 0; i < results.length; i++) text += (i === 0 ? '' : ',') + JSON.stringify(results[i]);
  text += `],"succeeded":${tail.succeeded},"failed":${tail.failed},"individual_errors":${JSON.stringify(failedIndexes)}}`;
  res.writeHead(summary.failed > 0 ? 207 : 200, { 'Content-Type': `${JSON_TYPE}; charset=utf-8` });
  res.end(text);
}

/** One upstream attempt in its own client span, with the trace context in `traceparent`. */
async function callUpstream(
  config: GatewayHandlerConfig,
  app: DifyAppKind,
  body: string,
  authorization: string,
  callContext: Context,
  signal: AbortSignal,
): Promise<UpstreamBody> {
  const span: Span = config.tracer.startSpan(
    `POST ${UPSTREAM_PATHS[app]}`,
    { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'POST', 'dify.app': app } },
    callContext,
  );
  const headers: Record<string, string> = {};
  propagation.inject(trace.setSpan(callContext, span), headers);
  try {
    return await config.upstream.call({ app, body, authorization, headers, signal });
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? code : 'error' });
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number') span.setAttribute('http.response.status_code', status);
    throw error;
  } finally {
    span.end();
  }
}

async function handleOther(
  config: GatewayHandlerConfig,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): Promise<void> {
  req.resume();
  const route = path === '/healthz' ? 'healthz' : path === '/metrics' ? 'metrics' : 'other';
  res.once('close', () => config.metrics.requests.inc({ route, status: String(res.statusCode) }));
  if (route === 'other') {
    const message = `no route ${path}; the gateway serves POST /v1/workflows/run/batch, /v1/completion-messages/batch, /v1/chat-messages/batch`;
    sendError(res, { code: 'not_found', message, status: 404 });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    sendError(res, {
      code: 'method_not_allowed',
      message: 'The method is not allowed for the requested URL.',
      status: 405,
    });
    return;
  }
  if (route === 'healthz') {
    res.writeHead(200, { 'Content-Type': `${JSON_TYPE}; charset=utf-8` });
    res.end(
      JSON.stringify({ status: 'ok', queued: config.scheduler.queued, inFlight: config.scheduler.inFlight }),
    );
    return;
  }
  const { contentType, body } = await config.metrics.scrape();
  res.writeHead(200, { 'Content-Type': contentType });
  res.end(body);
}

function sendError(res: ServerResponse, error: GatewayErrorBody): void {
  res.writeHead(error.status, { 'Content-Type': `${JSON_TYPE}; charset=utf-8` });
  res.end(JSON.stringify(error));
}

function describe(error: unknown): { name: string; message: string } {
  return error instanceof Error
    ? { name: error.name, message: redactSecrets(error.message) }
    : { name: typeof error, message: redactSecrets(String(error)) };
}
