import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emulatedOutputs } from '../../src/emulator/emulatedOutputs.js';
import { type Emulator, startEmulator } from '../../src/emulator/startEmulator.js';
import { dataEvents, frames, run, WORKFLOW_KEY } from './helpers.js';

let emulator: Emulator;
let base: string;

beforeAll(async () => {
  emulator = await startEmulator();
  base = emulator.url;
});
afterAll(() => emulator.close());
beforeEach(() => emulator.configure({ latency: { kind: 'fixed', ms: 0 } }));

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const NUMBER = '\\d+(?:\\.\\d+)?(?:e-\\d\\d)?';

/**
 * A compact JSON line is what JSON.stringify gives back for its own parse, except that orjson writes
 * integral floats as `0.0`.
 */
function expectCompact(frame: string): void {
  expect(frame.startsWith('data: ')).toBe(true);
  const json = frame.slice(6);
  expect(JSON.stringify(JSON.parse(json))).toBe(json.replace(/":(-?\d+)\.0([,}\]])/g, '":$1$2'));
}

describe('blocking bodies', () => {
  it('workflow: Python separators, Dify’s key order, the deterministic outputs', async () => {
    const inputs = { id: 7, text: 'héllo' };
    const reply = await run(base, '/workflows/run', { inputs, response_mode: 'blocking' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(reply.text).toMatch(
      new RegExp(
        `^\\{"task_id": "${UUID}", "workflow_run_id": "(${UUID})", "data": \\{"id": "\\1", "workflow_id": "${UUID}", ` +
          `"status": "succeeded", "outputs": \\{"result": ".*", "checksum": "[0-9a-f]{8}"\\}, "error": null, ` +
          `"elapsed_time": ${NUMBER}, "total_tokens": 0, "total_steps": 3, "created_at": \\d+, "finished_at": \\d+\\}\\}$`,
      ),
    );
    expect(reply.text).toContain('h\\u00e9llo');
    expect(JSON.parse(reply.text).data.outputs).toEqual(emulatedOutputs('workflow', inputs));
  });

  it('completion and chat: the message body, chat with conversation_id after message_id', async () => {
    const completion = await run(base, '/completion-messages', { inputs: { id: 1 }, query: 'q1' });
    const body = JSON.parse(completion.text);
    expect(Object.keys(body)).toEqual([
      'event',
      'task_id',
      'id',
      'message_id',
      'mode',
      'answer',
      'metadata',
      'created_at',
    ]);
    expect(body).toMatchObject({
      event: 'message',
      mode: 'completion',
      answer: emulatedOutputs('completion', { id: 1 }, 'q1').answer,
    });
    expect(body.id).toBe(body.message_id);
    expect(Object.keys(body.metadata)).toEqual(['annotation_reply', 'retriever_resources', 'usage']);
    expect(completion.text).toContain('"currency": "USD", "latency": 0.0, ');
    const chat = JSON.parse((await run(base, '/chat-messages', { inputs: { id: 1 }, query: 'q1' })).text);
    expect(Object.keys(chat).slice(0, 6)).toEqual([
      'event',
      'task_id',
      'id',
      'message_id',
      'conversation_id',
      'mode',
    ]);
    expect(chat.answer).toBe(emulatedOutputs('chat', { id: 1 }, 'q1').answer);
  });

  it('answers are a function of the inputs (key order and the fault hook aside) and of the query', async () => {
    expect(emulatedOutputs('workflow', { a: 1, b: [1, { y: 2, x: 1 }] })).toEqual(
      emulatedOutputs('workflow', { b: [1, { x: 1, y: 2 }], a: 1, __fault: '500' }),
    );
    expect(emulatedOutputs('workflow', { a: 1 })).not.toEqual(emulatedOutputs('workflow', { a: 2 }));
    expect(emulatedOutputs('chat', { a: 1 }, 'x')).not.toEqual(emulatedOutputs('chat', { a: 1 }, 'y'));
    expect(emulatedOutputs('chat', { a: 1 }, 'x')).not.toEqual(emulatedOutputs('chat', { a: 2 }, 'x'));
    expect(emulatedOutputs('completion', { a: 1 })).toEqual(emulatedOutputs('completion', { a: 1 }, ''));
    const hooked = await run(base, '/workflows/run', { inputs: { id: 'h', __fault: 'failed:0' } });
    expect(JSON.parse(hooked.text).data.outputs).toEqual(emulatedOutputs('workflow', { id: 'h' }));
    expect(hooked.text).not.toContain('__fault');
  });
});

describe('streaming', () => {
  it('workflow: a ping first, compact data lines, the event sequence, the outputs', async () => {
    const inputs = { id: 'w1', text: 'héllo' };
    const reply = await run(base, '/workflows/run', { inputs, response_mode: 'streaming' });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(
      reply.text.startsWith('event: ping\n\ndata: {"event":"workflow_started","workflow_run_id":"'),
    ).toBe(true);
    expect(reply.text.endsWith('}}\n\n')).toBe(true);
    const all = frames(reply.text);
    all.slice(1).forEach(expectCompact);
    const events = dataEvents(reply.text);
    expect(events.map((e) => e.event)).toEqual([
      'workflow_started',
      'node_started',
      'node_finished',
      'node_started',
      'text_chunk',
      'text_chunk',
      'text_chunk',
      'node_finished',
      'node_started',
      'node_finished',
      'workflow_finished',
    ]);
    for (const event of events)
      expect(Object.keys(event)).toEqual(['event', 'workflow_run_id', 'task_id', 'data']);
    const started = events[0]!.data as Record<string, unknown>;
    expect(started.inputs).toMatchObject({ ...inputs, 'sys.user_id': 'tester', 'sys.files': [] });
    // As real 1.13.2: the Start node's inputs and outputs carry sys.timestamp (the run's start), the
    // workflow_started event does not.
    expect(started.inputs).not.toHaveProperty(['sys.timestamp']);
    const startNode = events[2]!.data as Record<string, Record<string, unknown>>;
    expect(startNode.inputs!['sys.timestamp']).toBe(started.created_at);
    expect(startNode.outputs).toEqual(startNode.inputs);
    const finished = events.at(-1)!.data as Record<string, unknown>;
    const outputs = emulatedOutputs('workflow', inputs);
    expect(finished).toMatchObject({
      status: 'succeeded',
      outputs,
      error: null,
      total_steps: 3,
      exceptions_count: 0,
    });
    const text = events.filter((e) => e.event === 'text_chunk').map((e) => (e.data as { text: string }).text);
    expect(text.join('')).toBe(`${outputs.result}\n${outputs.checksum}`);
    expect(reply.text).toContain('héllo'); // raw UTF-8 on the wire, not \u escapes
  });

  it('chat: message chunks add up to the answer, then message_end; a new conversation per call', async () => {
    const inputs = { id: 'c1' };
    const one = await run(base, '/chat-messages', {
      inputs,
      query: 'hello there',
      response_mode: 'streaming',
    });
    frames(one.text).forEach(expectCompact);
    const events = dataEvents(one.text);
    expect(events.at(-1)!.event).toBe('message_end');
    const chunks = events.slice(0, -1);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((e) => e.event === 'message')).toBe(true);
    expect(chunks.map((e) => e.answer).join('')).toBe(emulatedOutputs('chat', inputs, 'hello there').answer);
    expect(Object.keys(chunks[0]!)).toEqual([
      'event',
      'conversation_id',
      'message_id',
      'created_at',
      'task_id',
      'id',
      'answer',
      'from_variable_selector',
    ]);
    const conversations = new Set(events.map((e) => e.conversation_id));
    expect(conversations.size).toBe(1);
    const two = dataEvents(
      (await run(base, '/chat-messages', { inputs, query: 'x', response_mode: 'streaming' })).text,
    );
    expect(two[0]!.conversation_id).not.toBe(events[0]!.conversation_id);
  });

  it('completion: no conversation_id, message_end metadata has usage', async () => {
    const events = dataEvents(
      (await run(base, '/completion-messages', { inputs: { id: 2 }, response_mode: 'streaming' })).text,
    );
    expect(events.some((e) => 'conversation_id' in e)).toBe(false);
    expect(events.at(-1)).toMatchObject({
      event: 'message_end',
      metadata: { usage: { currency: 'USD' } },
      files: null,
    });
  });

  it('spreads the latency over the stream: the ping at once, workflow_finished at the end', async () => {
    emulator.configure({ latency: { kind: 'fixed', ms: 300 } });
    const t0 = performance.now();
    const response = await request(`${base}/workflows/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WORKFLOW_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: { id: 's' }, user: 'u', response_mode: 'streaming' }),
    });
    const arrivals: [number, string][] = [];
    for await (const chunk of response.body) arrivals.push([performance.now() - t0, String(chunk)]);
    const firstAt = arrivals[0]![0];
    const finishedAt = arrivals.find(([, text]) => text.includes('"workflow_finished"'))![0];
    expect(arrivals[0]![1].startsWith('event: ping\n\n')).toBe(true);
    expect(finishedAt - firstAt).toBeGreaterThanOrEqual(200);
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    const blockingT0 = performance.now();
    await run(base, '/workflows/run', { inputs: { id: 'b' } });
    expect(performance.now() - blockingT0).toBeGreaterThanOrEqual(290);
  });
});
