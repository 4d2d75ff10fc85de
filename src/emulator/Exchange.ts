import { IncomingMessage, type OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { EmulatorCounters } from './EmulatorCounters.js';

/** What happens after the last timed part of a response: Dify closes, a proxy drops, or Dify 1.13 falls silent. */
export type PlanEnding = 'end' | 'destroy' | 'hold';

/** A response written over time: `parts[i]` goes out `at[i]` ms after the plan starts. */
export interface ResponsePlan {
  readonly at: readonly number[];
  readonly parts: readonly string[];
  readonly ending: PlanEnding;
  /**
   * Runs once the last part is written (the run record becomes final), or when the last part would
   * have been written if the client went away first: Dify's worker keeps running a run whose client
   * disconnected, so its `GET /workflows/run/{id}` detail still ends `succeeded`.
   */
  readonly onDone?: () => void;
}

/** The server-side state an exchange reports to. */
export interface ExchangeHost {
  /** Routes a request whose body is complete. */
  dispatch(exchange: Exchange): void;
  readonly counters: EmulatorCounters;
  /** Exchanges that outlive their request handler (timers, stalls, silent streams). */
  readonly live: Set<Exchange>;
  /** Running tasks by `task_id`, for the stop endpoints. */
  readonly tasks: Map<string, Exchange>;
  /** The `X-Version` header, sent on every answer as real Dify does. */
  readonly xVersion: string;
}

/** `http.createServer`'s request class, carrying its exchange so listeners need no closures. */
export class EmulatorRequest extends IncomingMessage {
  exchange: Exchange | undefined;
}

/** `http.createServer`'s response class, carrying its exchange so listeners need no closures. */
export class EmulatorResponse extends ServerResponse<EmulatorRequest> {
  exchange: Exchange | undefined;
}

function stepExchange(exchange: Exchange): void {
  exchange.step();
}

function onResponseClose(this: EmulatorResponse): void {
  this.exchange?.finish();
}

/**
 * One request and its response: body collection, status counting, the concurrency slot it holds,
 * and the timed writing of delayed and streamed answers. Used by `EmulatorServer`.
 *
 * A call is "in flight" (`active`) from the moment its body has arrived until its response has ended
 * or its connection has closed; rejected calls never take a slot.
 */
export class Exchange {
  readonly host: ExchangeHost;
  readonly req: EmulatorRequest;
  readonly res: EmulatorResponse;
  #body: Buffer | undefined;
  #moreBody: Buffer[] | undefined;
  #began = false;
  #finished = false;
  #async = false;
  /** Monotonic ms when the request was complete. */
  startedAt = 0;
  /** The app whose concurrency slot this call holds. */
  slot: { held: number } | undefined;
  /** Set on runs, for the stop endpoints. */
  taskId: string | undefined;
  appKey: string | undefined;
  user: string | undefined;
  /** Ends a running task early (`Stopped by user.`); cleared when the run ends. */
  stopper: ((elapsedMs: number) => void) | undefined;
  #plan: ResponsePlan | undefined;
  /** Status and headers not written yet: they leave with the first part, like a WSGI server's. */
  #head: [number, OutgoingHttpHeaders] | undefined;
  #index = 0;
  #t0 = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(host: ExchangeHost, req: EmulatorRequest, res: EmulatorResponse) {
    this.host = host;
    this.req = req;
    this.res = res;
    req.exchange = this;
    res.exchange = this;
  }

  addChunk(chunk: Buffer): void {
    if (this.#body === undefined) this.#body = chunk;
    else if (this.#moreBody === undefined) this.#moreBody = [chunk];
    else this.#moreBody.push(chunk);
  }

  /**
   * A request header (the first, like Node for `authorization` and `content-type`), read from
   * `rawHeaders` so Node never builds its lazy `headers` object.
   */
  header(lowerCaseName: string): string | undefined {
    const raw = this.req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      if (name.length === lowerCaseName.length && name.toLowerCase() === lowerCaseName) return raw[i + 1];
    }
    return undefined;
  }

  /** The whole request body (uploads: multipart bytes). */
  bodyBuffer(): Buffer {
    const body = this.#body;
    if (body === undefined) return Buffer.alloc(0);
    return this.#moreBody === undefined ? body : Buffer.concat([body, ...this.#moreBody]);
  }

  bodyText(): string {
    const body = this.#body;
    if (body === undefined) return '';
    return this.#moreBody === undefined
      ? body.toString('utf8')
      : Buffer.concat([body, ...this.#moreBody]).toString('utf8');
  }

  /** Counts the call as in flight. */
  begin(): void {
    this.#began = true;
    this.startedAt = performance.now();
    this.host.counters.begin();
  }

  writeHead(status: number, headers: OutgoingHttpHeaders): void {
    // Only Service API calls count; the `/_emulator/*` control endpoints never begin().
    if (this.#began) this.host.counters.status(status);
    headers['X-Version'] = this.host.xVersion;
    this.res.writeHead(status, headers);
  }

  #flushHead(): void {
    const head = this.#head;
    if (head === undefined) return;
    this.#head = undefined;
    this.writeHead(head[0], head[1]);
  }

  /** A complete response, now (replacing a played one that has not started). */
  send(status: number, headers: OutgoingHttpHeaders, body: string): void {
    this.#head = undefined;
    headers['Content-Length'] = Buffer.byteLength(body);
    this.writeHead(status, headers);
    this.res.end(body);
    this.finish();
  }

  /** Keeps the exchange alive after its handler returns, until the response ends or the socket closes. */
  #goAsync(): void {
    if (this.#async) return;
    this.#async = true;
    this.res.once('close', onResponseClose);
    this.host.live.add(this);
    if (this.taskId !== undefined) this.host.tasks.set(this.taskId, this);
  }

  /** Never answers; the call stays in flight until the client or `close()` ends the connection. */
  stall(): void {
    this.#goAsync();
  }

  /** Resets the TCP connection before any byte of a response. */
  reset(): void {
    this.req.socket.resetAndDestroy();
    this.finish();
  }

  /**
   * Writes `plan.parts` on schedule, the status and headers with the first of them. A plan whose parts
   * are all due now is written in one go, with no timer.
   */
  play(status: number, headers: OutgoingHttpHeaders, plan: ResponsePlan): void {
    this.#plan = plan;
    this.#index = 0;
    this.#t0 = performance.now();
    this.#head = [status, headers];
    if (plan.ending !== 'end' || (plan.at[plan.at.length - 1] ?? 0) > 0) this.#goAsync();
    this.step();
  }

  /** Writes every part that is due, then schedules the next one or applies the plan's ending. */
  step(): void {
    const plan = this.#plan;
    if (plan === undefined) return;
    const elapsed = performance.now() - this.#t0;
    const { at, parts } = plan;
    let i = this.#index;
    let chunk = '';
    // 1 ms of slack: timers fire on the event loop's coarse clock.
    while (i < parts.length && at[i]! <= elapsed + 1) chunk += parts[i++];
    this.#index = i;
    if (chunk !== '' || i === parts.length) this.#flushHead();
    if (i < parts.length) {
      if (chunk !== '') this.res.write(chunk);
      this.#timer = setTimeout(stepExchange, at[i]! - elapsed, this);
      return;
    }
    this.#plan = undefined;
    this.stopper = undefined;
    if (this.taskId !== undefined) this.host.tasks.delete(this.taskId);
    plan.onDone?.();
    if (plan.ending === 'end') {
      this.res.end(chunk);
      this.finish();
    } else if (plan.ending === 'destroy') {
      const socket = this.req.socket;
      // Let the partial answer reach the client before the connection goes.
      if (chunk === '') socket.destroy();
      else this.res.write(chunk, () => socket.destroy());
    } else if (chunk !== '') {
      this.res.write(chunk);
    }
  }

  /** The stop endpoint: ends a running task now through its stopper. */
  stop(): void {
    const stopper = this.stopper;
    if (stopper === undefined || this.#finished) return;
    clearTimeout(this.#timer);
    this.#plan = undefined;
    this.stopper = undefined;
    if (this.taskId !== undefined) this.host.tasks.delete(this.taskId);
    stopper(performance.now() - this.startedAt);
  }

  /** Writes the rest of a started stream after a stop and ends it. */
  endWith(chunk: string): void {
    this.#flushHead();
    this.res.end(chunk);
    this.finish();
  }

  /** Leaves the in-flight set: called once the response has ended or the connection has closed. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const unfinished = this.#plan;
    this.#plan = undefined;
    if (unfinished?.onDone !== undefined) {
      // The client left mid-run; the run itself goes on to its scheduled end (see ResponsePlan.onDone).
      const due = (unfinished.at[unfinished.at.length - 1] ?? 0) - (performance.now() - this.#t0);
      setTimeout(unfinished.onDone, Math.max(0, due)).unref();
    }
    if (this.#began) this.host.counters.active--;
    if (this.slot !== undefined) this.slot.held--;
    if (this.#async) {
      this.host.live.delete(this);
      if (this.taskId !== undefined && this.host.tasks.get(this.taskId) === this)
        this.host.tasks.delete(this.taskId);
    }
  }

  /** Drops pending timers; `close()` calls this before destroying the sockets. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#plan = undefined;
    this.stopper = undefined;
  }
}
