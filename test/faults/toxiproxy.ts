import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Where `bash scripts/install-toxiproxy.sh` puts the server (git-ignored). */
export const TOXIPROXY_BIN = join(import.meta.dirname, '../../.tools/bin/toxiproxy-server');

/**
 * Whether the fault-matrix suite can run here: the binary is installed. Without it the suite skips with
 * a message, except under `CI` where it must run (and fails loudly in its setup instead).
 */
export function toxiproxyAvailability(): { readonly run: boolean; readonly reason?: string } {
  if (existsSync(TOXIPROXY_BIN)) return { run: true };
  if (process.env.CI) return { run: true, reason: 'CI is set: the suite runs and fails without toxiproxy' };
  return {
    run: false,
    reason: `toxiproxy-server not found at ${TOXIPROXY_BIN}: run \`bash scripts/install-toxiproxy.sh\` (needs Go)`,
  };
}

/** A toxic as Toxiproxy's HTTP API takes it (Shopify/toxiproxy v2). */
export interface Toxic {
  readonly name: string;
  readonly type: 'latency' | 'bandwidth' | 'slicer' | 'reset_peer' | 'timeout' | 'limit_data';
  readonly stream?: 'upstream' | 'downstream';
  readonly toxicity?: number;
  readonly attributes: Record<string, number>;
}

/** A running toxiproxy-server on loopback, with an ephemeral API port, and one proxy at a time. */
export class Toxiproxy {
  readonly #process: ChildProcess;
  readonly api: string;

  private constructor(child: ChildProcess, api: string) {
    this.#process = child;
    this.api = api;
  }

  /** Starts the server and waits until its API answers. */
  static async start(): Promise<Toxiproxy> {
    if (!existsSync(TOXIPROXY_BIN)) {
      throw new Error(
        `toxiproxy-server not found at ${TOXIPROXY_BIN}: run \`bash scripts/install-toxiproxy.sh\``,
      );
    }
    const port = await freePort();
    const child = spawn(TOXIPROXY_BIN, ['-host', '127.0.0.1', '-port', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'error' },
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const proxy = new Toxiproxy(child, `http://127.0.0.1:${port}`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`toxiproxy-server exited ${child.exitCode}: ${stderr}`);
      try {
        const response = await fetch(`${proxy.api}/version`);
        if (response.ok) return proxy;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        throw new Error(`toxiproxy-server did not answer within 10 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Creates a proxy on an ephemeral loopback port to `upstream`; resolves with its `host:port`. */
  async createProxy(name: string, upstream: string): Promise<string> {
    const created = (await this.#call('POST', '/proxies', {
      name,
      listen: '127.0.0.1:0',
      upstream,
      enabled: true,
    })) as { listen: string };
    return created.listen;
  }

  async deleteProxy(name: string): Promise<void> {
    await this.#call('DELETE', `/proxies/${name}`);
  }

  async addToxic(proxy: string, toxic: Toxic): Promise<void> {
    await this.#call('POST', `/proxies/${proxy}/toxics`, {
      stream: 'downstream',
      toxicity: 1,
      ...toxic,
    });
  }

  async removeToxic(proxy: string, name: string): Promise<void> {
    await this.#call('DELETE', `/proxies/${proxy}/toxics/${name}`);
  }

  /** SIGTERM (Toxiproxy exits 0 on it) and wait for the exit. */
  async stop(): Promise<void> {
    if (this.#process.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.#process.once('exit', () => resolve()));
    this.#process.kill('SIGTERM');
    await exited;
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.api}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`toxiproxy ${method} ${path}: HTTP ${response.status} ${text}`);
    return text === '' ? undefined : JSON.parse(text);
  }
}

/** A loopback port free right now (bound to 0, then released) for the toxiproxy API. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
