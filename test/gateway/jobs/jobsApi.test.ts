import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../src/emulator/startEmulator.js';
import { type Gateway, startGateway } from '../../../src/gateway/startGateway.js';
import { keyOf, WORKFLOW_KEY } from '../helpers.js';
import { call, isOver, lines, ndjson, submitJob, waitForJob } from './jobHelpers.js';

const OTHER_KEY = keyOf('completion');
let emulator: Emulator;
let dataDir: string;
let gateway: Gateway;

beforeAll(async () => {
  emulator = await startEmulator({ latency: { kind: 'fixed', ms: 2 } });
});
afterAll(async () => {
  await emulator.close();
});
afterEach(async () => {
  await gateway?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function start(
  options: { secret?: string; apiKey?: string; maxBodyBytes?: number } = {},
): Promise<void> {
  dataDir ??= await mkdtemp(join(tmpdir(), 'jobs-api-'));
  gateway = await startGateway({
    upstream: emulator.url,
    concurrency: 4,
    ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
    ...(options.maxBodyBytes === undefined ? {} : { maxBodyBytes: options.maxBodyBytes }),
    jobs: { dataDir, ...(options.secret === undefined ? {} : { secret: options.secret }) },
  });
}

describe('job API', () => {
  it('runs an NDJSON job: 202, status counts, results in order, dead letters, CSV, list', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start();
    const input = ndjson(30, (i) => (i % 10 === 3 ? { __fault: 'failed' } : {}));
    const { status, body } = await submitJob(gateway.url, WORKFLOW_KEY, input, { query: '?id_field=id' });
    expect(status).toBe(202);
    expect(body.status).toBe('queued');
    expect(body.id).toMatch(/^job_/);
    expect(Date.parse(body.created_at)).toBeGreaterThan(0);
    expect(body.links.results).toBe(`/v1/jobs/${body.id}/results`);
    const done = await waitForJob(gateway.url, WORKFLOW_KEY, body.id, isOver);
    expect(done.status).toBe('succeeded');
    expect(done.counts).toMatchObject({ total: 30, written: 30, succeeded: 27, failed: 3 });
    expect(done.progress).toBe(1);
    expect(done.latency_ms.p50).toBeGreaterThan(0);
    const byCode = Object.entries(done.errors_by_code);
    expect(byCode).toHaveLength(1);
    expect(byCode[0]![1].count).toBe(3);
    expect(byCode[0]![1].examples.map((e) => e.id)).toEqual(['r3', 'r13', 'r23']);

    const results = lines((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results`)).text);
    expect(results.map((r) => r.seq)).toEqual([...Array(30).keys()]);
    expect(results.map((r) => r.id)).toEqual([...Array(30).keys()].map((i) => `r${i}`));
    const errors = lines((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/errors`)).text);
    expect(errors.map((e) => e.id)).toEqual(['r3', 'r13', 'r23']);
    expect(errors[0]).toMatchObject({ q: 'question 3', __fault: 'failed', _error: { seq: 3 } });

    const csv = (await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results?format=csv`)).text;
    const rows = csv.trim().split('\n');
    expect(rows[0]).toBe('seq,id,ok,attempts,latencyMs,outputs,error_code,error_message');
    expect(rows).toHaveLength(31);
    expect(rows[4]).toMatch(/^3,r3,false,/);
    const errorsCsv = (await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/errors?format=csv`)).text;
    expect(errorsCsv.split('\n')[0]).toBe('id,q,__fault,_error');

    const list = (await call(gateway.url, WORKFLOW_KEY, '/v1/jobs')).json() as unknown as {
      jobs: { id: string }[];
    };
    expect(list.jobs.map((j) => j.id)).toEqual([body.id]);
  });

  it('scopes a job to the key that created it: another key gets 404 on every route', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start();
    const { body } = await submitJob(gateway.url, WORKFLOW_KEY, ndjson(3));
    for (const [path, method] of [
      [`/v1/jobs/${body.id}`, 'GET'],
      [`/v1/jobs/${body.id}/results`, 'GET'],
      [`/v1/jobs/${body.id}/errors`, 'GET'],
      [`/v1/jobs/${body.id}/events`, 'GET'],
      [`/v1/jobs/${body.id}/cancel`, 'POST'],
      [`/v1/jobs/${body.id}/retry-failed`, 'POST'],
    ] as const) {
      expect((await call(gateway.url, OTHER_KEY, path, method)).status, path).toBe(404);
    }
    const list = (await call(gateway.url, OTHER_KEY, '/v1/jobs')).json() as unknown as { jobs: unknown[] };
    expect(list.jobs).toEqual([]);
    expect((await call(gateway.url, undefined, '/v1/jobs')).status).toBe(401);
    expect((await call(gateway.url, WORKFLOW_KEY, '/v1/jobs/job_nope')).status).toBe(404);
    expect((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/cancel`, 'GET')).status).toBe(405);
    expect((await call(gateway.url, WORKFLOW_KEY, '/v1/jobs', 'DELETE')).status).toBe(405);
    await waitForJob(gateway.url, WORKFLOW_KEY, body.id, isOver);
    // The key itself is never on disk.
    const { readFile } = await import('node:fs/promises');
    const record = await readFile(join(dataDir, body.id, 'job.json'), 'utf8');
    expect(record).not.toContain(WORKFLOW_KEY);
  });

  it('reads CSV and JSON-array bodies, and downloads input_url', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start();
    const csv = await submitJob(gateway.url, WORKFLOW_KEY, 'id,q\na,x\nb,y\n', {
      query: '?id_field=id',
      contentType: 'text/csv',
    });
    const json = await submitJob(gateway.url, WORKFLOW_KEY, JSON.stringify([{ id: 'j1' }, { id: 'j2' }]), {
      query: '?id_field=id',
      contentType: 'application/json',
    });
    const server: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(ndjson(5));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rows.ndjson`;
    const remote = await submitJob(
      gateway.url,
      WORKFLOW_KEY,
      JSON.stringify({ input_url: url, id_field: 'id' }),
      {
        contentType: 'application/json',
      },
    );
    server.close();
    expect([csv.status, json.status, remote.status]).toEqual([202, 202, 202]);
    expect(remote.body.input).toMatchObject({ format: 'ndjson', url, records: 5 });
    const ids = async (id: string): Promise<unknown[]> => {
      await waitForJob(gateway.url, WORKFLOW_KEY, id, isOver);
      return lines((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${id}/results`)).text).map((r) => r.id);
    };
    expect(await ids(csv.body.id)).toEqual(['a', 'b']);
    expect(await ids(json.body.id)).toEqual(['j1', 'j2']);
    expect(await ids(remote.body.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('refuses bad options (400) and bodies over --max-body-bytes (413), keeping nothing', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start({ maxBodyBytes: 1000 });
    const bad = await submitJob(gateway.url, WORKFLOW_KEY, ndjson(2), { query: '?app=spreadsheet' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('app must be workflow, completion or chat, got "spreadsheet"');
    const url = await submitJob(
      gateway.url,
      WORKFLOW_KEY,
      JSON.stringify({ input_url: 'file:///etc/passwd' }),
      {
        contentType: 'application/json',
      },
    );
    expect(url.status).toBe(400);
    // A chunked body (no Content-Length) is cut off as soon as it goes over.
    const big = ndjson(200);
    const response = await fetch(`${gateway.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${WORKFLOW_KEY}`, 'content-type': 'application/x-ndjson' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    const list = (await call(gateway.url, WORKFLOW_KEY, '/v1/jobs')).json() as unknown as { jobs: unknown[] };
    expect(list.jobs).toEqual([]);
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('cancels a running job; retry-failed makes a new job of the failed records', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start();
    const { body } = await submitJob(gateway.url, WORKFLOW_KEY, ndjson(20_000), { query: '?concurrency=2' });
    await waitForJob(gateway.url, WORKFLOW_KEY, body.id, (j) => j.counts.written >= 50);
    // While it runs: every complete line written so far, in order, no torn tail.
    const sofar = await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results`);
    expect(sofar.text.endsWith('\n')).toBe(true);
    const partial = lines(sofar.text);
    expect(partial.length).toBeGreaterThanOrEqual(50);
    expect(partial.length).toBeLessThan(20_000);
    expect(partial.map((r) => r.seq)).toEqual([...Array(partial.length).keys()]);
    const cancelled = (await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/cancel`, 'POST')).json();
    expect(cancelled.status).toBe('cancelled');
    expect((cancelled.counts as { written: number }).written).toBeLessThan(20_000);
    const results = lines((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results`)).text);
    expect(results.map((r) => r.seq)).toEqual([...Array(results.length).keys()]);

    // `failed:1`: only the first call of each such record fails, so the retry succeeds.
    const flaky = await submitJob(
      gateway.url,
      WORKFLOW_KEY,
      ndjson(6, (i) => (i % 2 === 0 ? { __fault: 'failed:1', id: `flaky-${i}` } : {})),
    );
    const first = await waitForJob(gateway.url, WORKFLOW_KEY, flaky.body.id, isOver);
    expect(first.counts.failed).toBe(3);
    const retry = await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${flaky.body.id}/retry-failed`, 'POST');
    expect(retry.status).toBe(202);
    const again = retry.json();
    expect(again.input).toMatchObject({ retry_of: flaky.body.id, format: 'ndjson' });
    const second = await waitForJob(gateway.url, WORKFLOW_KEY, again.id, isOver);
    expect(second.counts).toMatchObject({ written: 3, succeeded: 3, failed: 0 });
    const ids = lines((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${again.id}/results`)).text).map(
      (r) => r.id,
    );
    expect(ids).toEqual(['0', '1', '2']);
    const none = await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${again.id}/retry-failed`, 'POST');
    expect(none.status).toBe(409);
  });

  it('a job whose key the upstream rejects is failed, with a one-line error that never shows the key', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start();
    const bogus = 'app-NotARealKeyForThisTest0001';
    const { body } = await submitJob(gateway.url, bogus, ndjson(5));
    const done = await waitForJob(gateway.url, bogus, body.id, isOver);
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('ERR_DIFY_AUTH');
    expect(JSON.stringify(done)).not.toContain(bogus);
  });

  it('streams progress as server-sent events until the job ends', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start();
    const { body } = await submitJob(gateway.url, WORKFLOW_KEY, ndjson(400), { query: '?concurrency=1' });
    const response = await fetch(`${gateway.url}/v1/jobs/${body.id}/events`, {
      headers: { authorization: `Bearer ${WORKFLOW_KEY}` },
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await response.text();
    const events = text
      .split('\n\n')
      .filter((f) => f.startsWith('event: '))
      .map((f) => ({ event: f.split('\n')[0]!.slice(7), data: JSON.parse(f.split('\n')[1]!.slice(6)) }));
    expect(events[0]!.event).toBe('status');
    expect(events[0]!.data.samples).toBeInstanceOf(Array);
    expect(events.at(-1)!.event).toBe('end');
    const statuses = events.filter((e) => e.event === 'status').map((e) => e.data);
    expect(statuses.at(-1).status).toBe('succeeded');
    const written = statuses.map((s) => s.counts.written as number);
    expect(written).toEqual([...written].sort((a, b) => a - b));
  });
});

describe('job API across restarts', () => {
  it('without a secret, an interrupted job waits for its owner and resumes on its next call', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start();
    const input = ndjson(3000, (i) => (i % 100 === 50 ? { __fault: 'failed' } : {}));
    const { body } = await submitJob(gateway.url, WORKFLOW_KEY, input, { query: '?id_field=id' });
    await waitForJob(gateway.url, WORKFLOW_KEY, body.id, (j) => j.counts.written >= 100);
    await gateway.close();
    await start();
    // Another key sees nothing and wakes nothing.
    expect((await call(gateway.url, OTHER_KEY, `/v1/jobs/${body.id}`)).status).toBe(404);
    const list = (await call(gateway.url, OTHER_KEY, '/v1/jobs')).json() as unknown as { jobs: unknown[] };
    expect(list.jobs).toEqual([]);
    const { readFile } = await import('node:fs/promises');
    const record = JSON.parse(await readFile(join(dataDir, body.id, 'job.json'), 'utf8'));
    expect(record).toMatchObject({ status: 'running', waiting_for_owner: true });
    // The owner's call shows the state it found, and resumes the job.
    const seen = (await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}`)).json();
    expect(seen.status).toBe('running');
    const done = await waitForJob(gateway.url, WORKFLOW_KEY, body.id, isOver, 60_000);
    expect(done).toMatchObject({ status: 'succeeded', waiting_for_owner: false });
    // Counts and failures are exact across the restart: none counted twice.
    expect(done.counts).toMatchObject({ written: 3000, failed: 30, succeeded: 2970 });
    expect(Object.values(done.errors_by_code).map((e) => e.count)).toEqual([30]);
    const results = lines((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results`)).text);
    expect(results.map((r) => r.seq)).toEqual([...Array(3000).keys()]);
    expect(results.map((r) => r.id)).toEqual([...Array(3000).keys()].map((i) => `r${i}`));
  });

  it('with a secret, interrupted jobs resume at start without their owner', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'jobs-api-'));
    await start({ secret: 'test-secret' });
    const { body } = await submitJob(gateway.url, WORKFLOW_KEY, ndjson(2000));
    await waitForJob(gateway.url, WORKFLOW_KEY, body.id, (j) => j.counts.written >= 100);
    await gateway.close();
    const { readFile } = await import('node:fs/promises');
    const record = JSON.parse(await readFile(join(dataDir, body.id, 'job.json'), 'utf8'));
    expect(record.sealed_key).toMatchObject({ iv: expect.any(String), tag: expect.any(String) });
    expect(JSON.stringify(record)).not.toContain(WORKFLOW_KEY);
    await start({ secret: 'test-secret' });
    // No call by the owner: the gateway resumed it by itself. Poll the files, not the API.
    const { waitFor } = await import('../helpers.js');
    await waitFor(async () => {
      const now = JSON.parse(await readFile(join(dataDir, body.id, 'job.json'), 'utf8'));
      return now.status === 'succeeded';
    }, 60_000);
    const results = lines((await call(gateway.url, WORKFLOW_KEY, `/v1/jobs/${body.id}/results`)).text);
    expect(results.map((r) => r.seq)).toEqual([...Array(2000).keys()]);
  });
});
