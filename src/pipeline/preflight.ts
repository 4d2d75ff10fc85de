import { DifyBatchError } from '../core/DifyBatchError.js';
import type { Item } from '../core/Item.js';
import { checkInputsAgainstForm, type InputFormField } from '../dify/checkInputsAgainstForm.js';
import type { DifyAppKind, DifyRequest } from '../dify/DifyRequest.js';
import { AppParametersUnavailable, readAppParameters } from '../dify/readAppParameters.js';
import { checkOption } from '../internal/checkOption.js';

/** The `GET /info` modes each `app` kind's route accepts (dify-api.md §2, "Wrong app mode"). */
const MODES_OF: Record<DifyAppKind, readonly string[]> = {
  workflow: ['workflow'],
  completion: ['completion'],
  chat: ['chat', 'agent-chat', 'advanced-chat'],
};

// 401/403/404 and network failures are left to the run: it fails fast on them with its own message
// (ERR_DIFY_AUTH/ROUTE) or waits out the outage (ERR_DIFY_UNREACHABLE).
const LEFT_TO_THE_RUN = new Set([401, 403, 404]);

/** A record check made before each call: throws `ERR_INPUT_INVALID` with Dify's message, or returns. */
export type RecordCheck = (item: Item, request: DifyRequest) => void;

/** Options of {@link preflight}. */
export interface PreflightOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly app: DifyAppKind;
  /** One line per warning (unknown inputs, preflight skipped). */
  readonly warn: (message: string) => void;
  /** Receives the parsed `GET /parameters` body, so other readers of it (file inputs) ask only once. */
  readonly onParameters?: (parameters: Readonly<Record<string, unknown>>) => void;
  readonly signal?: AbortSignal;
}

/**
 * Reads the app's mode and input form once, before the first call, and returns the per-record check.
 *
 * @remarks
 * - A key of another app kind than `app` rejects with `ERR_INVALID_OPTION` (a configuration error:
 *   every call would fail with `not_workflow_app`/`not_chat_app`/`app_unavailable`).
 * - Each record's inputs are checked against `user_input_form` with Dify's own rules and messages
 *   ({@link checkInputsAgainstForm}): a record that cannot succeed fails at once, with no call. This
 *   matters most in streaming mode, where Dify 1.13 answers such a record with `event: ping` and then
 *   300 s of silence (dify-api.md §4).
 * - Inputs the form does not declare (Dify drops them silently) are reported once through `warn`,
 *   when the form declares any variable at all.
 * - When the parameters cannot be read, the run goes on unchecked: after 401/403/404 or a network
 *   failure silently (the run reports those itself), after any other answer (a server that hides
 *   `/parameters` behind a 5xx, a body that is not JSON) with a warning. `preflight: false` / `--no-preflight` skips the reads altogether.
 * @throws InvalidOptionError when the key belongs to another kind of app; `signal.reason` on abort.
 */
export async function preflight(options: PreflightOptions): Promise<RecordCheck | undefined> {
  let mode: string;
  let form: readonly InputFormField[];
  try {
    let parameters: Readonly<Record<string, unknown>>;
    ({ mode, form, parameters } = await readAppParameters({
      baseUrl: options.baseUrl,
      apiKey: options.apiKey,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    }));
    options.onParameters?.(parameters);
  } catch (error) {
    if (!(error instanceof AppParametersUnavailable)) throw error;
    if (error.status !== undefined && !LEFT_TO_THE_RUN.has(error.status)) {
      options.warn(`preflight skipped, inputs are not checked before calls: ${error.message}`);
    }
    return undefined;
  }
  checkOption(
    mode === '' || MODES_OF[options.app].includes(mode),
    'app',
    `the kind of app the API key belongs to (GET /info says "${mode}")`,
    options.app,
  );
  const known = new Set(form.map((field) => field.variable));
  const reported = new Set<string>();
  return (item, request) => {
    if (known.size > 0) {
      const unknown = Object.keys(request.inputs).filter((key) => !known.has(key) && !reported.has(key));
      if (unknown.length > 0) {
        for (const key of unknown) reported.add(key);
        options.warn(
          `the app's input form has no ${unknown.map((k) => `"${k}"`).join(', ')}: Dify ignores ` +
            `${unknown.length === 1 ? 'this input' : 'these inputs'} (first seen in record ${item.id}, seq ${item.seq})`,
        );
      }
    }
    const problem = checkInputsAgainstForm(form, request.inputs);
    if (problem !== undefined) {
      throw new DifyBatchError('ERR_INPUT_INVALID', `record ${item.id} (seq ${item.seq}): ${problem}`);
    }
  };
}
