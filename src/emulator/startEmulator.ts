import type { EmulatorOptions } from './EmulatorOptions.js';
import { EmulatorServer } from './EmulatorServer.js';
import { resolveEmulatorOptions } from './resolveEmulatorOptions.js';

/**
 * A running emulator.
 * @category testing
 */
export interface Emulator {
  /** Base URL of the Service API, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  readonly port: number;
  /** The counters; the same JSON as `GET /_emulator/stats`. */
  stats(): EmulatorStats;
  /**
   * Changes knobs at runtime (also `POST /_emulator/config`); unspecified fields keep their values.
   * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad value; nothing changes then
   */
  configure(patch: Partial<EmulatorOptions>): void;
  /** Zeroes the counters and re-seeds the random draws (also `POST /_emulator/reset`). */
  reset(): void;
  /** Closes the server and destroys every open socket, stalled and silent ones included. */
  close(): Promise<void>;
}

/**
 * The emulator's counters.
 * @category testing
 */
export interface EmulatorStats {
  /** Service API requests received (the `/_emulator/*` endpoints are not counted). */
  requests: number;
  /** Requests in flight: body received, response not yet ended nor its connection closed. */
  active: number;
  peakActive: number;
  /** Responses by HTTP status (reset and stalled calls have none). */
  byStatus: Record<string, number>;
  /** Calls refused by the app concurrency limit (`maxActiveRequests`). */
  rejectedConcurrency: number;
  /** Calls refused by the token bucket (`rateLimitRps`). */
  rejectedRateLimit: number;
  /** Injected faults by kind: `429`, `500`, `502`, `reset`, `stall`, `drop`, `error`, `failed`. */
  faultsInjected: Record<string, number>;
  /**
   * Run calls per input (by `countBy`) that passed Dify's checks, including those a limit then refused
   * or a fault answered; absent when `trackCallsPerInput` is off.
   */
  callsPerInput?: Record<string, number>;
  /** Inputs called more than once. */
  duplicates: number;
  /** Files accepted by `POST /files/upload` (201). */
  uploads: number;
  /** The most uploads in progress at once. */
  peakActiveUploads: number;
}

/**
 * Starts a faithful, fast Dify Service API emulator on loopback: the routes, checks, error bodies,
 * blocking bodies and SSE framing of `docs/dify-api.md`, with knobs for latency, Dify's concurrency
 * limit, a rate limit and injected faults.
 *
 * @remarks
 * Answers are {@link emulatedOutputs} of the inputs, so mix-ups between items are detectable. An input
 * key `__fault` (`"500"`, `"429"`, `"502"`, `"reset"`, `"stall"`, `"drop"`, `"error"`, `"failed"`,
 * optionally `":N"` for only the first N calls of that input) injects a fault deterministically.
 * Apps with `fileInputs` take `POST /files/upload` and file inputs as Dify does, and their outputs
 * carry each file's object (`filename`, `size`, …), so a mix-up of files is detectable too.
 * Control endpoints outside `/v1`: `GET /_emulator/stats`, `POST /_emulator/reset`,
 * `GET|POST /_emulator/config`.
 *
 * @param options - see {@link EmulatorOptions}; defaults in {@link EMULATOR_DEFAULTS}
 * @param run - `signal`: aborting it closes the emulator (an already aborted signal rejects with its reason)
 * @returns once the server listens
 * @throws InvalidOptionError (`ERR_INVALID_OPTION`) for a bad option
 * @example
 * ```ts
 * import { startEmulator, EMULATOR_DEFAULT_APPS } from 'dify-batch/emulator';
 * const emulator = await startEmulator({ latency: { kind: 'fixed', ms: 20 } });
 * const response = await fetch(`${emulator.url}/workflows/run`, {
 *   method: 'POST',
 *   headers: { Authorization: `Bearer ${EMULATOR_DEFAULT_APPS[0]!.key}`, 'Content-Type': 'application/json' },
 *   body: JSON.stringify({ inputs: { id: 1 }, user: 'u1', response_mode: 'blocking' }),
 * });
 * console.log((await response.json()).data.status);
 * await emulator.close();
 * // Output: succeeded
 * ```
 * @since 0.1.0
 * @category testing
 */
export async function startEmulator(
  options: EmulatorOptions = {},
  run: { readonly signal?: AbortSignal } = {},
): Promise<Emulator> {
  const { signal } = run;
  signal?.throwIfAborted();
  const server = new EmulatorServer(resolveEmulatorOptions(options));
  await server.listen();
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    signal?.removeEventListener('abort', onAbort);
    closing ??= server.close();
    return closing;
  };
  const onAbort = (): void => void close();
  if (signal?.aborted) {
    await close();
    signal.throwIfAborted();
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  const address = server.http.address();
  const port = typeof address === 'object' && address !== null ? address.port : server.options.port;
  const host = server.options.host;
  const urlHost =
    host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}/v1`;
  return {
    url,
    port,
    stats: () => server.stats(),
    configure: (patch) => server.configure(patch),
    reset: () => server.reset(),
    close,
  };
}
