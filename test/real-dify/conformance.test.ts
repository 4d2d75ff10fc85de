/**
 * Conformance: the same requests to the real Dify 1.13.2 and to the emulator (configured as the same
 * Start→End app), compared on what a client reads: status, `code`, `message`, the headers a client
 * reads, body framing and the SSE frame sequence. Every difference is either fixed in the emulator or
 * listed in KNOWN_DIFFERENCES with its reason; a listed difference that disappears fails the test too,
 * so the list stays true.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { realDify } from './realDify.js';

const dify = realDify();
const EMULATED_KEY = 'app-ConformanceEcho0000000001';
const EMULATED_KEY_256 = 'app-ConformanceEcho0000000256';
let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({
    apps: [
      {
        key: EMULATED_KEY,
        mode: 'workflow',
        inputForm: [{ type: 'text-input', variable: 'query', required: true }],
      },
      {
        key: EMULATED_KEY_256,
        mode: 'workflow',
        inputForm: [{ type: 'text-input', variable: 'query', required: true, maxLength: 256 }],
      },
      { key: 'app-ConformanceCompletion0001', mode: 'completion' },
    ],
  });
});
afterAll(() => emulator?.close());

type Key = 'echo' | 'echo256' | 'none' | 'unknown';

/** One request, sent alike to both servers. */
interface Case {
  readonly name: string;
  readonly method?: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly key?: Key;
  /** Replaces the Authorization header. */
  readonly authorization?: string;
  readonly contentType?: string;
  /** A string is sent as is; an object as JSON. */
  readonly body?: string | object;
  /** Streaming: compare only the frames that arrive within this time (then hang up). */
  readonly listenMs?: number;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const RUN = { user: 'conformance', response_mode: 'blocking' };

const CASES: readonly Case[] = [
  { name: 'no Authorization header', path: '/workflows/run', key: 'none', body: { inputs: {}, ...RUN } },
  { name: 'Basic scheme', path: '/workflows/run', authorization: 'Basic abc', body: { inputs: {}, ...RUN } },
  { name: 'unknown key', path: '/workflows/run', key: 'unknown', body: { inputs: {}, ...RUN } },
  { name: 'text/plain body', path: '/workflows/run', contentType: 'text/plain', body: '{}' },
  { name: 'invalid JSON', path: '/workflows/run', body: '{"inputs": ' },
  { name: 'empty body', path: '/workflows/run', body: '' },
  { name: 'lone surrogate', path: '/workflows/run', body: '{"inputs":{"query":"\\ud800"},"user":"u"}' },
  { name: 'body is a list', path: '/workflows/run', body: '[1, 2]' },
  { name: 'no user', path: '/workflows/run', body: { inputs: { query: 'x' } } },
  { name: 'no inputs', path: '/workflows/run', body: { user: 'u' } },
  {
    name: 'bad response_mode',
    path: '/workflows/run',
    body: { inputs: {}, user: 'u', response_mode: 'fast' },
  },
  { name: 'query is a number', path: '/workflows/run', body: { inputs: { query: 42 }, ...RUN } },
  { name: 'query missing', path: '/workflows/run', body: { inputs: {}, ...RUN } },
  { name: 'query null', path: '/workflows/run', body: { inputs: { query: null }, ...RUN } },
  {
    name: 'query over max_length',
    path: '/workflows/run',
    key: 'echo256',
    body: { inputs: { query: 'z'.repeat(257) }, ...RUN },
  },
  { name: 'chat route, workflow key', path: '/chat-messages', body: { inputs: {}, query: 'q', ...RUN } },
  { name: 'completion route, workflow key', path: '/completion-messages', body: { inputs: {}, ...RUN } },
  {
    name: 'run detail, unknown id',
    method: 'GET',
    path: '/workflows/run/00000000-0000-4000-8000-000000000000',
  },
  { name: 'POST to the run-detail route', path: '/workflows/run/batch', body: { inputs: {}, user: 'u' } },
  { name: 'PUT /workflows/run', method: 'PUT', path: '/workflows/run', body: {} },
  { name: 'unknown path', method: 'GET', path: '/workflows/runs' },
  { name: 'GET /', method: 'GET', path: '/', key: 'none' },
  { name: 'GET /parameters', method: 'GET', path: '/parameters', key: 'echo256' },
  { name: 'GET /info', method: 'GET', path: '/info' },
  { name: 'stop an unknown task', path: '/workflows/tasks/no-such-task/stop', body: { user: 'u' } },
  { name: 'blocking run', path: '/workflows/run', body: { inputs: { query: 'héllo/ok' }, ...RUN } },
  {
    name: 'streaming run',
    path: '/workflows/run',
    body: { inputs: { query: 'hi' }, user: 'u', response_mode: 'streaming' },
    listenMs: 5_000,
  },
  {
    name: 'streaming run, query a number',
    path: '/workflows/run',
    body: { inputs: { query: 42 }, user: 'u', response_mode: 'streaming' },
    listenMs: 1_500,
  },
  { name: 'workflow logs', method: 'GET', path: '/workflows/logs?limit=1' },
];

/**
 * Differences kept on purpose: case name → field → reason. Fields: status, code, message, headers,
 * framing, frames, keys.
 */
const KNOWN_DIFFERENCES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'GET /': {
    status:
      'The welcome route (`GET /v1/`) is newer than 1.13.2, which answers Flask’s HTML 404; the emulator follows 1.15 here.',
    headers: 'Follows from the status: JSON welcome vs HTML 404.',
    framing: 'Follows from the status: JSON welcome vs HTML 404.',
    keys: 'Follows from the status: JSON welcome vs HTML 404.',
  },
  'streaming run': {
    frames:
      'The app graph differs by design: the emulated workflow is Start→LLM→End with outputs that are the emulator’s deterministic function (3 nodes, several text_chunk events); the real echo app is Start→End.',
  },
  'GET /info': {
    keys: 'Same keys; listed for the name and author, which differ by design.',
  },
};

