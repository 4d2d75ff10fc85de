import { createServer, type Server } from 'node:http';
import { checkInputsAgainstForm, type InputFormField } from '../dify/checkInputsAgainstForm.js';
import type { DifyAppKind } from '../dify/DifyRequest.js';
import { checkOption } from '../internal/checkOption.js';
import { answerControl } from './answerControl.js';
import {
  appInfoBody,
  appParametersBody,
  appSiteBody,
  type RunRecord,
  runDetailBody,
  workflowLogsBody,
} from './appResources.js';
import { canonicalInputs, FAULT_HOOK_KEY, hashUuid } from './canonicalJson.js';
import {
  concurrencyLimitMessage,
  difyHeaders,
  META_BODY,
  MSG,
  NGINX_502_HTML,
  NOT_FOUND_HTML,
  STOP_BODY,
  sendError,
  UNKNOWN_ERROR_BODY,
  WELCOME_BODY,
  X_VERSION,
} from './difyResponses.js';
import { EmulatedUploads } from './EmulatedUploads.js';
import { EmulatorCounters } from './EmulatorCounters.js';
import { type EmulatedApp, type EmulatorOptions, type FaultRates, inputFormOf } from './EmulatorOptions.js';
import { EmulatorRequest, EmulatorResponse, Exchange, type ExchangeHost } from './Exchange.js';
import { KeyRateLimit } from './KeyRateLimit.js';
import { latencySampler } from './latencySampler.js';
import { allowHeader, matchRoutes, type RouteMatch } from './matchRoute.js';
import { type FaultKind, parseFaultHook } from './parseFaultHook.js';
import { pythonUuid } from './pythonUuid.js';
import { RecentMap } from './RecentMap.js';
import { authenticate, jsonBodyWithUser } from './requestChecks.js';
import { type ResolvedEmulatorOptions, resolveEmulatorOptions } from './resolveEmulatorOptions.js';
import { type RunContext, runMessage, runWorkflow } from './runApp.js';
import { SeededRandom } from './SeededRandom.js';
import type { EmulatorStats } from './startEmulator.js';
import { UuidSource } from './UuidSource.js';
import { conversationIdOf, type PayloadModel, validatePayload } from './validatePayload.js';

/** One configured app plus its live state. */
export interface AppRuntime {
  app: EmulatedApp;
  readonly key: string;
  id: string;
  workflowId: string;
  /** Concurrency slots in use. */
  held: number;
  bucket: KeyRateLimit | undefined;
  parametersBody: string;
  /** The Start node's variables, checked on every run. */
  form: readonly InputFormField[];
  infoBody: string;
  siteBody: string;
}

const RATE_KINDS: readonly (readonly [keyof FaultRates, FaultKind])[] = [
  ['rate429', '429'],
  ['rate500', '500'],
  ['rate502Html', '502'],
  ['rateReset', 'reset'],
  ['rateStall', 'stall'],
  ['rateDrop', 'drop'],
  ['rateErrorEvent', 'error'],
  ['rateRunFailed', 'failed'],
];

const ROUTE_MODE: Partial<Record<RouteMatch['name'], DifyAppKind>> = {
  workflowRun: 'workflow',
  workflowRunById: 'workflow',
  workflowRunDetail: 'workflow',
  workflowStop: 'workflow',
  completion: 'completion',
  completionStop: 'completion',
  chat: 'chat',
  chatStop: 'chat',
};

const MODEL: Record<DifyAppKind, PayloadModel> = {
  workflow: 'WorkflowRunPayload',
  completion: 'CompletionRequestPayload',
  chat: 'ChatRequestPayload',
};

function onRequestData(this: EmulatorRequest, chunk: Buffer): void {
  this.exchange?.addChunk(chunk);
}

function onRequestEnd(this: EmulatorRequest): void {
  const exchange = this.exchange;
  if (exchange !== undefined) exchange.host.dispatch(exchange);
}

/**
 * How long a streaming workflow call holds its concurrency slot: Dify enqueues the Celery task and
 * leaves `rate_limit_context` before the first event; about the time real 1.13.2 takes to answer the
 * first frame on this machine kind.
 */
const STREAM_SETUP_MS = 20;

/** Dify's `_sanitize_value`: `\x00` is removed from string inputs after validation (dify-api.md §2). */
function withoutNul(inputs: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in inputs) {
    const value = inputs[key];
    if (typeof value === 'string' && value.includes('\u0000')) {
      out ??= { ...inputs };
      out[key] = value.replaceAll('\u0000', '');
    }
  }
  return out ?? inputs;
}

