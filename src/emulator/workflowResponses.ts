import { hashUuid } from './canonicalJson.js';
import { pyFloat, pyJson, pyString } from './pyJson.js';

/**
 * Builders of the workflow bodies and SSE events, key for key in Dify's order (`docs/dify-api.md` §3,
 * §4). Used by `EmulatorServer`. Blocking bodies use Python separators; SSE `data:` lines are compact.
 */

/** The ids and inputs of one emulated workflow run. */
export interface WorkflowView {
  readonly taskId: string;
  readonly runId: string;
  readonly workflowId: string;
  readonly appId: string;
  readonly user: string;
  /** The app key: with the user it names Dify's end user. */
  readonly appKey: string;
  /** Unix seconds. */
  readonly createdAt: number;
  /** The call's inputs without the `__fault` hook. */
  readonly inputs: Record<string, unknown>;
}

/** How a run ended, as `workflow_finished` and the blocking body report it. */
export interface WorkflowOutcome {
  readonly status: 'succeeded' | 'failed' | 'stopped';
  readonly outputs: Record<string, unknown>;
  /** `outputs` already in Python JSON, when the builder of the outcome had it cheaper. */
  readonly outputsPy?: string;
  readonly error: string | null;
  readonly elapsedSeconds: number;
  readonly finishedAt: number;
  readonly totalSteps: number;
}

// A Start → LLM → End graph: the smallest one whose stream has text chunks.
const NODES = [
  { id: '1711111111111', type: 'start', title: 'Start' },
  { id: '1711111111112', type: 'llm', title: 'LLM' },
  { id: '1711111111113', type: 'end', title: 'End' },
] as const;

/** The id of the end user Dify creates for an (app, user) pair; stable, so not stored. */
export function endUserId(v: WorkflowView): string {
  return hashUuid(`${v.appKey}\n${v.user}`);
}

/** Nodes a successful run executes (`total_steps`). */
export const WORKFLOW_STEPS = NODES.length;

export const PING = 'event: ping\n\n';

/** `POST /workflows/run` blocking body (`WorkflowAppBlockingResponse`). */
export function workflowBlockingBody(v: WorkflowView, o: WorkflowOutcome): string {
  return (
    `{"task_id": "${v.taskId}", "workflow_run_id": "${v.runId}", "data": {"id": "${v.runId}", ` +
    `"workflow_id": "${v.workflowId}", "status": "${o.status}", "outputs": ${o.outputsPy ?? pyJson(o.outputs)}, ` +
    `"error": ${o.error === null ? 'null' : pyString(o.error)}, "elapsed_time": ${pyFloat(o.elapsedSeconds)}, ` +
    `"total_tokens": 0, "total_steps": ${o.totalSteps}, "created_at": ${v.createdAt}, "finished_at": ${o.finishedAt}}}`
  );
}

/**
 * The run's inputs plus Dify's `sys.*` variables, as compact JSON. The Start node's own inputs and
 * outputs (and the stored run) also carry `sys.timestamp`, the run's start in Unix seconds; the
 * `workflow_started` event does not (seen on real 1.13.2; `SystemVariable.to_dict` in
 * `dify_graph/system_variable.py`).
 */
function inputsWithSystem(v: WorkflowView, timestamp = false): string {
  const system =
    `"sys.files":[],"sys.user_id":${JSON.stringify(v.user)},"sys.app_id":"${v.appId}",` +
    `"sys.workflow_id":"${v.workflowId}","sys.workflow_run_id":"${v.runId}"` +
    (timestamp ? `,"sys.timestamp":${v.createdAt}` : '');
  const own = JSON.stringify(v.inputs);
  return own.length === 2 ? `{${system}}` : `${own.slice(0, -1)},${system}}`;
}

/** The same inputs as `GET /workflows/run/{id}` stores them: a Python `json.dumps` string. */
export function storedRunInputs(v: WorkflowView): string {
  return pyJson({
    ...v.inputs,
    'sys.files': [],
    'sys.user_id': v.user,
    'sys.app_id': v.appId,
    'sys.workflow_id': v.workflowId,
    'sys.workflow_run_id': v.runId,
    'sys.timestamp': v.createdAt,
  });
}

function event(name: string, v: WorkflowView, data: string): string {
  return `data: {"event":"${name}","workflow_run_id":"${v.runId}","task_id":"${v.taskId}","data":${data}}\n\n`;
}

function workflowStarted(v: WorkflowView, inputs: string): string {
  return event(
    'workflow_started',
    v,
    `{"id":"${v.runId}","workflow_id":"${v.workflowId}","inputs":${inputs},"created_at":${v.createdAt},"reason":"initial"}`,
  );
}

function nodeHead(index: number, executionId: string): string {
  const node = NODES[index]!;
  const predecessor = index === 0 ? 'null' : `"${NODES[index - 1]!.id}"`;
  return (
    `{"id":"${executionId}","node_id":"${node.id}","node_type":"${node.type}","title":"${node.title}",` +
    `"index":${index + 1},"predecessor_node_id":${predecessor}`
  );
}

function nodeStarted(v: WorkflowView, index: number, executionId: string): string {
  return event(
    'node_started',
    v,
    `${nodeHead(index, executionId)},"inputs":null,"inputs_truncated":false,"created_at":${v.createdAt},` +
      '"extras":{},"iteration_id":null,"loop_id":null,"agent_strategy":null}',
  );
}

