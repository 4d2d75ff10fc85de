import type { RunRecord } from './appResources.js';
import { difyHeaders, errorBody, MSG } from './difyResponses.js';
import type { EmulatedDifyVersion } from './EmulatorOptions.js';
import type { AppRuntime, EmulatorServer } from './EmulatorServer.js';
import type { Exchange, PlanEnding } from './Exchange.js';
import { outputsFromCanonical, workflowOutputs } from './emulatedOutputs.js';
import {
  estimateTokens,
  type MessageUsage,
  type MessageView,
  messageBlockingBody,
  messageChunk,
  messageEnd,
  messageErrorEvent,
} from './messageResponses.js';
import type { FaultKind } from './parseFaultHook.js';
import { pyString } from './pyJson.js';
import {
  syntheticFailureEvents,
  WORKFLOW_STEPS,
  type WorkflowOutcome,
  type WorkflowView,
  workflowBlockingBody,
  workflowErrorEvent,
  workflowFinished,
  workflowStreamEvents,
} from './workflowResponses.js';

/**
 * Answers a run that passed every check: builds the deterministic answer, then writes it blocking or
 * streamed over the sampled latency, with the stream faults (drop, error, failed) applied.
 * Used by `EmulatorServer`.
 */

/** One accepted run, as `EmulatorServer` hands it over. */
export interface RunContext {
  readonly server: EmulatorServer;
  readonly ex: Exchange;
  readonly app: AppRuntime;
  readonly user: string;
  /** Inputs without the `__fault` hook. */
  readonly inputs: Record<string, unknown>;
  readonly canonical: string;
  readonly query: string;
  readonly streaming: boolean;
  readonly latencyMs: number;
  readonly fault: FaultKind | undefined;
  readonly taskId: string;
  /** Unix seconds. */
  readonly createdAt: number;
  /** File inputs as the End node returns them, by variable (apps with `fileInputs`). */
  readonly fileOutputs?: Record<string, unknown>;
}

const BLOCKING_TYPE = 'application/json; charset=utf-8';
const SSE_TYPE = 'text/event-stream; charset=utf-8';

/** Splits `text` into at most `n` consecutive pieces, never inside a surrogate pair. */
export function splitText(text: string, n: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 1; i <= n; i++) {
    let end = i === n ? text.length : Math.round((text.length * i) / n);
    if (end > 0 && end < text.length && /[\ud800-\udbff]/.test(text[end - 1]!)) end++;
    if (end > start) pieces.push(text.slice(start, end));
    start = Math.max(start, end);
  }
  return pieces;
}

/** Keeps the first half of a stream: what a client has seen when the connection drops or errors. */
function firstHalf(at: number[], parts: string[]): { at: number[]; parts: string[]; next: number } {
  const cut = Math.max(1, Math.floor(parts.length / 2));
  return { at: at.slice(0, cut), parts: parts.slice(0, cut), next: at[cut] ?? at[at.length - 1] ?? 0 };
}

/** Ends a blocking answer after the latency, or truncated half-way for a drop. */
function playBlocking(
  ex: Exchange,
  status: number,
  body: string,
  latencyMs: number,
  drop: boolean,
  onDone?: () => void,
): void {
  const headers = { ...difyHeaders(BLOCKING_TYPE), 'Content-Length': Buffer.byteLength(body) };
  if (drop) {
    const half = body.slice(0, Math.floor(body.length / 2));
    ex.play(status, headers, { at: [latencyMs / 2], parts: [half], ending: 'destroy', onDone });
  } else ex.play(status, headers, { at: [latencyMs], parts: [body], ending: 'end', onDone });
}

function finalise(record: RunRecord | undefined, o: WorkflowOutcome): void {
  if (record !== undefined) record.outcome = o;
}

/**
 * A workflow run. `inputProblem`: in streaming mode an input failed the form check (Dify's message):
 * 1.13 answers `event: ping` and then silence (the worker's ValueError is never published), 1.15 its
 * synthetic `workflow_started` + failed `workflow_finished` pair (dify-api.md §4).
 */