/**
 * The emulator's HTTP server: routing, Dify's checks in Dify's order, the knobs (latency, limits,
 * faults) and the counters. Used by `startEmulator`, which is its only public face.
 */
export class EmulatorServer implements ExchangeHost {
  readonly http: Server<typeof EmulatorRequest, typeof EmulatorResponse>;
  readonly counters: EmulatorCounters;
  readonly live = new Set<Exchange>();
  readonly tasks = new Map<string, Exchange>();
  readonly ids = new UuidSource();
  readonly uploads = new EmulatedUploads();
  readonly runs: RecentMap<string, RunRecord>;
  readonly conversations: RecentMap<string, { appKey: string; user: string }>;
  options: ResolvedEmulatorOptions;

  get xVersion(): string {
    return X_VERSION[this.options.difyVersion];
  }

  #apps = new Map<string, AppRuntime>();
  #random: SeededRandom;
  #sampleLatency: (() => number) | undefined;
  /** Cumulative fault rates, or `undefined` when no random fault is configured. */
  #faultTable: (readonly [number, FaultKind])[] | undefined;

  constructor(options: ResolvedEmulatorOptions) {
    this.options = options;
    this.counters = new EmulatorCounters(options.trackCallsPerInput);
    this.runs = new RecentMap(options.maxStoredRuns);
    this.conversations = new RecentMap(options.maxStoredRuns);
    this.#random = new SeededRandom(options.seed);
    this.#apply(options);
    this.http = createServer(
      {
        IncomingMessage: EmulatorRequest,
        ServerResponse: EmulatorResponse,
        noDelay: true,
        requestTimeout: 0,
      },
      this.#onRequest,
    );
    // Clients keep connections for long benchmark runs; never let the server be the one closing them.
    this.http.keepAliveTimeout = 65_000;
    this.http.headersTimeout = 66_000;
  }

