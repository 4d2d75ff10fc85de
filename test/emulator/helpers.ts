import { request } from 'undici';

/** Raw HTTP helpers for the emulator tests: status, headers and the body text, nothing interpreted. */

export const WORKFLOW_KEY = 'app-EmulatorWorkflowKey00001';
export const COMPLETION_KEY = 'app-EmulatorCompletionKey001';
export const CHAT_KEY = 'app-EmulatorChatKey000000001';
export const WORKFLOW_APP_ID = '0e3b6a52-7c1d-4f0a-9b1e-5d2c8a4f1001';

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

export interface CallOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'HEAD' | 'OPTIONS';
  /** API key; `null` sends no Authorization header. */
  readonly key?: string | null;
  /** A raw Authorization header (wins over `key`). */
  readonly authorization?: string;
  /** `null` sends no Content-Type. */
  readonly contentType?: string | null;
  /** An object is sent as JSON; a string is sent as is. */
  readonly body?: unknown;
  readonly signal?: AbortSignal;
}

/** One request with undici; `base` is the emulator's `/v1` URL. */
export async function call(base: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = {};
  const authorization =
    options.authorization ?? (options.key === null ? undefined : `Bearer ${options.key ?? WORKFLOW_KEY}`);
  if (authorization !== undefined) headers.authorization = authorization;
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const response = await request(`${base}${path}`, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    signal: options.signal,
  });
  return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
}

/** A run call: `path` is `/workflows/run`, `/completion-messages` or `/chat-messages`. */
export function run(base: string, path: string, body: Record<string, unknown>, key?: string): Promise<Reply> {
  return call(base, path, { key: key ?? keyFor(path), body: { user: 'tester', ...body } });
}

export function keyFor(path: string): string {
  if (path.startsWith('/chat')) return CHAT_KEY;
  if (path.startsWith('/completion')) return COMPLETION_KEY;
  return WORKFLOW_KEY;
}

/** The SSE frames of a stream body, each without its trailing blank line. */
export function frames(sse: string): string[] {
  expectFramed(sse);
  return sse.split('\n\n').slice(0, -1);
}

function expectFramed(sse: string): void {
  if (!sse.endsWith('\n\n'))
    throw new Error(`stream does not end with a blank line: ${JSON.stringify(sse.slice(-80))}`);
}

/** The JSON payloads of the `data:` frames. */
export function dataEvents(sse: string): Record<string, unknown>[] {
  return frames(sse)
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => JSON.parse(frame.slice(6)) as Record<string, unknown>);
}

/** Dify's error body as flask-restx renders it. */
export function difyError(code: string, message: string, status: number): string {
  // Real 1.13.2 (flask-restx): compact, `/` as `\/`, non-ASCII as `\uXXXX`, a trailing newline.
  const text = JSON.stringify({ code, message, status })
    .replaceAll('/', '\\/')
    .replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `${text}\n`;
}