interface Observed {
  status: number;
  code?: unknown;
  message?: unknown;
  headers: Record<string, string | undefined>;
  framing: string;
  frames?: string[];
  keys?: string;
}

function keyFor(c: Case, real: boolean): string | undefined {
  switch (c.key ?? 'echo') {
    case 'none':
      return undefined;
    case 'unknown':
      return 'app-NoSuchKeyAnywhere0000001';
    case 'echo256':
      return real ? dify.key256 : EMULATED_KEY_256;
    default:
      return real ? dify.key : EMULATED_KEY;
  }
}

/** How the body is laid out, independent of its values. */
function framingOf(contentType: string, text: string): string {
  if (contentType.startsWith('text/html')) return 'html';
  if (contentType.startsWith('text/event-stream')) return 'sse';
  if (text === '') return 'empty';
  const newline = text.endsWith('\n') ? '+newline' : '';
  const spaced = /^\{"[^"]*": /.test(text) ? 'python-separators' : 'compact';
  const slash = /\\\//.test(text)
    ? '+escaped-slash'
    : /\//.test(text) && /"[^"]*\/[^"]*"/.test(text)
      ? '+raw-slash'
      : '';
  return `json:${spaced}${newline}${slash}`;
}

async function observe(c: Case, real: boolean): Promise<Observed> {
  const base = real ? dify.baseUrl : emulator.url;
  const key = keyFor(c, real);
  const headers: Record<string, string> = {};
  if (c.authorization !== undefined) headers.authorization = c.authorization;
  else if (key !== undefined) headers.authorization = `Bearer ${key}`;
  if (c.body !== undefined) headers['content-type'] = c.contentType ?? 'application/json';
  const controller = new AbortController();
  const answer = await request(`${base}${c.path}`, {
    method: c.method ?? 'POST',
    headers,
    ...(c.body === undefined ? {} : { body: typeof c.body === 'string' ? c.body : JSON.stringify(c.body) }),
    signal: controller.signal,
  });
  let text = '';
  if (c.listenMs === undefined) text = await answer.body.text();
  else {
    const timer = setTimeout(() => controller.abort(), c.listenMs);
    try {
      for await (const chunk of answer.body) {
        text += chunk.toString();
        if (/"event":"workflow_finished"/.test(text)) break;
      }
    } catch {
      // Hung up after listenMs: the frames so far are what is compared.
    } finally {
      clearTimeout(timer);
    }
  }
  const contentType = String(answer.headers['content-type'] ?? '');
  const seen: Observed = {
    status: answer.statusCode,
    headers: {
      'content-type': contentType,
      'www-authenticate': answer.headers['www-authenticate'] as string | undefined,
      'retry-after': answer.headers['retry-after'] as string | undefined,
      allow: answer.headers.allow as string | undefined,
      'x-version': answer.headers['x-version'] as string | undefined,
    },
    framing: framingOf(contentType, text),
  };
  if (contentType.startsWith('text/event-stream')) {
    seen.frames = text
      .split('\n\n')
      .filter((f) => f !== '')
      .map((f) => (f.startsWith('data: ') ? String((JSON.parse(f.slice(6)) as { event: string }).event) : f));
  } else if (contentType.startsWith('application/json') && text !== '') {
    const body = JSON.parse(text) as Record<string, unknown>;
    if ('code' in body) seen.code = body.code;
    if ('message' in body) seen.message = String(body.message).replace(UUID, '<uuid>');
    const data = (body.data ?? undefined) as Record<string, unknown> | unknown[] | undefined;
    const item = Array.isArray(data) ? data[0] : data;
    seen.keys = JSON.stringify({
      top: Object.keys(body),
      ...(item && typeof item === 'object' ? { data: Object.keys(item as object) } : {}),
      ...(c.path === '/workflows/logs?limit=1' && Array.isArray(data) && data[0]
        ? { workflow_run: Object.keys((data[0] as { workflow_run: object }).workflow_run) }
        : {}),
      ...(body.outputs && typeof body.outputs === 'object' ? { outputs: Object.keys(body.outputs) } : {}),
      ...(c.path === '/parameters' ? { form: body.user_input_form } : {}),
      ...(c.path === '/info' ? { mode: body.mode, name: body.name } : {}),
    });
  }
  return seen;
}