export function runWorkflow(
  ctx: RunContext,
  inputProblem?: string,
  version: EmulatedDifyVersion = '1.13',
): void {
  const missingInput = inputProblem;
  const { ex, app, latencyMs, fault } = ctx;
  const ids = ctx.server.ids;
  const runId = ids.next();
  const view: WorkflowView = {
    taskId: missingInput === undefined ? ctx.taskId : runId,
    runId,
    workflowId: app.workflowId,
    appId: app.id,
    user: ctx.user,
    appKey: app.key,
    createdAt: ctx.createdAt,
    inputs: ctx.inputs,
  };
  const failed = fault === 'failed' || (fault === 'error' && !ctx.streaming);
  const outputs =
    failed || missingInput !== undefined
      ? undefined
      : ctx.fileOutputs === undefined
        ? workflowOutputs(ctx.canonical)
        : { ...workflowOutputs(ctx.canonical), ...ctx.fileOutputs };
  const outcome: WorkflowOutcome =
    missingInput !== undefined
      ? {
          status: 'failed',
          outputs: {},
          error: missingInput,
          elapsedSeconds: 0,
          finishedAt: ctx.createdAt,
          totalSteps: 0,
        }
      : {
          status: failed || fault === 'error' ? 'failed' : 'succeeded',
          outputs: outputs ?? {},
          outputsPy:
            outputs === undefined || ctx.streaming || ctx.fileOutputs !== undefined
              ? undefined
              : `{"result": ${pyString(outputs.result)}, "checksum": "${outputs.checksum}"}`,
          error: failed ? MSG.injectedRunFailure : fault === 'error' ? MSG.injectedModelError : null,
          // Rounded to 0.1 ms: an instant emulated run reports 0.0, never a 1e-05-style repr.
          elapsedSeconds: Math.round((latencyMs + performance.now() - ex.startedAt) * 10) / 1e4,
          finishedAt: Math.floor((Date.now() + latencyMs) / 1000),
          totalSteps: failed ? WORKFLOW_STEPS - 1 : WORKFLOW_STEPS,
        };
  const immediate = latencyMs === 0 && fault === undefined;
  let record: RunRecord | undefined;
  if (ctx.server.runs.limit > 0) {
    record = { view, outcome: immediate || missingInput !== undefined ? outcome : undefined };
    ctx.server.runs.set(runId, record);
  }
  const onDone = immediate ? undefined : () => finalise(record, outcome);
  if (latencyMs > 0) {
    ex.stopper = (elapsedMs) => {
      const stopped: WorkflowOutcome = {
        status: 'stopped',
        outputs: {},
        error: MSG.stoppedByUser,
        elapsedSeconds: Math.round(elapsedMs * 1000) / 1e6,
        finishedAt: Math.floor(Date.now() / 1000),
        totalSteps: WORKFLOW_STEPS - 1,
      };
      finalise(record, stopped);
      if (ctx.streaming) ex.endWith(workflowFinished(view, stopped));
      else ex.send(200, difyHeaders(BLOCKING_TYPE), workflowBlockingBody(view, stopped));
    };
  }

  if (!ctx.streaming) {
    const body = workflowBlockingBody(view, outcome);
    if (immediate) ex.send(200, difyHeaders(BLOCKING_TYPE), body);
    else playBlocking(ex, 200, body, latencyMs, fault === 'drop', onDone);
    return;
  }
  if (missingInput !== undefined && version === '1.13') {
    // Real 1.13.2 closes after 300 s of silence; the emulator holds until the client gives up.
    ex.play(200, difyHeaders(SSE_TYPE), { at: [0], parts: ['event: ping\n\n'], ending: 'hold' });
    return;
  }
  if (missingInput !== undefined) {
    ex.play(200, difyHeaders(SSE_TYPE), {
      at: [0],
      parts: [syntheticFailureEvents(view, outcome)],
      ending: 'end',
    });
    return;
  }
  const text = failed ? '' : `${outcome.outputs.result}\n${outcome.outputs.checksum}`;
  const nodeRuns = [ids.next(), ids.next(), ids.next()] as const;
  let { at, parts } = workflowStreamEvents(view, outcome, latencyMs, nodeRuns, splitText(text, 3));
  let ending: PlanEnding = 'end';
  if (fault === 'drop' || fault === 'error') {
    const half = firstHalf(at, parts);
    ({ at, parts } = half);
    ending = fault === 'drop' ? 'destroy' : 'hold';
    if (fault === 'error') {
      // Dify 1.13: the error event, then silence until its 300 s idle close; clients must stop on `error`.
      at.push(half.next);
      parts.push(workflowErrorEvent(view, 'completion_request_error', 400, MSG.injectedModelError));
    }
  }
  ex.play(200, difyHeaders(SSE_TYPE), { at, parts, ending, onDone });
}

