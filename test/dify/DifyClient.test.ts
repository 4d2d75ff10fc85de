import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { InvalidOptionError } from '../../src/core/InvalidOptionError.js';
import { DIFY_CLIENT_DEFAULTS, DifyClient, type DifyClientOptions } from '../../src/dify/DifyClient.js';
import type { DifyAppKind } from '../../src/dify/DifyRequest.js';
import { APP_KEY, clientHarness, EXPECTED, happyDify, ODD_KEY, request, STREAM } from './fixtures.js';
import { sse, startScriptedServer } from './scriptedServer.js';

const { setup, defer } = clientHarness();

describe('DifyClient options', () => {
  it('DIFY_CLIENT_DEFAULTS is frozen, nested timeouts included', () => {
    expect(Object.isFrozen(DIFY_CLIENT_DEFAULTS)).toBe(true);
    expect(Object.isFrozen(DIFY_CLIENT_DEFAULTS.timeouts)).toBe(true);
  });

  it('every @defaultValue in the TSDoc matches DIFY_CLIENT_DEFAULTS', () => {
    const source = readFileSync(new URL('../../src/dify/DifyClient.ts', import.meta.url), 'utf8');
    const documented = new Map<string, string>();
    for (const match of source.matchAll(
      /@defaultValue ([^\n*]+?)\s*(?:\*\/)?\n\s*(?:\*\/\n\s*)?readonly (\w+)\??:/g,
    )) {
      documented.set(match[2] as string, (match[1] as string).trim());
    }
    const flat: Record<string, number> = {
      connections: DIFY_CLIENT_DEFAULTS.connections,
      maxResponseBytes: DIFY_CLIENT_DEFAULTS.maxResponseBytes,
      ...DIFY_CLIENT_DEFAULTS.timeouts,
    };
    for (const [name, value] of Object.entries(flat)) expect(documented.get(name), name).toBe(String(value));
    expect(documented.get('timeouts')).toBe('DIFY_CLIENT_DEFAULTS.timeouts');
  });

  it.each([
    [{ baseUrl: 'not a url' }, 'baseUrl'],
    [{ baseUrl: 'ftp://127.0.0.1/v1' }, 'baseUrl'],
    [{ baseUrl: 'http://127.0.0.1/v1?x=1' }, 'baseUrl'],
    [{ connections: 0 }, 'connections'],
    [{ connections: 1.5 }, 'connections'],
    [{ maxResponseBytes: -1 }, 'maxResponseBytes'],
    [{ timeouts: { idleMs: -5 } }, 'timeouts.idleMs'],
    [{ timeouts: { totalMs: Number.NaN } }, 'timeouts.totalMs'],
    [{ timeouts: 5 }, 'timeouts'],
    [{ dispatcher: {} }, 'dispatcher'],
  ] as [Partial<DifyClientOptions>, string][])('rejects %j naming `%s`', (patch, option) => {
    const make = () => new DifyClient({ baseUrl: 'http://127.0.0.1:9/v1', apiKey: APP_KEY, ...patch });
    expect(make).toThrow(InvalidOptionError);
    expect(make).toThrow(`\`${option}\``);
  });

  it('never quotes the API key or URL credentials when rejecting them', () => {
    for (const apiKey of [`${ODD_KEY} `, `x\n${ODD_KEY}`, '']) {
      const error = (() => {
        try {
          new DifyClient({ baseUrl: 'http://127.0.0.1:9/v1', apiKey });
        } catch (e) {
          return e as Error;
        }
      })();
      expect(error).toBeInstanceOf(InvalidOptionError);
      expect(error?.message).toContain('`apiKey`');
      expect(error?.message).not.toContain('NotAnAppKey');
    }
    expect(() => new DifyClient({ baseUrl: 'http://me:hunter2@127.0.0.1/v1', apiKey: APP_KEY })).toThrow(
      /^(?!.*hunter2).*without credentials/,
    );
  });
});

