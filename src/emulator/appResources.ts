import { UPLOAD_LIMITS_MB } from './EmulatedUploads.js';
import { type EmulatedApp, inputFormOf } from './EmulatorOptions.js';
import { restxJson } from './pyJson.js';
import { endUserId, storedRunInputs, type WorkflowOutcome, type WorkflowView } from './workflowResponses.js';

/**
 * Bodies of the app's read-only resources (`/parameters`, `/info`, `/site`, run detail, logs), rendered
 * like flask-restx (Python separators, trailing newline). Used by `EmulatorServer`.
 */

/** A workflow run the emulator made, for `GET /workflows/run/{id}` and `/workflows/logs`. */
export interface RunRecord {
  readonly view: WorkflowView;
  /** `undefined` while the run is running. */
  outcome: WorkflowOutcome | undefined;
}

/** How a run still running shows. */
const RUNNING = Object.freeze({
  status: 'running',
  outputs: Object.freeze({}),
  error: null,
  elapsedSeconds: 0,
  finishedAt: null,
  totalSteps: 0,
});

/** `GET /parameters` as real 1.13.2 answers it for a Start→End workflow; the app's form is the `user_input_form`. */
export function appParametersBody(app: EmulatedApp): string {
  const files = (app.fileInputs ?? []).map((f) => ({
    [f.type]: {
      variable: f.variable,
      label: f.variable,
      type: f.type,
      required: f.required ?? false,
      max_length: f.type === 'file-list' ? (f.maxLength ?? 5) : null,
      options: [],
      allowed_file_types: f.allowedFileTypes ?? ['document', 'image'],
      allowed_file_extensions: f.allowedFileExtensions ?? [],
      allowed_file_upload_methods: f.allowedFileUploadMethods ?? ['local_file', 'remote_url'],
    },
  }));
  const form = inputFormOf(app).map((field) => ({
    [field.type]: {
      variable: field.variable,
      label: field.variable,
      type: field.type,
      required: field.required,
      max_length: field.maxLength ?? null,
      options: field.options ?? [],
    },
  }));
  return `${restxJson({
    opening_statement: '',
    suggested_questions: [],
    suggested_questions_after_answer: { enabled: false },
    speech_to_text: { enabled: false },
    text_to_speech: { enabled: false, language: '', voice: '' },
    retriever_resource: { enabled: false },
    annotation_reply: { enabled: false },
    more_like_this: { enabled: false },
    user_input_form: [...form, ...files],
    sensitive_word_avoidance: { enabled: false },
    file_upload: { enabled: false },
    system_parameters: {
      image_file_size_limit: UPLOAD_LIMITS_MB.image,
      video_file_size_limit: UPLOAD_LIMITS_MB.video,
      audio_file_size_limit: UPLOAD_LIMITS_MB.audio,
      file_size_limit: UPLOAD_LIMITS_MB.document,
      workflow_file_upload_limit: 10,
    },
  })}\n`;
}

function appName(app: EmulatedApp): string {
  return app.name ?? `Emulated ${app.mode} app`;
}

/** `GET /info`. */
export function appInfoBody(app: EmulatedApp): string {
  return `${restxJson({ name: appName(app), description: '', tags: [], mode: app.mode, author_name: 'dify-batch' })}\n`;
}

/** `GET /site`. */
export function appSiteBody(app: EmulatedApp): string {
  return `${restxJson({
    title: appName(app),
    chat_color_theme: null,
    chat_color_theme_inverted: false,
    icon_type: 'emoji',
    icon: '🤖',
    icon_background: '#FFEAD5',
    icon_url: null,
    description: null,
    copyright: null,
    privacy_policy: null,
    custom_disclaimer: '',
    default_language: 'en-US',
    show_workflow_steps: true,
    use_icon_as_answer_icon: false,
  })}\n`;
}

/** `GET /workflows/run/{id}`: `inputs` is a JSON string, as Dify stores it in a text column. */
export function runDetailBody(run: RunRecord): string {
  const v = run.view;
  const o = run.outcome ?? RUNNING;
  return `${restxJson({
    id: v.runId,
    workflow_id: v.workflowId,
    status: o.status,
    inputs: storedRunInputs(v),
    outputs: o.outputs,
    error: o.error,
    total_steps: o.totalSteps,
    total_tokens: 0,
    created_at: v.createdAt,
    finished_at: o.finishedAt,
    elapsed_time: o.elapsedSeconds,
  })}
`;
}

function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const n = Number.parseInt(params.get(name) ?? '', 10);
  return Number.isFinite(n) ? Math.min(max, Math.max(1, n)) : fallback;
}

/**
 * `GET /workflows/logs`: the app's remembered runs, newest first, filtered by `status`; a completion or
 * chat app answers 200 with an empty list, as the real server does.
 */
export function workflowLogsBody(
  runs: { values(): Iterable<RunRecord> },
  appKey: string,
  params: URLSearchParams,
): string {
  const page = intParam(params, 'page', 1, 99_999);
  const limit = intParam(params, 'limit', 20, 100);
  const status = params.get('status');
  const mine = [...runs.values()]
    .filter((r) => r.view.appKey === appKey && (status === null || (r.outcome ?? RUNNING).status === status))
    .reverse();
  const data = mine.slice((page - 1) * limit, page * limit).map((run) => {
    const v = run.view;
    const o = run.outcome ?? RUNNING;
    return {
      id: v.taskId,
      workflow_run: {
        id: v.runId,
        version: v.workflowId,
        status: o.status,
        triggered_from: 'app-run',
        error: o.error,
        elapsed_time: o.elapsedSeconds,
        total_tokens: 0,
        total_steps: o.totalSteps,
        created_at: v.createdAt,
        finished_at: o.finishedAt,
        exceptions_count: 0,
      },
      details: null,
      created_from: 'service-api',
      created_by_role: 'end_user',
      created_by_account: null,
      created_by_end_user: { id: endUserId(v), type: 'service-api', is_anonymous: false, session_id: v.user },
      created_at: v.createdAt,
    };
  });
  return `${restxJson({ page, limit, total: mine.length, has_more: page * limit < mine.length, data })}
`;
}