/** A completion or chat message. */
export function runMessage(ctx: RunContext, existingConversation: string | undefined): void {
  const { ex, app, latencyMs, fault } = ctx;
  const mode = app.app.mode === 'chat' ? 'chat' : 'completion';
  let conversationId: string | undefined;
  if (mode === 'chat') {
    conversationId = existingConversation ?? ctx.server.ids.next();
    ctx.server.conversations.set(conversationId, { appKey: app.key, user: ctx.user });
  }
  const view: MessageView = {
    mode,
    taskId: ctx.taskId,
    messageId: ctx.server.ids.next(),
    conversationId,
    createdAt: ctx.createdAt,
  };
  const { answer } = outputsFromCanonical(mode, ctx.canonical, ctx.query) as { answer: string };
  const usage: MessageUsage = {
    promptTokens: estimateTokens(ctx.query) + estimateTokens(ctx.canonical),
    completionTokens: estimateTokens(answer),
    latencySeconds: latencyMs / 1000,
  };
  const modelError = fault === 'error' || fault === 'failed';

  if (!ctx.streaming) {
    if (modelError) {
      const body = errorBody('completion_request_error', MSG.injectedModelError, 400);
      ex.play(
        400,
        { ...difyHeaders(), 'Content-Length': Buffer.byteLength(body) },
        { at: [latencyMs], parts: [body], ending: 'end' },
      );
      return;
    }
    const body = messageBlockingBody(view, answer, usage);
    if (latencyMs === 0 && fault === undefined) {
      ex.send(200, difyHeaders(BLOCKING_TYPE), body);
      return;
    }
    if (latencyMs > 0) {
      ex.stopper = (elapsedMs) => {
        const partial = answer.slice(0, Math.floor(answer.length * Math.min(1, elapsedMs / latencyMs)));
        ex.send(200, difyHeaders(BLOCKING_TYPE), messageBlockingBody(view, partial, usage));
      };
    }
    playBlocking(ex, 200, body, latencyMs, fault === 'drop');
    return;
  }

  const pieces = splitText(answer, 4);
  let at = pieces.map((_, i) => (latencyMs * (i + 1)) / pieces.length);
  let parts = pieces.map((piece) => messageChunk(view, piece));
  at.push(latencyMs);
  parts.push(messageEnd(view, usage));
  let ending: PlanEnding = 'end';
  if (fault !== undefined) {
    const half = firstHalf(at, parts);
    ({ at, parts } = half);
    if (fault === 'drop') ending = 'destroy';
    else {
      // Completion and chat run in-process: the pipeline breaks after `error` and the response closes.
      at.push(half.next);
      parts.push(messageErrorEvent(view, 'completion_request_error', 400, MSG.injectedModelError));
    }
  }
  if (latencyMs > 0) ex.stopper = () => ex.endWith(messageEnd(view, usage));
  ex.play(200, difyHeaders(SSE_TYPE), { at, parts, ending });
}
