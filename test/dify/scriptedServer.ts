import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the scripted server saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface ScriptedServer {
  /** Base URL ending in `/v1`, as DifyClient takes it. */
  readonly url: string;
  readonly requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Resolves when the client closes (or resets) the socket of the n-th request (0-based). */
  socketClosed(index: number): Promise<void>;
  close(): Promise<void>;
}

export type Script = (req: SeenRequest, res: ServerResponse, socket: Socket) => void;

/** A loopback HTTP server on port 0 that answers each request with the given script. */
export async function startScriptedServer(script: Script): Promise<ScriptedServer> {
  const requests: SeenRequest[] = [];
  const closed: Promise<void>[] = [];
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      closed.push(new Promise((resolve) => req.socket.once('close', () => resolve())));
      script(seen, res, req.socket);
    });
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    connections: () => connections,
    socketClosed: (index) => closed[index] ?? Promise.reject(new Error(`no request #${index}`)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends a JSON answer the way Dify does (trailing newline). */
export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

/** Starts an SSE answer and writes the frames: `'ping'` → `event: ping`, objects → `data: <json>`. */
export function sse(res: ServerResponse, frames: readonly (object | 'ping')[], end = true): void {
  if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
  for (const frame of frames)
    res.write(frame === 'ping' ? 'event: ping\n\n' : `data: ${JSON.stringify(frame)}\n\n`);
  if (end) res.end();
}
