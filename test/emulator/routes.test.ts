import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import {
  CHAT_KEY,
  COMPLETION_KEY,
  call,
  dataEvents,
  difyError,
  frames,
  run,
  WORKFLOW_APP_ID,
  WORKFLOW_KEY,
} from './helpers.js';

let emulator: Emulator;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator();
  base = emulator.url;
});
afterAll(() => emulator.close());
beforeEach(() => {
  emulator.configure({ apps: EMULATOR_DEFAULT_APPS });
});

const AUTH_MISSING = difyError(
  'unauthorized',
  "Authorization header must be provided and start with 'Bearer'",
  401,
);

describe('routing', () => {
  it('GET /v1/ answers the welcome without a key', async () => {
    const reply = await call(base, '/', { key: null });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.text).toBe('{"welcome":"Dify OpenAPI","api_version":"v1","server_version":"1.15.0"}\n');
  });

  it('an unknown path gets Flask’s HTML 404, even with a valid key', async () => {
    const reply = await call(base, '/workflows/runs');
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(reply.text).toBe(
      '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n' +
        '<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n',
    );
    expect((await call(base.replace('/v1', ''), '/console/api', { key: null })).status).toBe(404);
  });

  it('sends X-Version on every answer, as the emulated Dify version names it (real 1.13.2: "1.13.2")', async () => {
    const answers = [
      await call(base, '/workflows/runs'), // Flask's HTML 404
      await call(base, '/parameters', { key: 'app-wrong' }), // restx 401
      await call(base, '/parameters'),
      await call(base, '/workflows/run', {
        body: { inputs: { query: 'hi' }, user: 'u', response_mode: 'streaming' },
      }),
    ];
    expect(answers.map((a) => a.headers['x-version'])).toEqual(['1.13.2', '1.13.2', '1.13.2', '1.13.2']);
    emulator.configure({ difyVersion: '1.15' });
    try {
      expect((await call(base, '/parameters')).headers['x-version']).toBe('1.15.0');
    } finally {
      emulator.configure({ difyVersion: '1.13' });
    }
  });

  it('POST /v1/workflows/run/batch is a JSON 405: it matches the GET-only run-detail route', async () => {
    const reply = await call(base, '/workflows/run/batch', { body: { inputs: [], user: 'u' } });
    expect(reply.status).toBe(405);
    expect(reply.text).toBe(
      difyError('method_not_allowed', 'The method is not allowed for the requested URL.', 405),
    );
    // Real 1.13.2 sends no Allow header with its 405.
    expect(reply.headers.allow).toBeUndefined();
    const get = await call(base, '/workflows/run', { key: null });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBeUndefined();
  });

  it('OPTIONS lists the methods, HEAD answers like GET without a body, /v1 redirects to /v1/', async () => {
    const options = await call(base, '/chat-messages', { method: 'OPTIONS', key: null });
    expect([options.status, options.headers.allow, options.text]).toEqual([200, 'OPTIONS, POST', '']);
    const head = await call(base, '/info', { method: 'HEAD' });
    expect([head.status, head.text]).toEqual([200, '']);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    const bare = await call(base.replace(/\/v1$/, ''), '/v1', { key: null });
    expect([bare.status, bare.headers.location]).toEqual([308, '/v1/']);
  });
});

