import { type Dispatcher, Pool } from 'undici';
import type { InputFormField } from './checkInputsAgainstForm.js';

/** What `GET /info` and `GET /parameters` tell about an app. */
export interface AppParameters {
  /** `GET /info` `mode`: `workflow`, `completion`, `chat`, `agent-chat` or `advanced-chat`. */
  readonly mode: string;
  /** The Start node's variables (`user_input_form`), in form order. */
  readonly form: readonly InputFormField[];
  /** The whole parsed `GET /parameters` body (file variables and size limits are read from it too). */
  readonly parameters: Readonly<Record<string, unknown>>;
}

/** Options of {@link readAppParameters}. */
export interface ReadAppParametersOptions {
  /** Service API base URL, `/v1` included. */
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly signal?: AbortSignal;
  /** Per request, headers and body. @defaultValue 10000 */
  readonly timeoutMs?: number;
  /** Where requests go (tests, proxies). @defaultValue a one-connection pool, closed before returning */
  readonly dispatcher?: Dispatcher;
}

/**
 * Why the parameters could not be read: `status` is the HTTP status (absent for network failures).
 * The message names the route and never the key.
 */
export class AppParametersUnavailable extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'AppParametersUnavailable';
    this.status = status;
  }
}

/**
 * Reads the app's mode (`GET /info`) and input form (`GET /parameters`), for the preflight of
 * `runBatch`.
 *
 * @remarks
 * Both routes need only the app key (dify-api.md §1) and cost no run. Any answer other than a 200
 * JSON object rejects with {@link AppParametersUnavailable}; the caller decides what that means.
 * @throws AppParametersUnavailable; the caller's `signal.reason` on abort.
 * @category client
 */
export async function readAppParameters(options: ReadAppParametersOptions): Promise<AppParameters> {
  const url = new URL(options.baseUrl);
  // Its own pool, closed at once: no socket outlives the two reads (no hidden global dispatcher).
  const owned = options.dispatcher === undefined ? new Pool(url.origin, { connections: 1 }) : undefined;
  const dispatcher = options.dispatcher ?? owned!;
  let info: Record<string, unknown>;
  let parameters: Record<string, unknown>;
  try {
    info = await getJson(options, dispatcher, 'info');
    parameters = await getJson(options, dispatcher, 'parameters');
  } finally {
    await owned?.close();
  }
  const rawForm = Array.isArray(parameters.user_input_form) ? parameters.user_input_form : [];
  return {
    mode: typeof info.mode === 'string' ? info.mode : '',
    form: rawForm.flatMap(toField),
    parameters,
  };
}

async function getJson(
  options: ReadAppParametersOptions,
  dispatcher: Dispatcher,
  route: string,
): Promise<Record<string, unknown>> {
  const path = `${new URL(options.baseUrl).pathname.replace(/\/+$/, '')}/${route}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  let status: number;
  let text: string;
  try {
    const response = await dispatcher.request({
      path,
      method: 'GET',
      headers: { authorization: `Bearer ${options.apiKey}` },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    status = response.statusCode;
    text = await response.body.text();
  } catch (error) {
    options.signal?.throwIfAborted();
    const reason = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'error';
    throw new AppParametersUnavailable(`GET /${route} failed (${reason})`);
  }
  if (status !== 200) throw new AppParametersUnavailable(`GET /${route} answered ${status}`, status);
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && !Array.isArray(body))
      return body as Record<string, unknown>;
  } catch {
    // Falls through to the same answer as a non-object body.
  }
  throw new AppParametersUnavailable(`GET /${route} answered 200 without a JSON object`, status);
}

/** One `{"<type>": {variable, required, max_length, options, …}}` entry of the old-structure form. */
function toField(entry: unknown): InputFormField[] {
  if (typeof entry !== 'object' || entry === null) return [];
  const [type, spec] = Object.entries(entry)[0] ?? [];
  if (type === undefined || typeof spec !== 'object' || spec === null) return [];
  const s = spec as Record<string, unknown>;
  if (typeof s.variable !== 'string') return [];
  return [
    {
      // The entry's key is the form type; `spec.type` repeats it on newer servers.
      type: typeof s.type === 'string' ? s.type : type,
      variable: s.variable,
      required: s.required === true,
      ...(typeof s.max_length === 'number' ? { maxLength: s.max_length } : {}),
      ...(Array.isArray(s.options) ? { options: s.options.filter((o) => typeof o === 'string') } : {}),
    },
  ];
}