describe('DifyClient requests', () => {
  it.each(['blocking', 'streaming'] as const)(
    'sends dify-api.md §2 bodies and headers (%s)',
    async (mode) => {
      const { server, client } = await setup(happyDify);
      await client.run(request('workflow', mode, { files: [{ type: 'image' }] }));
      await client.run(request('workflow', mode, { workflowId: 'wf/1' }));
      await client.run(request('completion', mode, { query: 'q' }));
      await client.run(request('chat', mode, { conversationId: '6c1f6b8e-6d0c-4b8a-9c55-2f0e4f1d9b10' }));
      const [wf, wfVersion, completion, chat] = server.requests;
      expect(server.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
        'POST /v1/workflows/run',
        'POST /v1/workflows/wf%2F1/run',
        'POST /v1/completion-messages',
        'POST /v1/chat-messages',
      ]);
      expect(wf?.headers.authorization).toBe(`Bearer ${APP_KEY}`);
      expect(wf?.headers['content-type']).toBe('application/json');
      expect(JSON.parse(wf?.body ?? '')).toEqual({
        inputs: { query: 'hi' },
        response_mode: mode,
        user: 'u-1',
        files: [{ type: 'image' }],
      });
      expect(JSON.parse(wfVersion?.body ?? '')).toEqual({
        inputs: { query: 'hi' },
        response_mode: mode,
        user: 'u-1',
      });
      expect(JSON.parse(completion?.body ?? '')).toEqual({
        inputs: { query: 'hi' },
        response_mode: mode,
        user: 'u-1',
        query: 'q',
      });
      expect(JSON.parse(chat?.body ?? '')).toEqual({
        inputs: { query: 'hi' },
        response_mode: mode,
        user: 'u-1',
        query: 'hello',
        conversation_id: '6c1f6b8e-6d0c-4b8a-9c55-2f0e4f1d9b10',
      });
    },
  );

  it.each([
    ['workflow', 'blocking'],
    ['workflow', 'streaming'],
    ['completion', 'blocking'],
    ['completion', 'streaming'],
    ['chat', 'blocking'],
    ['chat', 'streaming'],
  ] as const)('%s %s gives the same DifyResult', async (app, mode) => {
    const { client } = await setup(happyDify);
    expect(await client.run(request(app, mode))).toEqual(EXPECTED[app]);
  });

  it('streaming: concatenates text_chunk texts when workflow_finished has no outputs', async () => {
    const frames = STREAM.workflow.map((f) =>
      typeof f === 'object' && f.event === 'workflow_finished'
        ? { ...f, data: { ...f.data, outputs: null } }
        : f,
    );
    const { client } = await setup((_req, res) => sse(res, frames));
    expect((await client.run(request('workflow', 'streaming'))).outputs).toEqual({ text: 'hi' });
  });

  it('streaming: agent_message answers concatenate and message_replace replaces the answer', async () => {
    const [first, , end] = STREAM.chat;
    const { client } = await setup((_req, res) =>
      sse(res, [
        'ping',
        { ...first, event: 'agent_message', answer: 'bad ' },
        { ...first, event: 'agent_message', answer: 'word' },
        { event: 'message_replace', task_id: 'T', message_id: 'M', answer: '***', reason: 'moderation' },
        { ...first, answer: '!' },
        end,
      ]),
    );
    expect((await client.run(request('chat', 'streaming'))).outputs).toEqual({ answer: '***!' });
  });

  it('streaming: a chatflow ends at workflow_finished, after message_end', async () => {
    const started = { event: 'workflow_started', workflow_run_id: 'R', task_id: 'T', data: { id: 'R' } };
    const finished = (status: string) => ({
      event: 'workflow_finished',
      workflow_run_id: 'R',
      task_id: 'T',
      data: {
        id: 'R',
        status,
        outputs: { answer: 'Hello World' },
        error: status === 'failed' ? 'node broke' : null,
      },
    });
    const { client } = await setup((req, res) =>
      sse(res, ['ping', started, ...STREAM.chat, finished(JSON.parse(req.body).inputs.status)]),
    );
    expect(await client.run(request('chat', 'streaming', { inputs: { status: 'succeeded' } }))).toEqual(
      EXPECTED.chat,
    );
    await expect(
      client.run(request('chat', 'streaming', { inputs: { status: 'failed' } })),
    ).rejects.toMatchObject({
      code: 'ERR_DIFY_RUN_FAILED',
      message: 'node broke',
      retryable: false,
    });
  });

  it('a streaming request answered with one JSON body still gives the result', async () => {
    const { client } = await setup((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...STREAM.completion[0], answer: 'Hello World', event: 'message' }));
    });
    expect((await client.run(request('completion', 'streaming'))).outputs).toEqual({ answer: 'Hello World' });
  });

  it('reuses one keep-alive connection across calls, error answers included', async () => {
    const { server, client } = await setup(
      (req, res) => {
        if (JSON.parse(req.body).inputs.fail) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ code: 'invalid_param', message: 'x'.repeat(10_000), status: 400 }));
          return;
        }
        happyDify(req, res);
      },
      { connections: 1 },
    );
    for (let i = 0; i < 3; i += 1) {
      await client.run(request('workflow', 'blocking'));
      await expect(
        client.run(request('workflow', 'blocking', { inputs: { fail: 1 } })),
      ).rejects.toMatchObject({
        status: 400,
      });
      await client.run(request('chat', 'streaming'));
      await client.run(request('completion', 'streaming'));
    }
    expect(server.requests).toHaveLength(12);
    expect(server.connections()).toBe(1);
  });

  it('uses an injected dispatcher and leaves it open on close()', async () => {
    const server = await startScriptedServer(happyDify);
    const dispatcher = new Agent();
    defer(
      () => dispatcher.close(),
      () => server.close(),
    );
    const client = new DifyClient({ baseUrl: server.url, apiKey: APP_KEY, dispatcher });
    expect(await client.transport(request('completion', 'blocking'), {})).toEqual(EXPECTED.completion);
    await client.close();
    expect(dispatcher.closed).toBe(false);
    await expect(client.run(request('completion', 'blocking'))).rejects.toMatchObject({
      code: 'ERR_INTERNAL',
    });
  });

  it('a throwing headers hook rejects the run (never throws) without calling Dify, blocking and streaming', async () => {
    let fail = true;
    const { server, client } = await setup(happyDify, {
      headers: () => {
        if (fail) throw new Error('no trace context');
        return { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
      },
    });
    for (const mode of ['blocking', 'streaming'] as const) {
      let pending: Promise<unknown> | undefined;
      expect(() => {
        pending = client.run(request('workflow', mode));
      }).not.toThrow();
      await expect(pending).rejects.toMatchObject({ message: expect.stringContaining('no trace context') });
    }
    expect(server.requests).toHaveLength(0);
    fail = false;
    expect(await client.run(request('workflow', 'blocking'))).toEqual(EXPECTED.workflow);
    expect(server.requests).toHaveLength(1);
  });

  it('rejects an unknown app kind and unserialisable inputs without calling Dify', async () => {
    const { server, client } = await setup(happyDify);
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(
      client.run({ ...request('workflow', 'blocking'), app: 'agent' as DifyAppKind }),
    ).rejects.toMatchObject({ code: 'ERR_INPUT_INVALID', retryable: false });
    await expect(client.run(request('workflow', 'blocking', { inputs: circular }))).rejects.toMatchObject({
      code: 'ERR_INPUT_INVALID',
    });
    expect(server.requests).toHaveLength(0);
  });
});
