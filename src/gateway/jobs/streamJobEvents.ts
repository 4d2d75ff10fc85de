import type { ServerResponse } from 'node:http';
import type { JobManager } from './JobManager.js';

const HEARTBEAT_MS = 15_000;
const PROGRESS_EVENT_MS = 250;

/**
 * Server-sent events of one job: `status` (the job view, the first one with the chart's `samples`)
 * after progress at most every 250 ms, `sample` (one chart point) about every second, `end` when the
 * job is over (then the stream closes).
 */
export async function streamJobEvents(
  config: { readonly manager: JobManager; readonly shutdown: AbortSignal },
  res: ServerResponse,
  id: string,
  owner: string,
): Promise<void> {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
  const write = (event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const finished = (): boolean => {
    const status = config.manager.get(id, owner)?.status;
    return status !== 'queued' && status !== 'running';
  };
  write('status', { ...config.manager.get(id, owner), samples: config.manager.samples(id) });
  if (finished() && config.manager.get(id, owner)?.waiting_for_owner !== true) {
    write('end', {});
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    let lastProgress = 0;
    let timer: NodeJS.Timeout | undefined;
    const sendStatus = (): void => {
      timer = undefined;
      lastProgress = Date.now();
      write('status', config.manager.get(id, owner));
    };
    const unsubscribe = config.manager.subscribe(id, (event) => {
      if (event === 'sample') {
        write('sample', config.manager.samples(id).at(-1));
        return;
      }
      if (event === 'end') {
        sendStatus();
        if (finished()) {
          write('end', {});
          stop();
        }
        return;
      }
      if (timer !== undefined) return;
      timer = setTimeout(sendStatus, Math.max(0, lastProgress + PROGRESS_EVENT_MS - Date.now()));
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      unsubscribe();
      clearInterval(heartbeat);
      if (timer !== undefined) clearTimeout(timer);
      config.shutdown.removeEventListener('abort', stop);
      res.end();
      resolve();
    };
    res.once('close', stop);
    config.shutdown.addEventListener('abort', stop, { once: true });
  });
}
