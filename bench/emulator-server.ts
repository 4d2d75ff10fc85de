/**
 * Child-process entry: the Dify emulator on its own process (so it does not share a core's event loop with
 * the client it serves). Prints `{"url": "http://127.0.0.1:PORT/v1"}` on stdout; under the bench
 * orchestrator it also takes configure / reset / stats / close commands over IPC.
 *
 * Standalone: `node bench/out/dist/emulator-server.js --latency lognormal:200:3000 --rate-limit 50`
 */
import { parseArgs } from 'node:util';
import type { EmulatorOptions, LatencyDistribution } from '../src/emulator/EmulatorOptions.js';
import { startEmulator } from '../src/emulator/startEmulator.js';
import type { EmulatorCommand, EmulatorReply } from './protocol.js';

/** `fixed:MS`, `uniform:MIN:MAX` or `lognormal:P50:P99`. */
export function parseLatency(text: string): LatencyDistribution {
  const [kind, a, b] = text.split(':');
  const n = (value: string | undefined): number => {
    const parsed = Number(value);
    if (value === undefined || !Number.isFinite(parsed) || parsed < 0)
      throw new Error(`bad --latency "${text}"`);
    return parsed;
  };
  if (kind === 'fixed') return { kind, ms: n(a) };
  if (kind === 'uniform') return { kind, minMs: n(a), maxMs: n(b) };
  if (kind === 'lognormal') return { kind, p50Ms: n(a), p99Ms: n(b) };
  throw new Error(`bad --latency "${text}": expected fixed:MS, uniform:MIN:MAX or lognormal:P50:P99`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      latency: { type: 'string', default: 'fixed:0' },
      'rate-limit': { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
    },
  });
  const options: EmulatorOptions = {
    port: Number(values.port),
    latency: parseLatency(values.latency),
    rateLimitRps: Number(values['rate-limit']),
    seed: Number(values.seed),
    // The bench checks duplicates on the client side; per-input counters would only cost memory here.
    trackCallsPerInput: false,
  };
  const emulator = await startEmulator(options);
  process.stdout.write(`${JSON.stringify({ url: emulator.url })}\n`);
  if (process.send === undefined) return;

  let closing: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    closing ??= emulator.close();
    return closing;
  };
  const send = (message: EmulatorReply, then?: () => void): void => {
    if (process.connected) process.send?.(message, undefined, undefined, then);
    else then?.();
  };
  process.on('message', (command: EmulatorCommand) => {
    const run = async (): Promise<unknown> => {
      switch (command.cmd) {
        case 'configure':
          return emulator.configure(command.patch);
        case 'reset':
          return emulator.reset();
        case 'stats':
          return emulator.stats();
        case 'close':
          return shutdown();
      }
    };
    const exitAfter = command.cmd === 'close' ? () => process.exit(0) : undefined;
    run().then(
      (value) => send({ type: 'reply', id: command.id, value }, exitAfter),
      (error: unknown) => send({ type: 'reply', id: command.id, error: String(error) }, exitAfter),
    );
  });
  // The parent going away (crash, Ctrl-C) must not leave an emulator behind.
  process.on('disconnect', () => {
    void shutdown().finally(() => process.exit(0));
  });
  send({ type: 'ready', url: emulator.url });
}

main().catch((error: unknown) => {
  process.stderr.write(`emulator-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
