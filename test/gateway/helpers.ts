import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EMULATOR_DEFAULT_APPS } from '../../src/emulator/EMULATOR_DEFAULT_APPS.js';
import { CLI_MAIN } from '../helpers/runBinary.js';

export const keyOf = (mode: string): string => EMULATOR_DEFAULT_APPS.find((a) => a.mode === mode)!.key;
export const WORKFLOW_KEY = keyOf('workflow');

/** A batch response body, or an error body (`code`, `message`, `status`), as the tests read it. */
export interface BatchBody {
  readonly results: readonly ResultJson[];
  readonly succeeded: number;
  readonly failed: number;
  readonly individual_errors: readonly number[];
  readonly code?: string;
  readonly message?: string;
  readonly status?: number;
}

export interface ResultJson {
  readonly status: number;
  readonly data?: {
    readonly data?: { readonly status?: string; readonly outputs?: unknown; readonly error?: string };
    readonly answer?: string;
  };
  readonly error?: { readonly code: string; readonly message: string };
}

/** A `dify-batch serve` process started by {@link startServe}. */
export interface ServeProcess {
  readonly child: ChildProcess;
  /** The base URL the gateway printed as its first stdout line. */
  readonly url: string;
  /** Everything written to stderr so far (the JSON logs). */
  readonly stderr: () => string;
}

/**
 * Starts `dify-batch serve …args` (the built CLI) as a real process and resolves once it printed its
 * base URL; rejects with its stderr if it exits first. The caller stops it (`child.kill`) on teardown.
 * `env` is added to this process's environment.
 */
export async function startServe(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let err = '';
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

/** POSTs JSON to the gateway and returns status, headers and the parsed body. */
export async function postBatch(
  url: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${WORKFLOW_KEY}` },
): Promise<{ status: number; headers: Headers; body: BatchBody }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : JSON.parse(text),
  };
}

/** Polls `check` every few ms until it holds (tests never sleep a fixed time to wait for a state). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What a {@link RecordingProxy} saw of one request. */
export interface SeenRequest {
  readonly path: string;
  readonly traceparent: string | undefined;
  readonly body: string;
}

/**
 * A loopback HTTP proxy in front of the emulator: records each request's `traceparent` and body, and
 * holds requests whose body contains `"hold":true` until `release()`.
 */
export interface RecordingProxy {
  readonly url: string;
  readonly seen: SeenRequest[];
  release(): void;
  close(): Promise<void>;
}

export async function startRecordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const seen: SeenRequest[] = [];
  let released = false;
  const held: (() => void)[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const traceparent = req.headers.traceparent;
      seen.push({
        path: req.url ?? '',
        traceparent: Array.isArray(traceparent) ? traceparent[0] : traceparent,
        body,
      });
      const forward = (): void => {
        const out = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: upstream.host },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        out.on('error', () => res.destroy());
        out.end(body);
      };
      if (body.includes('"hold":true') && !released) held.push(forward);
      else forward();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    seen,
    release: () => {
      released = true;
      for (const forward of held.splice(0)) forward();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