function nodeFinished(
  v: WorkflowView,
  index: number,
  executionId: string,
  io: { inputs: string; outputs: string; error: string | null; elapsedSeconds: number; finishedAt: number },
): string {
  const status = io.error === null ? 'succeeded' : 'failed';
  return event(
    'node_finished',
    v,
    `${nodeHead(index, executionId)},"inputs":${io.inputs},"inputs_truncated":false,"process_data":{},` +
      `"process_data_truncated":false,"outputs":${io.outputs},"outputs_truncated":false,"status":"${status}",` +
      `"error":${io.error === null ? 'null' : JSON.stringify(io.error)},"elapsed_time":${pyFloat(io.elapsedSeconds)},` +
      `"execution_metadata":null,"created_at":${v.createdAt},"finished_at":${io.finishedAt},"files":[],` +
      '"iteration_id":null,"loop_id":null}',
  );
}

/** `workflow_finished` (terminal). `createdBy` is `{}` on Dify's synthetic failure pair. */
export function workflowFinished(v: WorkflowView, o: WorkflowOutcome, createdBy?: string): string {
  const outputs = o.status === 'succeeded' ? JSON.stringify(o.outputs) : '{}';
  return event(
    'workflow_finished',
    v,
    `{"id":"${v.runId}","workflow_id":"${v.workflowId}","status":"${o.status}","outputs":${outputs},` +
      `"error":${o.error === null ? 'null' : JSON.stringify(o.error)},"elapsed_time":${pyFloat(o.elapsedSeconds)},` +
      `"total_tokens":0,"total_steps":${o.totalSteps},` +
      `"created_by":${createdBy ?? `{"id":"${endUserId(v)}","user":${JSON.stringify(v.user)}}`},` +
      `"created_at":${v.createdAt},"finished_at":${o.finishedAt},"exceptions_count":${o.status === 'failed' ? 1 : 0},` +
      '"files":[]}',
  );
}

/** An `error` event: no `task_id`, `code`/`status`/`message` after the run id. */
export function workflowErrorEvent(v: WorkflowView, code: string, status: number, message: string): string {
  return `data: {"event":"error","workflow_run_id":"${v.runId}","code":"${code}","status":${status},"message":${JSON.stringify(message)}}\n\n`;
}

/**
 * The timed events of one streamed run: `at` holds each event's offset in ms. The ping and the
 * graph's first events go out at once, text chunks spread over the run, terminal events at `latencyMs`.
 */
export function workflowStreamEvents(
  v: WorkflowView,
  o: WorkflowOutcome,
  latencyMs: number,
  executionIds: readonly [string, string, string],
  textPieces: readonly string[],
): { at: number[]; parts: string[] } {
  const inputs = inputsWithSystem(v);
  const startNode = inputsWithSystem(v, true);
  const at = [0, 0, 0, 0, 0];
  const parts = [
    PING,
    workflowStarted(v, inputs),
    nodeStarted(v, 0, executionIds[0]),
    nodeFinished(v, 0, executionIds[0], {
      inputs: startNode,
      outputs: startNode,
      error: null,
      elapsedSeconds: 0.001,
      finishedAt: v.createdAt,
    }),
    nodeStarted(v, 1, executionIds[1]),
  ];
  if (o.status === 'failed') {
    const io = {
      inputs: 'null',
      outputs: 'null',
      error: o.error,
      elapsedSeconds: o.elapsedSeconds,
      finishedAt: o.finishedAt,
    };
    at.push(latencyMs, latencyMs);
    parts.push(nodeFinished(v, 1, executionIds[1], io), workflowFinished(v, o));
    return withPings(at, parts, latencyMs);
  }
  const text = textPieces.join('');
  textPieces.forEach((piece, i) => {
    at.push((latencyMs * (i + 2)) / (textPieces.length + 2));
    parts.push(
      event(
        'text_chunk',
        v,
        `{"text":${JSON.stringify(piece)},"from_variable_selector":["${NODES[1].id}","text"]}`,
      ),
    );
  });
  const outputs = JSON.stringify(o.outputs);
  const done = { error: null, elapsedSeconds: o.elapsedSeconds, finishedAt: o.finishedAt };
  at.push(latencyMs, latencyMs, latencyMs, latencyMs);
  parts.push(
    nodeFinished(v, 1, executionIds[1], {
      inputs: 'null',
      outputs: `{"text":${JSON.stringify(text)}}`,
      ...done,
    }),
    nodeStarted(v, 2, executionIds[2]),
    nodeFinished(v, 2, executionIds[2], { inputs: outputs, outputs, ...done }),
    workflowFinished(v, o),
  );
  return withPings(at, parts, latencyMs);
}

/** Dify's worker pings every 10 s of run time: long runs get a ping between their events. */
function withPings(at: number[], parts: string[], latencyMs: number): { at: number[]; parts: string[] } {
  for (let t = 10_000; t < latencyMs; t += 10_000) {
    const i = at.findIndex((when) => when > t);
    at.splice(i, 0, t);
    parts.splice(i, 0, PING);
  }
  return { at, parts };
}

/**
 * Dify 1.15's synthetic terminal pair for a run that fails before it starts (e.g. a missing required
 * input in streaming mode): `task_id` is the run id and `created_by` is `{}`.
 */
export function syntheticFailureEvents(v: WorkflowView, o: WorkflowOutcome): string {
  return PING + workflowStarted(v, inputsWithSystem(v)) + workflowFinished(v, o, '{}');
}