describe('authentication', () => {
  it('401 without a header, with WWW-Authenticate', async () => {
    const reply = await call(base, '/workflows/run', { key: null, body: { inputs: {}, user: 'u' } });
    expect(reply.status).toBe(401);
    expect(reply.text).toBe(AUTH_MISSING);
    expect(reply.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('401 for a header without a space, a non-Bearer scheme and an unknown key', async () => {
    const noSpace = await call(base, '/info', { authorization: `Bearer${WORKFLOW_KEY}` });
    expect(noSpace.text).toBe(AUTH_MISSING);
    const basic = await call(base, '/info', { authorization: `Basic ${WORKFLOW_KEY}` });
    expect(basic.status).toBe(401);
    expect(basic.text).toBe(difyError('unauthorized', "Authorization scheme must be 'Bearer'", 401));
    expect(basic.headers['www-authenticate']).toBe('Bearer realm="api"');
    const unknown = await call(base, '/info', { key: 'app-NoSuchKey000000000000000' });
    expect(unknown.text).toBe(difyError('unauthorized', 'Access token is invalid', 401));
  });

  it('the scheme and header names are case-insensitive', async () => {
    expect((await call(base, '/info', { authorization: `bEaReR ${WORKFLOW_KEY}` })).status).toBe(200);
    const { status } = await new Promise<{ status: number }>((resolve, reject) => {
      const body = JSON.stringify({ inputs: {}, user: 'u' });
      const req = httpRequest(`${base}/workflows/run`, {
        method: 'POST',
        headers: {
          AUTHORIZATION: `Bearer ${WORKFLOW_KEY}`,
          'CONTENT-Type': 'Application/JSON; charset=utf-8',
        },
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
  });

  it('403 for each app state, in Dify’s words', async () => {
    const states = {
      deleted: 'The app no longer exists.',
      abnormal: "The app's status is abnormal.",
      'api-disabled': "The app's API service has been disabled.",
      'workspace-archived': "The workspace's status is archived.",
    } as const;
    emulator.configure({
      apps: Object.keys(states).map((status, i) => ({
        key: `app-State${i}`,
        mode: 'workflow',
        status: status as keyof typeof states,
      })),
    });
    for (const [i, message] of Object.values(states).entries()) {
      const reply = await call(base, '/workflows/run', {
        key: `app-State${i}`,
        body: { inputs: {}, user: 'u' },
      });
      expect(reply.status).toBe(403);
      expect(reply.text).toBe(difyError('forbidden', message, 403));
    }
  });
});

describe('request bodies', () => {
  it('415 when the body is not declared JSON', async () => {
    const reply = await call(base, '/workflows/run', {
      contentType: 'text/plain',
      body: '{"inputs":{},"user":"u"}',
    });
    expect(reply.status).toBe(415);
    expect(reply.text).toBe(
      difyError(
        'unsupported_media_type',
        "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
        415,
      ),
    );
    const vendor = await call(base, '/workflows/run', {
      contentType: 'application/vnd.api+json; charset=utf-8',
      body: { inputs: {}, user: 'u' },
    });
    expect(vendor.status).toBe(200);
  });

  it('400 bad_request for invalid or empty JSON or a lone surrogate (1.13: werkzeug’s text, 1.15: Dify’s)', async () => {
    const v113 = difyError(
      'bad_request',
      'The browser (or proxy) sent a request that this server could not understand.',
      400,
    );
    expect((await call(base, '/workflows/run', { body: '{"inputs": ' })).text).toBe(v113);
    expect((await call(base, '/workflows/run', { method: 'POST' })).text).toBe(v113);
    const lone = JSON.stringify({ inputs: { query: '\ud800' }, user: 'u' });
    expect((await call(base, '/workflows/run', { body: lone })).text).toBe(v113);
    const pair = JSON.stringify({ inputs: { query: '\ud83d\ude00' }, user: 'u' }).replace(
      '😀',
      '\\ud83d\\ude00',
    );
    expect((await call(base, '/workflows/run', { body: pair })).status).toBe(200);
    emulator.configure({ difyVersion: '1.15' });
    try {
      const v115 = difyError('bad_request', 'Invalid JSON payload received or JSON payload is empty.', 400);
      expect((await call(base, '/workflows/run', { body: '{"inputs": ' })).text).toBe(v115);
    } finally {
      emulator.configure({ difyVersion: '1.13' });
    }
  });

  it('a JSON body that is not an object is an unhandled error: 500 unknown', async () => {
    const reply = await call(base, '/workflows/run', { body: '[1, 2]' });
    expect(reply.status).toBe(500);
    expect(reply.text).toBe('{"message":"Internal Server Error","code":"unknown","status":500}\n');
  });

  it('user is required and must be truthy', async () => {
    const expected = difyError('invalid_param', 'Arg user must be provided.', 400);
    for (const body of [{ inputs: {} }, { inputs: {}, user: '' }, { inputs: {}, user: 0 }]) {
      const reply = await call(base, '/workflows/run', { body });
      expect(reply.status).toBe(400);
      expect(reply.text).toBe(expected);
    }
    expect((await call(base, '/workflows/run', { body: { inputs: {}, user: 42 } })).status).toBe(200);
  });

  it('a missing inputs object gets pydantic’s message, with the body as input_value', async () => {
    const reply = await call(base, '/workflows/run', {
      body: { user: 'abc-123', response_mode: 'blocking' },
    });
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text)).toEqual({
      code: 'invalid_param',
      message:
        '1 validation error for WorkflowRunPayload\ninputs\n  Field required [type=missing, ' +
        "input_value={'user': 'abc-123', 'response_mode': 'blocking'}, input_type=dict]\n" +
        '    For further information visit https://errors.pydantic.dev/2.12/v/missing',
      status: 400,
    });
  });

  it('pydantic errors list every bad field in order and cut long values to 25 + 24 bytes', async () => {
    const reply = await call(base, '/workflows/run', {
      body: { inputs: 'x'.repeat(80), response_mode: 'fast', user: 'u' },
    });
    const message = (JSON.parse(reply.text) as { message: string }).message;
    expect(message).toBe(
      '2 validation errors for WorkflowRunPayload\ninputs\n  Input should be a valid dictionary ' +
        `[type=dict_type, input_value='${'x'.repeat(24)}...${'x'.repeat(23)}', input_type=str]\n` +
        '    For further information visit https://errors.pydantic.dev/2.12/v/dict_type\n' +
        "response_mode\n  Input should be 'blocking' or 'streaming' [type=literal_error, input_value='fast', input_type=str]\n" +
        '    For further information visit https://errors.pydantic.dev/2.12/v/literal_error',
    );
  });

  it('each route refuses an app of another mode with its own code', async () => {
    const mismatch = 'Please check if your app mode matches the right API route.';
    const chatOnWorkflow = await run(base, '/workflows/run', { inputs: {} }, CHAT_KEY);
    expect(chatOnWorkflow.text).toBe(difyError('not_workflow_app', mismatch, 400));
    const workflowOnChat = await run(base, '/chat-messages', { inputs: {}, query: 'q' }, WORKFLOW_KEY);
    expect(workflowOnChat.text).toBe(difyError('not_chat_app', mismatch, 400));
    const chatOnCompletion = await run(base, '/completion-messages', { inputs: {} }, CHAT_KEY);
    expect(chatOnCompletion.text).toBe(
      difyError('app_unavailable', 'App unavailable, please check your app configurations.', 400),
    );
  });

  it('chat needs a query; completion does not', async () => {
    const chat = await run(base, '/chat-messages', { inputs: {} });
    expect(JSON.parse(chat.text).message).toMatch(
      /^1 validation error for ChatRequestPayload\nquery\n {2}Field required \[type=missing, /,
    );
    expect((await run(base, '/completion-messages', { inputs: {} })).status).toBe(200);
  });

  it('conversation_id must be a UUID or empty; an unknown UUID is 404', async () => {
    const bad = await run(base, '/chat-messages', { inputs: {}, query: 'q', conversation_id: 'abc' });
    expect(JSON.parse(bad.text).message).toBe(
      '1 validation error for ChatRequestPayload\nconversation_id\n  Value error, conversation_id must be a valid UUID ' +
        "[type=value_error, input_value='abc', input_type=str]\n" +
        '    For further information visit https://errors.pydantic.dev/2.12/v/value_error',
    );
    const empty = await run(base, '/chat-messages', { inputs: {}, query: 'q', conversation_id: '' });
    expect(empty.status).toBe(200);
    const conversationId = JSON.parse(empty.text).conversation_id as string;
    expect(conversationId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const next = await run(base, '/chat-messages', {
      inputs: {},
      query: 'again',
      conversation_id: conversationId,
    });
    expect(JSON.parse(next.text).conversation_id).toBe(conversationId);
    const unknown = await run(base, '/chat-messages', {
      inputs: {},
      query: 'q',
      conversation_id: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe(difyError('not_found', 'Conversation Not Exists.', 404));
  });

  it('required Start-node inputs: 400 blocking; streaming: 1.13 pings then falls silent', async () => {
    emulator.configure({ apps: [{ key: 'app-Required', mode: 'workflow', requiredInputs: ['query'] }] });
    const silent = await fetch(`${base}/workflows/run`, {
      method: 'POST',
      headers: { authorization: 'Bearer app-Required', 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: {}, user: 'u', response_mode: 'streaming' }),
    });
    expect(silent.status).toBe(200);
    const reader = silent.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('event: ping\n\n');
    const next = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r('silence'), 300))]);
    expect(next).toBe('silence');
    await reader.cancel();
  });

  it('required Start-node inputs: 400 blocking, Dify 1.15’s failed pair when streaming a workflow', async () => {
    emulator.configure({
      difyVersion: '1.15',
      apps: [{ key: 'app-Required', mode: 'workflow', requiredInputs: ['query'] }],
    });
    const blocking = await run(base, '/workflows/run', { inputs: { query: null } }, 'app-Required');
    expect(blocking.text).toBe(difyError('invalid_param', 'query is required in input form', 400));
    const streamed = await run(
      base,
      '/workflows/run',
      { inputs: {}, response_mode: 'streaming' },
      'app-Required',
    );
    expect(streamed.status).toBe(200);
    expect(frames(streamed.text)[0]).toBe('event: ping');
    const events = dataEvents(streamed.text);
    expect(events.map((e) => e.event)).toEqual(['workflow_started', 'workflow_finished']);
    const finished = events[1] as { task_id: string; workflow_run_id: string; data: Record<string, unknown> };
    expect(finished.task_id).toBe(finished.workflow_run_id);
    expect(finished.data).toMatchObject({
      status: 'failed',
      error: 'query is required in input form',
      elapsed_time: 0,
      total_steps: 0,
      exceptions_count: 1,
      created_by: {},
    });
    emulator.configure({ difyVersion: '1.13' });
    const parameters = await call(base, '/parameters', { key: 'app-Required' });
    expect(JSON.parse(parameters.text).user_input_form).toEqual([
      {
        'text-input': {
          variable: 'query',
          label: 'query',
          type: 'text-input',
          required: true,
          max_length: null,
          options: [],
        },
      },
    ]);
  });
});

describe('small resources', () => {
  it('GET /info and /parameters (a user query parameter is ignored)', async () => {
    const info = await call(base, '/info?user=abc', { key: COMPLETION_KEY });
    expect(info.text).toBe(
      '{"name":"Emulated completion app","description":"","tags":[],"mode":"completion","author_name":"dify-batch"}\n',
    );
    const parameters = await call(base, '/parameters');
    expect(parameters.status).toBe(200);
    expect(parameters.text.endsWith('}\n')).toBe(true);
    expect(Object.keys(JSON.parse(parameters.text))).toEqual([
      'opening_statement',
      'suggested_questions',
      'suggested_questions_after_answer',
      'speech_to_text',
      'text_to_speech',
      'retriever_resource',
      'annotation_reply',
      'more_like_this',
      'user_input_form',
      'sensitive_word_avoidance',
      'file_upload',
      'system_parameters',
    ]);
    expect(parameters.text).toContain('"system_parameters":{"image_file_size_limit":10,');
  });

  it('stop endpoints answer success for any task, but still check the user and the mode', async () => {
    const ok = '{"result":"success"}\n';
    expect((await run(base, '/workflows/tasks/no-such-task/stop', {})).text).toBe(ok);
    expect((await run(base, '/completion-messages/t1/stop', {})).text).toBe(ok);
    expect((await run(base, '/chat-messages/t1/stop', {})).text).toBe(ok);
    const noUser = await call(base, '/workflows/tasks/t1/stop', { body: {} });
    expect(noUser.text).toBe(difyError('invalid_param', 'Arg user must be provided.', 400));
    const wrongMode = await run(base, '/chat-messages/t1/stop', {}, WORKFLOW_KEY);
    expect(JSON.parse(wrongMode.text).code).toBe('not_chat_app');
  });

  it('GET /workflows/run/{id} returns runs it made, with inputs as a JSON string', async () => {
    const made = await run(base, '/workflows/run', { inputs: { id: 'r1', text: 'é' }, user: 'abc-123' });
    const runId = JSON.parse(made.text).workflow_run_id as string;
    const detail = await call(base, `/workflows/run/${runId}`);
    expect(detail.status).toBe(200);
    const body = JSON.parse(detail.text);
    expect(Object.keys(body)).toEqual([
      'id',
      'workflow_id',
      'status',
      'inputs',
      'outputs',
      'error',
      'total_steps',
      'total_tokens',
      'created_at',
      'finished_at',
      'elapsed_time',
    ]);
    expect(body.status).toBe('succeeded');
    expect(typeof body.inputs).toBe('string');
    expect(body.inputs).toBe(
      `{"id": "r1", "text": "\\u00e9", "sys.files": [], "sys.user_id": "abc-123", "sys.app_id": "${WORKFLOW_APP_ID}", ` +
        `"sys.workflow_id": "${body.workflow_id}", "sys.workflow_run_id": "${runId}", "sys.timestamp": ${body.created_at}}`,
    );
    expect(body.outputs).toEqual(JSON.parse(made.text).data.outputs);
    const unknown = await call(base, '/workflows/run/00000000-0000-4000-8000-000000000000');
    expect(unknown.text).toBe(difyError('not_found', 'Workflow run not found.', 404));
    const notUuid = await call(base, '/workflows/run/not-a-uuid');
    expect(notUuid.status).toBe(500);
    const logs = JSON.parse((await call(base, '/workflows/logs?limit=1')).text);
    expect(logs).toMatchObject({ page: 1, limit: 1, has_more: true });
    expect(logs.data[0].workflow_run.id).toBe(runId);
  });

  it('POST /workflows/{workflow_id}/run accepts only the published version’s UUID', async () => {
    const workflowId = EMULATOR_DEFAULT_APPS[0]!.workflowId!;
    expect((await run(base, `/workflows/${workflowId}/run`, { inputs: {} })).status).toBe(200);
    const bad = await run(base, '/workflows/v1/run', { inputs: {} });
    expect(bad.text).toBe(difyError('bad_request', "Invalid workflow_id format: 'v1'. ", 400));
    const other = '11111111-2222-4333-8444-555555555555';
    const unknown = await run(base, `/workflows/${other}/run`, { inputs: {} });
    expect(unknown.text).toBe(difyError('not_found', `Workflow not found with id: ${other}`, 404));
  });
});