const FIELDS = ['status', 'code', 'message', 'headers', 'framing', 'frames', 'keys'] as const;

describe('real Dify 1.13.2 and the emulator answer alike', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    if (c.name === 'workflow logs') {
      // Both servers need a run to list.
      await observe(
        { name: 'seed', path: '/workflows/run', body: { inputs: { query: 'seed' }, ...RUN } },
        true,
      );
      await observe(
        { name: 'seed', path: '/workflows/run', body: { inputs: { query: 'seed' }, ...RUN } },
        false,
      );
    }
    const [real, emulated] = await Promise.all([observe(c, true), observe(c, false)]);
    const known = KNOWN_DIFFERENCES[c.name] ?? {};
    for (const field of FIELDS) {
      const a = JSON.stringify(real[field]);
      const b = JSON.stringify(emulated[field]);
      if (field in known) {
        expect(
          b,
          `${c.name}: ${field} is listed as different but now matches; remove it from the list`,
        ).not.toBe(a);
      } else {
        expect({ case: c.name, field, value: b }).toEqual({ case: c.name, field, value: a });
      }
    }
  });

  it('lists its remaining differences with their reasons', () => {
    const lines = Object.entries(KNOWN_DIFFERENCES).flatMap(([name, fields]) =>
      Object.entries(fields).map(([field, reason]) => `- ${name} / ${field}: ${reason}`),
    );
    process.stderr.write(`conformance, remaining differences:\n${lines.join('\n')}\n`);
    for (const name of Object.keys(KNOWN_DIFFERENCES)) expect(CASES.map((c) => c.name)).toContain(name);
  });
});
