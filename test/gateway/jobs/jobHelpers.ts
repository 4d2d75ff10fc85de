import type { JobView } from '../../../src/gateway/jobs/JobManager.js';

/** The records `n` NDJSON lines hold: `{"id":"r<i>","q":"…"}`, with `extra(i)` merged in. */
export function ndjson(n: number, extra: (i: number) => Record<string, unknown> = () => ({})): string {
  let text = '';
  for (let i = 0; i < n; i++) text += `${JSON.stringify({ id: `r${i}`, q: `question ${i}`, ...extra(i) })}\n`;
  return text;
}

/** POST /v1/jobs; returns the status and parsed body. */
export async function submitJob(
  base: string,
  key: string,
  body: string,
  options: { readonly query?: string; readonly contentType?: string } = {},
): Promise<{ status: number; body: JobView & { code?: string; message?: string } }> {
  const response = await fetch(`${base}/v1/jobs${options.query ?? ''}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${key}`,
      'content-type': options.contentType ?? 'application/x-ndjson',
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as JobView & { code?: string } };
}

export async function call(
  base: string,
  key: string | undefined,
  path: string,
  method = 'GET',
): Promise<{ status: number; text: string; json: () => JobView & Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

/** Polls the job until `check` holds on its view (every 20 ms, up to `timeoutMs`). */
export async function waitForJob(
  base: string,
  key: string,
  id: string,
  check: (job: JobView) => boolean,
  timeoutMs = 20_000,
): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status, text } = await call(base, key, `/v1/jobs/${id}`);
    if (status === 200) {
      const job = JSON.parse(text) as JobView;
      if (check(job)) return job;
    }
    if (Date.now() > deadline) throw new Error(`waitForJob ${id}: condition not reached (last: ${text})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const isOver = (job: JobView): boolean => job.status !== 'queued' && job.status !== 'running';

/** Parses NDJSON text into records. */
export function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
