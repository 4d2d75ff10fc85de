import type { EmulatorOptions } from './EmulatorOptions.js';
import type { EmulatorServer } from './EmulatorServer.js';
import type { Exchange } from './Exchange.js';

/** `/_emulator/*`: stats, reset and config, outside the Service API and its counters. */
export function answerControl(server: EmulatorServer, ex: Exchange, path: string): void {
  const route = `${ex.req.method} ${path}`;
  let status = 200;
  let value: unknown;
  if (route === 'GET /_emulator/stats') value = server.stats();
  else if (route === 'POST /_emulator/reset') {
    server.reset();
    value = server.stats();
  } else if (route === 'GET /_emulator/config') value = server.options;
  else if (route === 'POST /_emulator/config') {
    try {
      const patch = JSON.parse(ex.bodyText() || '{}') as Record<string, unknown>;
      // JSON has no Infinity: null stands for it, both ways.
      if (patch.faultsPerInputMax === null) patch.faultsPerInputMax = Number.POSITIVE_INFINITY;
      server.configure(patch as Partial<EmulatorOptions>);
      value = server.options;
    } catch (error) {
      status = 400;
      value = { error: error instanceof Error ? error.message : String(error) };
    }
  } else {
    status = 404;
    value = { error: `no such emulator endpoint: ${route}` };
  }
  const body = JSON.stringify(value, (_key, v) => (v === Number.POSITIVE_INFINITY ? null : v));
  ex.send(status, { 'Content-Type': 'application/json' }, body);
}
