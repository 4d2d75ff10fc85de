import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkIntegerIn } from '../internal/checkOption.js';
import type { BatchMetrics } from './BatchMetrics.js';

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** The metrics served at `GET /metrics`. */
  readonly metrics: BatchMetrics;
  /** @defaultValue 0 (an ephemeral port) */
  readonly port?: number;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
}

/** Defaults of {@link MetricsServerOptions}. */
export const METRICS_SERVER_DEFAULTS = Object.freeze({ port: 0, host: '127.0.0.1' });

/** A running metrics endpoint. */
export interface MetricsServer {
  /** Base URL; the metrics are at `${url}/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text) for a long `run`, on node:http. Any other path is 404.
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad port; rejects when it cannot listen.
 * @category metrics
 */
export async function startMetricsServer(options: Readonly<MetricsServerOptions>): Promise<MetricsServer> {
  const o = { ...METRICS_SERVER_DEFAULTS, ...options };
  checkIntegerIn('port', o.port, 0, 65_535);
  const server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('GET /metrics only\n');
      return;
    }
    o.metrics.scrape().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'Content-Type': contentType });
        res.end(body);
      },
      () => {
        res.writeHead(500);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