  #onRequest = (req: EmulatorRequest, res: EmulatorResponse): void => {
    new Exchange(this, req, res);
    req.on('data', onRequestData);
    req.on('end', onRequestEnd);
  };

  /** Applies (already validated) options to the live state. */
  #apply(options: ResolvedEmulatorOptions): void {
    const now = performance.now();
    const apps = new Map<string, AppRuntime>();
    for (const app of options.apps) {
      const runtime: AppRuntime = this.#apps.get(app.key) ?? {
        app,
        key: app.key,
        id: '',
        workflowId: '',
        held: 0,
        bucket: undefined,
        parametersBody: '',
        form: [],
        infoBody: '',
        siteBody: '',
      };
      runtime.app = app;
      runtime.id = app.id ?? hashUuid(`app:${app.key}`);
      runtime.workflowId = app.workflowId ?? hashUuid(`workflow:${app.key}`);
      runtime.bucket =
        options.rateLimitRps > 0
          ? options.rateLimitRps === this.options.rateLimitRps &&
            options.rateLimitStartsFull === this.options.rateLimitStartsFull &&
            runtime.bucket
            ? runtime.bucket
            : new KeyRateLimit(options.rateLimitRps, now, options.rateLimitStartsFull)
          : undefined;
      runtime.parametersBody = appParametersBody(app);
      runtime.form = inputFormOf(app);
      runtime.infoBody = appInfoBody(app);
      runtime.siteBody = appSiteBody(app);
      apps.set(app.key, runtime);
    }
    this.#apps = apps;
    this.#sampleLatency = latencySampler(options.latency, this.#random);
    let sum = 0;
    const table: (readonly [number, FaultKind])[] = [];
    for (const [rate, kind] of RATE_KINDS) {
      const p = options.faults[rate] ?? 0;
      sum += p;
      if (p > 0) table.push([sum, kind]);
    }
    this.#faultTable = table.length > 0 ? table : undefined;
    this.runs.limit = options.maxStoredRuns;
    this.conversations.limit = options.maxStoredRuns;
    this.options = options;
  }

  configure(patch: Partial<EmulatorOptions>): void {
    for (const key of ['port', 'host'] as const) {
      const value = patch[key];
      checkOption(
        value === undefined || value === this.options[key],
        key,
        `unchanged while the emulator runs (${this.options[key]})`,
        value,
      );
    }
    const next = resolveEmulatorOptions(patch, this.options);
    if (next.seed !== this.options.seed) this.#random = new SeededRandom(next.seed);
    if (next.trackCallsPerInput !== this.options.trackCallsPerInput) {
      this.counters.calls = next.trackCallsPerInput ? new Map() : undefined;
    }
    this.#apply(next);
  }

  reset(): void {
    this.counters.reset(this.options.trackCallsPerInput);
    this.uploads.reset();
    this.#random = new SeededRandom(this.options.seed);
    this.#sampleLatency = latencySampler(this.options.latency, this.#random);
    // An empty bucket must be empty for every run, not refilled by the idle time between runs.
    if (!this.options.rateLimitStartsFull) {
      const now = performance.now();
      for (const app of this.#apps.values())
        if (app.bucket !== undefined) app.bucket = new KeyRateLimit(this.options.rateLimitRps, now, false);
    }
  }

  stats(): EmulatorStats {
    return {
      ...this.counters.snapshot(),
      uploads: this.uploads.accepted,
      peakActiveUploads: this.uploads.peakActive,
    };
  }

  listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      for (const exchange of this.live) exchange.cancel();
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** Routes a complete request. */
  dispatch(ex: Exchange): void {
    const url = ex.req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.startsWith('/_emulator/')) {
      answerControl(this, ex, path);
      return;
    }
    ex.begin();
    const matches = matchRoutes(path);
    if (matches.length === 0) {
      if (path === '/v1') ex.send(308, { Location: '/v1/', 'Content-Type': 'text/html; charset=utf-8' }, '');
      else ex.send(404, { 'Content-Type': 'text/html; charset=utf-8' }, NOT_FOUND_HTML);
      return;
    }
    const method = ex.req.method === 'HEAD' ? 'GET' : ex.req.method;
    let route: RouteMatch | undefined;
    for (const m of matches) if (m.method === method) route = m;
    if (route === undefined) {
      if (method === 'OPTIONS')
        ex.send(200, { ...difyHeaders('text/html; charset=utf-8'), Allow: allowHeader(matches) }, '');
      // Real 1.13.2 sends no `Allow` with its JSON 405.
      else sendError(ex, 405, 'method_not_allowed', MSG.methodNotAllowed);
      return;
    }
    if (route.name === 'welcome') {
      ex.send(200, difyHeaders(), WELCOME_BODY);
      return;
    }
    const app = authenticate(ex, this.#apps);
    if (app === undefined) return;
    if (route.name === 'filesUpload') {
      this.uploads.handle(ex, app, this.ids, this.options.uploadFaults, this.options.uploadLatencyMs);
      return;
    }
    if (route.method === 'GET') this.#get(ex, app, route, q === -1 ? '' : url.slice(q + 1));
    else this.#post(ex, app, route);
  }

  /** The app-mode check each route makes, with the code that route answers. */
  #modeMismatch(ex: Exchange, app: AppRuntime, route: RouteMatch): boolean {
    const wanted = ROUTE_MODE[route.name];
    if (wanted === undefined || wanted === app.app.mode) return false;
    if (wanted === 'workflow') sendError(ex, 400, 'not_workflow_app', MSG.modeMismatch);
    else if (wanted === 'chat') sendError(ex, 400, 'not_chat_app', MSG.modeMismatch);
    else sendError(ex, 400, 'app_unavailable', MSG.appUnavailable);
    return true;
  }

  #get(ex: Exchange, app: AppRuntime, route: RouteMatch, query: string): void {
    if (this.#modeMismatch(ex, app, route)) return;
    if (route.name === 'workflowRunDetail') {
      this.#runDetail(ex, app, route.param ?? '');
      return;
    }
    let body: string;
    if (route.name === 'parameters') body = app.parametersBody;
    else if (route.name === 'info') body = app.infoBody;
    else if (route.name === 'site') body = app.siteBody;
    else if (route.name === 'meta') body = META_BODY;
    // A completion or chat app has no workflow runs: real Dify answers 200 with an empty list.
    else body = workflowLogsBody(this.runs, app.key, new URLSearchParams(query));
    ex.send(200, difyHeaders(), body);
  }

  #runDetail(ex: Exchange, app: AppRuntime, param: string): void {
    const id = pythonUuid(param);
    if (id === undefined) {
      // Postgres refuses to cast a non-UUID: an unhandled exception.
      ex.send(500, difyHeaders(), UNKNOWN_ERROR_BODY);
      return;
    }
    const run = this.runs.get(id);
    if (run === undefined || run.view.appKey !== app.key) sendError(ex, 404, 'not_found', MSG.runNotFound);
    else ex.send(200, difyHeaders(), runDetailBody(run));
  }

  #post(ex: Exchange, app: AppRuntime, route: RouteMatch): void {
    const parsed = jsonBodyWithUser(ex, this.options.difyVersion);
    if (parsed === undefined || this.#modeMismatch(ex, app, route)) return;
    const { body, user } = parsed;
    if (route.name === 'workflowStop' || route.name === 'completionStop' || route.name === 'chatStop') {
      const task = this.tasks.get(route.param ?? '');
      // Dify sets a stop flag for (task, user); a flag nobody reads changes nothing.
      if (task !== undefined && task.appKey === app.key && task.user === user) task.stop();
      ex.send(200, difyHeaders(), STOP_BODY);
      return;
    }
    const mode = app.app.mode;
    const invalid = validatePayload(MODEL[mode], body);
    if (invalid !== undefined) {
      sendError(ex, 400, 'invalid_param', invalid);
      return;
    }
    this.#run(ex, app, body, user, route.name === 'workflowRunById' ? (route.param ?? '') : undefined);
  }

  /** A validated run: counters, rate limit, concurrency limit, late checks, faults, then the answer. */
  #run(
    ex: Exchange,
    app: AppRuntime,
    body: Record<string, unknown>,
    user: string,
    workflowId?: string,
  ): void {
    const mode = app.app.mode;
    const raw = body.inputs as Record<string, unknown>;
    const canonical = canonicalInputs(raw);
    const query = mode === 'workflow' ? '' : ((body.query as string | undefined) ?? '');
    const countKey = raw[this.options.countBy];
    const call = this.counters.call(
      typeof countKey === 'string' || typeof countKey === 'number'
        ? String(countKey)
        : query === ''
          ? canonical
          : `${canonical}\n${query}`,
    );
    const streaming = body.response_mode === 'streaming';
    if (!this.#admit(ex, app, streaming && mode === 'workflow')) return;
    const late = this.#lateChecks(ex, app, body, user, streaming, workflowId);
    if (late === undefined) return;
    const fault =
      late.missing === undefined ? this.#drawFault(raw[FAULT_HOOK_KEY], call, streaming, mode) : undefined;
    if (fault !== undefined) {
      this.counters.fault(fault);
      if (this.#answerFault(ex, fault)) return;
    }
    let inputs = raw;
    if (FAULT_HOOK_KEY in raw) {
      const { [FAULT_HOOK_KEY]: _hook, ...rest } = raw;
      inputs = rest;
    }
    inputs = withoutNul(inputs);
    const ctx: RunContext = {
      server: this,
      ex,
      app,
      user,
      inputs,
      canonical,
      query,
      streaming,
      latencyMs: this.#sampleLatency?.() ?? 0,
      fault,
      taskId: this.ids.next(),
      ...(late.fileOutputs === undefined ? {} : { fileOutputs: late.fileOutputs }),
      createdAt: Math.floor(Date.now() / 1000),
    };
    ex.taskId = ctx.taskId;
    ex.appKey = app.key;
    ex.user = user;
    const answer = (): void => {
      if (mode === 'workflow') runWorkflow(ctx, late.missing, this.options.difyVersion);
      else runMessage(ctx, late.conversationId);
    };
    if (this.options.answerAsync && ctx.latencyMs === 0) setImmediate(answer);
    else answer();
  }

  /**
   * The token bucket, then Dify's concurrency limit; an admitted call holds a slot until it ends.
   * A streaming workflow call copies Dify's `rate_limit_context` bug (dify-api.md §5, issue #35895):
   * it counts itself twice, so it is refused once others hold N-1 slots, and it frees its slot when
   * its stream starts ({@link STREAM_SETUP_MS}) rather than when the run ends. Real 1.13.2 thus refuses
   * streaming calls more often than blocking ones at the same concurrency (README of ../shared/dify).
   */
  #admit(ex: Exchange, app: AppRuntime, streamingWorkflow: boolean): boolean {
    if (app.bucket !== undefined) {
      const wait = app.bucket.take(performance.now());
      if (wait > 0) {
        this.counters.rejectedRateLimit++;
        // Dify's /v1 sends no Retry-After (dify-api.md §5); the header is an opt-in knob.
        const headers = this.options.rateLimitRetryAfter ? { 'Retry-After': String(wait) } : undefined;
        sendError(ex, 429, 'too_many_requests', MSG.tooManyRequests, headers);
        return false;
      }
    }
    const limit = this.options.maxActiveRequests;
    if (limit > 0 && app.held >= (streamingWorkflow ? limit - 1 : limit)) {
      this.counters.rejectedConcurrency++;
      const status = this.options.concurrencyLimitStatus;
      const code = status === 429 ? 'too_many_requests' : 'invalid_param';
      sendError(ex, status, code, concurrencyLimitMessage(app.id, limit));
      return false;
    }
    app.held++;
    ex.slot = app;
    if (streamingWorkflow && limit > 0) {
      setTimeout(() => {
        if (ex.slot === app) {
          app.held--;
          ex.slot = undefined;
        }
      }, STREAM_SETUP_MS).unref();
    }
    return true;
  }

  /**
   * Checks Dify makes once the run has its slot: the workflow version, the conversation, the required
   * inputs (in streaming workflow mode those fail inside the run instead, reported as `missing`).
   */
  #lateChecks(
    ex: Exchange,
    app: AppRuntime,
    body: Record<string, unknown>,
    user: string,
    streaming: boolean,
    workflowId: string | undefined,
  ): { conversationId?: string; missing?: string; fileOutputs?: Record<string, unknown> } | undefined {
    if (workflowId !== undefined) {
      const id = pythonUuid(workflowId);
      if (id === undefined) {
        sendError(ex, 400, 'bad_request', `Invalid workflow_id format: '${workflowId}'. `);
        return undefined;
      }
      if (id !== app.workflowId.toLowerCase()) {
        sendError(ex, 404, 'not_found', `Workflow not found with id: ${workflowId}`);
        return undefined;
      }
    }
    const conversationId = app.app.mode === 'chat' ? (conversationIdOf(body) ?? undefined) : undefined;
    if (conversationId !== undefined) {
      const known = this.conversations.get(conversationId);
      if (known === undefined || known.appKey !== app.key || known.user !== user) {
        sendError(ex, 404, 'not_found', MSG.conversationNotFound);
        return undefined;
      }
    }
    const inputs = body.inputs as Record<string, unknown>;
    const missing = checkInputsAgainstForm(app.form, inputs);
    // Streaming workflow runs validate inside the worker, after the 200 (dify-api.md §4).
    if (missing !== undefined && !(streaming && app.app.mode === 'workflow')) {
      sendError(ex, 400, 'invalid_param', missing);
      return undefined;
    }
    const fileInputs = app.app.fileInputs;
    if (fileInputs === undefined || fileInputs.length === 0) return { conversationId, missing };
    const files = this.uploads.checkInputs(app, fileInputs, inputs);
    if ('error' in files) {
      sendError(ex, 400, 'invalid_param', files.error);
      return undefined;
    }
    return { conversationId, missing, fileOutputs: files.outputs };
  }

  /** Answers the faults that replace the run; `false` for those that shape the run's own answer. */
  #answerFault(ex: Exchange, fault: FaultKind): boolean {
    switch (fault) {
      case '429':
        sendError(
          ex,
          429,
          'too_many_requests',
          MSG.tooManyRequests,
          this.options.rateLimitRetryAfter
            ? { 'Retry-After': String(this.options.faultRetryAfterSeconds) }
            : undefined,
        );
        return true;
      case '500':
        sendError(ex, 500, 'internal_server_error', MSG.internalError);
        return true;
      case '502':
        ex.send(502, { 'Content-Type': 'text/html', Server: 'nginx' }, NGINX_502_HTML);
        return true;
      case 'reset':
        ex.reset();
        return true;
      case 'stall':
        ex.stall();
        return true;
      default:
        return false;
    }
  }

  /** The `__fault` hook if the input has one, else a seeded draw over the configured rates. */
  #drawFault(hook: unknown, call: number, streaming: boolean, mode: DifyAppKind): FaultKind | undefined {
    if (hook !== undefined) {
      const parsed = parseFaultHook(hook);
      return parsed !== undefined && call <= parsed.calls ? parsed.kind : undefined;
    }
    const table = this.#faultTable;
    if (table === undefined || call > this.options.faultsPerInputMax) return undefined;
    const u = this.#random.next();
    for (const [upTo, kind] of table) {
      if (u >= upTo) continue;
      // Stream faults need a stream; a failed run needs a workflow. Their share is then simply no fault.
      if ((kind === 'drop' || kind === 'error') && !streaming) return undefined;
      if (kind === 'failed' && mode !== 'workflow') return undefined;
      return kind;
    }
    return undefined;
  }
}
