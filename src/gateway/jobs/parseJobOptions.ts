import type { JobOptions } from './JobRecord.js';

/** The job options from query parameters and JSON fields, or a one-line message naming the bad one. */
export function parseJobOptions(
  settings: Record<string, unknown>,
  maxConcurrency: number,
): JobOptions | string {
  const app = settings.app ?? 'workflow';
  if (app !== 'workflow' && app !== 'completion' && app !== 'chat') {
    return `app must be workflow, completion or chat, got ${JSON.stringify(app)}`;
  }
  const mode = settings.response_mode ?? 'blocking';
  if (mode !== 'blocking' && mode !== 'streaming') {
    return `response_mode must be blocking or streaming, got ${JSON.stringify(mode)}`;
  }
  const concurrency = settings.concurrency === undefined ? maxConcurrency : Number(settings.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    return `concurrency must be an integer ≥ 1, got ${JSON.stringify(settings.concurrency)}`;
  }
  const fields: Record<string, string> = {};
  for (const name of ['id_field', 'inputs_field', 'query_field', 'user']) {
    const value = settings[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '')
      return `${name} must be a non-empty string, got ${JSON.stringify(value)}`;
    fields[name] = value;
  }
  return {
    app,
    response_mode: mode,
    concurrency: Math.min(concurrency, maxConcurrency),
    user: fields.user ?? 'dify-batch-job',
    ...(fields.id_field === undefined ? {} : { id_field: fields.id_field }),
    ...(fields.inputs_field === undefined ? {} : { inputs_field: fields.inputs_field }),
    ...(fields.query_field === undefined ? {} : { query_field: fields.query_field }),
  };
}
