import type { ServerResponse } from 'node:http';
import { afterEach } from 'vitest';
import type { DifyApiError } from '../../src/core/DifyApiError.js';
import { DifyClient, type DifyClientOptions } from '../../src/dify/DifyClient.js';
import type { DifyAppKind, DifyRequest, DifyResponseMode, DifyResult } from '../../src/dify/DifyRequest.js';
import { json, type Script, type SeenRequest, sse, startScriptedServer } from './scriptedServer.js';

/** A Dify-shaped app key, and one in no known format (so only the client's own scrubbing can hide it). */
export const APP_KEY = 'app-UnitTestSecretKey0000001';
export const ODD_KEY = 'sk-live-NotAnAppKeyButSecret42';

const workflowData = {
  id: 'R',
  workflow_id: 'W',
  status: 'succeeded',
  outputs: { result: 'hi' },
  error: null,
  elapsed_time: 0.05,
  total_tokens: 3,
  total_steps: 2,
  created_at: 1705407629,
  finished_at: 1705407630,
};
const usage = { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5, total_price: '0.001', latency: 0.5 };

/** Blocking bodies of dify-api.md §3. */
export const BLOCKING = {
  workflow: { task_id: 'T', workflow_run_id: 'R', data: workflowData },
  completion: {
    event: 'message',
    task_id: 'T',
    id: 'M',
    message_id: 'M',
    mode: 'completion',
    answer: 'Hello World',
    metadata: { annotation_reply: null, retriever_resources: [], usage },
    created_at: 1705407629,
  },
  chat: {
    event: 'message',
    task_id: 'T',
    id: 'M',
    message_id: 'M',
    conversation_id: 'C',
    mode: 'chat',
    answer: 'Hello World',
    metadata: { annotation_reply: null, retriever_resources: [], usage },
    created_at: 1705407629,
  },
} as const;

const message = (answer: string, conversation?: string) => ({
  event: 'message',
  ...(conversation ? { conversation_id: conversation } : {}),
  message_id: 'M',
  created_at: 1705407629,
  task_id: 'T',
  id: 'M',
  answer,
  from_variable_selector: null,
});
const messageEnd = (conversation?: string) => ({
  event: 'message_end',
  ...(conversation ? { conversation_id: conversation } : {}),
  message_id: 'M',
  created_at: 1705407629,
  task_id: 'T',
  id: 'M',
  metadata: { annotation_reply: null, retriever_resources: [], usage },
  files: null,
});

/** SSE frames of dify-api.md §4, the same runs as {@link BLOCKING}. */
export const STREAM = {
  workflow: [
    'ping',
    { event: 'workflow_started', workflow_run_id: 'R', task_id: 'T', data: { id: 'R', workflow_id: 'W' } },
    { event: 'node_started', workflow_run_id: 'R', task_id: 'T', data: { id: 'N1', node_type: 'start' } },
    {
      event: 'text_chunk',
      workflow_run_id: 'R',
      task_id: 'T',
      data: { text: 'h', from_variable_selector: null },
    },
    {
      event: 'text_chunk',
      workflow_run_id: 'R',
      task_id: 'T',
      data: { text: 'i', from_variable_selector: null },
    },
    {
      event: 'workflow_finished',
      workflow_run_id: 'R',
      task_id: 'T',
      data: { ...workflowData, exceptions_count: 0 },
    },
  ],
  completion: [message('Hello '), message('World'), messageEnd()],
  chat: [message('Hello ', 'C'), message('World', 'C'), messageEnd('C')],
} as const;

/** What both modes must return for {@link BLOCKING} / {@link STREAM}. */
export const EXPECTED: Record<DifyAppKind, DifyResult> = {
  workflow: {
    outputs: { result: 'hi' },
    workflowRunId: 'R',
    taskId: 'T',
    status: 'succeeded',
    elapsedTime: 0.05,
    totalTokens: 3,
  },
  completion: {
    outputs: { answer: 'Hello World' },
    taskId: 'T',
    messageId: 'M',
    elapsedTime: 0.5,
    totalTokens: 5,
  },
  chat: {
    outputs: { answer: 'Hello World' },
    taskId: 'T',
    messageId: 'M',
    conversationId: 'C',
    elapsedTime: 0.5,
    totalTokens: 5,
  },
};

const APP_OF_PATH: Record<string, DifyAppKind> = {
  '/v1/workflows/run': 'workflow',
  '/v1/completion-messages': 'completion',
  '/v1/chat-messages': 'chat',
};

/** A tiny happy Dify: answers each route with the fixtures, in the requested response mode. */
export function happyDify(req: SeenRequest, res: ServerResponse): void {
  const app = APP_OF_PATH[req.url] ?? (req.url.startsWith('/v1/workflows/') ? 'workflow' : undefined);
  if (app === undefined) {
    json(res, 404, { code: 'not_found', message: 'no route', status: 404 });
  } else if ((JSON.parse(req.body) as { response_mode?: string }).response_mode === 'streaming') {
    sse(res, STREAM[app]);
  } else {
    json(res, 200, BLOCKING[app]);
  }
}

/** A plain request for `app`; chat gets the `query` it needs. */
export const request = (
  app: DifyAppKind,
  responseMode: DifyResponseMode,
  extra: Partial<DifyRequest> = {},
): DifyRequest => ({
  app,
  inputs: { query: 'hi' },
  user: 'u-1',
  responseMode,
  ...(app === 'chat' ? { query: 'hello' } : {}),
  ...extra,
});

/**
 * Call at the top of a test file: `setup(script, options)` starts a scripted server and a client on it;
 * `defer(fn)` registers more cleanup. Everything is closed after each test.
 */
export function clientHarness() {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((fn) => fn()));
  });
  return {
    defer: (...fns: (() => Promise<void>)[]) => cleanups.push(...fns),
    setup: async (script: Script, options: Partial<DifyClientOptions> = {}) => {
      const server = await startScriptedServer(script);
      const client = new DifyClient({ baseUrl: server.url, apiKey: APP_KEY, ...options });
      cleanups.push(
        () => client.close(),
        () => server.close(),
      );
      return { server, client };
    },
  };
}

/** Runs the call and returns what it rejected with, and how long that took. */
export async function failure(call: Promise<unknown>): Promise<{ error: DifyApiError; ms: number }> {
  const start = performance.now();
  try {
    await call;
  } catch (error) {
    return { error: error as DifyApiError, ms: performance.now() - start };
  }
  throw new Error('expected the call to fail');
}
