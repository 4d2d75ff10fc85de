import type { InputFormField } from '../dify/checkInputsAgainstForm.js';
import type { DifyAppKind } from '../dify/DifyRequest.js';
import { EMULATOR_DEFAULT_APPS } from './EMULATOR_DEFAULT_APPS.js';

/** How long the emulated app "thinks" before answering. */
export type LatencyDistribution =
  | { readonly kind: 'fixed'; readonly ms: number }
  | { readonly kind: 'uniform'; readonly minMs: number; readonly maxMs: number }
  /** Log-normal fitted to a median and a 99th percentile. */
  | { readonly kind: 'lognormal'; readonly p50Ms: number; readonly p99Ms: number };

/** Probabilities in [0, 1] of each injected fault, drawn per request. */
export interface FaultRates {
  /** 429 `too_many_requests` (with `Retry-After` only when `rateLimitRetryAfter` is on). */
  readonly rate429?: number;
  /** 500 `internal_server_error` JSON. */
  readonly rate500?: number;
  /** 502 with an nginx HTML page (non-JSON body). */
  readonly rate502Html?: number;
  /** Socket destroyed before any response. */
  readonly rateReset?: number;
  /** Headers never sent; the request hangs until the client gives up. */
  readonly rateStall?: number;
  /** Streaming only: the connection is destroyed mid-stream, after some events. */
  readonly rateDrop?: number;
  /** Streaming only: an `error` event, then silence (Dify 1.13 does not close). */
  readonly rateErrorEvent?: number;
  /** Workflow: HTTP 200 with `data.status: "failed"`. */
  readonly rateRunFailed?: number;
}

/**
 * Why an app refuses every call (Dify's 403 `forbidden` checks, in this order of precedence):
 * `deleted` "The app no longer exists.", `abnormal` "The app's status is abnormal.", `api-disabled`
 * "The app's API service has been disabled.", `workspace-archived` "The workspace's status is archived."
 */
export type EmulatedAppStatus = 'normal' | 'deleted' | 'abnormal' | 'api-disabled' | 'workspace-archived';

/** A `file` or `file-list` variable of an emulated app's start form, as `GET /parameters` lists it. */
export interface EmulatedFileInput {
  readonly variable: string;
  readonly type: 'file' | 'file-list';
  /** @defaultValue false */
  readonly required?: boolean;
  /** @defaultValue `['document', 'image']` */
  readonly allowedFileTypes?: readonly string[];
  /** @defaultValue `[]` */
  readonly allowedFileExtensions?: readonly string[];
  /** @defaultValue `['local_file', 'remote_url']` */
  readonly allowedFileUploadMethods?: readonly string[];
  /** `file-list`: the most files. @defaultValue 5 */
  readonly maxLength?: number;
}

/** A fault answered to uploads of one file name (an explicit test knob; real Dify has none). */
export interface UploadFault {
  /** `reset` destroys the socket; `413` / `415` answer Dify's `file_too_large` / `unsupported_file_type`. */
  readonly kind: 'reset' | '413' | '415';
  /** Only the first N uploads of that name. @defaultValue Infinity */
  readonly times?: number;
}

/** One emulated Dify app, reached with its own API key. */
export interface EmulatedApp {
  readonly key: string;
  readonly mode: DifyAppKind;
  /** UUID used in messages (`...allowed for <app_id> is N.`). @defaultValue a UUID derived from `key` */
  readonly id?: string;
  /** Shown by `GET /info`. @defaultValue `Emulated <mode> app` */
  readonly name?: string;
  /** Workflow apps: the published version's UUID (`POST /workflows/{id}/run` accepts only it). @defaultValue derived from `key` */
  readonly workflowId?: string;
  /**
   * Start-node variables that must be present and non-null (`<name> is required in input form`); they
   * are listed by `GET /parameters`. Other input keys are accepted and echoed. @defaultValue `[]`
   */
  readonly requiredInputs?: readonly string[];
  /**
   * The Start node's variables with their types and limits, as `GET /parameters` lists them; runs are
   * checked against it with Dify's rules and messages (type, `max_length`, select options, number).
   * Replaces `requiredInputs` when given. Inputs it does not declare are still accepted and echoed
   * (real Dify drops them: the emulator's outputs are its own deterministic function anyway).
   * @defaultValue each of `requiredInputs` as a required `text-input` without `max_length`
   */
  readonly inputForm?: readonly InputFormField[];
  /** @defaultValue 'normal' */
  readonly status?: EmulatedAppStatus;
  /**
   * File variables of the start form, listed by `GET /parameters` and checked on runs with Dify's
   * messages; a workflow's outputs then carry each file object (`filename`, `size`, …) under the
   * variable's name, so a mix-up of files between records is detectable. @defaultValue `[]`
   */
  readonly fileInputs?: readonly EmulatedFileInput[];
}

/** The Dify versions whose differing behaviours the emulator can copy (dify-api.md §0). */
export type EmulatedDifyVersion = '1.13' | '1.15';

export interface EmulatorOptions {
  /**
   * Which Dify's behaviour where versions differ (dify-api.md §4 "How the stream ends", §2): `1.13`
   * (the real 1.13.2 in the test suite) answers an invalid input in streaming workflow mode with
   * `event: ping` and then silence (its 300 s idle close), and an unparsable body with werkzeug's
   * "The browser (or proxy) sent a request that this server could not understand."; `1.15` sends the
   * synthetic `workflow_started` + failed `workflow_finished` pair (PR #37919) and "Invalid JSON payload
   * received or JSON payload is empty.". @defaultValue '1.13'
   */
  readonly difyVersion?: EmulatedDifyVersion;
  /** @defaultValue 0 (an ephemeral port) */
  readonly port?: number;
  /** @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** @defaultValue {@link EMULATOR_DEFAULT_APPS}: one workflow, one completion, one chat app */
  readonly apps?: readonly EmulatedApp[];
  /** @defaultValue `{ kind: 'fixed', ms: 0 }` */
  readonly latency?: LatencyDistribution;
  /** Dify's app concurrency limit (`max_active_requests`); 0 = unlimited. @defaultValue 0 */
  readonly maxActiveRequests?: number;
  /** How the concurrency limit answers: 400 `invalid_param` (Dify's code path) or 429 `too_many_requests` (its docs). @defaultValue 400 */
  readonly concurrencyLimitStatus?: 400 | 429;
  /**
   * Requests per second allowed per app key: a token bucket holding one second's worth (burst = rps),
   * which **starts full** unless {@link rateLimitStartsFull} is off; the excess gets 429
   * `too_many_requests`. Not a Dify /v1 feature (Cloud billing quotas answer 429 much like this).
   * 0 = off. @defaultValue 0
   */
  readonly rateLimitRps?: number;
  /**
   * The rate-limit bucket starts with one second's burst. Off, it is empty at the first call after
   * `configure`/`reset` and fills from then on, so no client gets more than `rateLimitRps` × the seconds
   * since its first call (a benchmark measuring goodput ÷ R wants that).
   * @defaultValue true
   */
  readonly rateLimitStartsFull?: boolean;
  /**
   * Answer zero-latency calls on a later event-loop turn (`setImmediate`) instead of inside the request
   * handler. Synchronous answers serialise a single-process server (at most one call in flight), so a
   * benchmark of client concurrency at 0 ms wants this on. Real Dify is always asynchronous.
   * @defaultValue false
   */
  readonly answerAsync?: boolean;
  /**
   * Send `Retry-After` with the rate limit's 429s (seconds until the next token) and with injected 429
   * faults (`faultRetryAfterSeconds`). Dify's `/v1` never sends it (dify-api.md §5), so it is off: an
   * explicit knob for clients that want to test the header. @defaultValue false
   */
  readonly rateLimitRetryAfter?: boolean;
  /** @defaultValue all 0 */
  readonly faults?: FaultRates;
  /**
   * Faults are injected only on the first N calls of each input (counted by {@link countBy}), so a
   * client that retries N times always succeeds in the end. @defaultValue Infinity
   */
  readonly faultsPerInputMax?: number;
  /**
   * The input field that identifies an input for counters and per-input fault limits (all apps share
   * one count). Without that field: the canonical JSON of `inputs`, plus the query for completion and
   * chat. @defaultValue 'id'
   */
  readonly countBy?: string;
  /**
   * Keep per-input call counts (costs memory on huge runs). Without them `faultsPerInputMax` and the
   * `__fault` hook's `:N` suffix cannot tell calls apart, so every call counts as a first call. @defaultValue true
   */
  readonly trackCallsPerInput?: boolean;
  /** Seed for latency and fault draws; {@link Emulator.reset} re-seeds. @defaultValue 1 */
  readonly seed?: number;
  /** `Retry-After` (whole seconds) sent with injected 429 faults when `rateLimitRetryAfter` is on. @defaultValue 1 */
  readonly faultRetryAfterSeconds?: number;
  /**
   * About how many workflow runs and chat conversations are remembered for `GET /workflows/run/{id}`,
   * `/workflows/logs` and `conversation_id` checks: the most recent, at least half of them (older ones
   * are forgotten in batches). 0 remembers none. Thousands cost throughput: every remembered run
   * outlives the garbage collector's young generation. @defaultValue 100
   */
  readonly maxStoredRuns?: number;
  /** Faults answered to `POST /files/upload` by file name. Real Dify has none: off by default. @defaultValue `{}` */
  readonly uploadFaults?: Readonly<Record<string, UploadFault>>;
  /** How long each upload takes to answer, in ms (makes concurrent uploads observable). @defaultValue 0 */
  readonly uploadLatencyMs?: number;
}

/** Every {@link EmulatorOptions} default, in one frozen place. */
export const EMULATOR_DEFAULTS: Readonly<Required<EmulatorOptions>> = Object.freeze({
  difyVersion: '1.13',
  port: 0,
  host: '127.0.0.1',
  apps: EMULATOR_DEFAULT_APPS,
  latency: Object.freeze({ kind: 'fixed', ms: 0 }),
  maxActiveRequests: 0,
  concurrencyLimitStatus: 400,
  rateLimitRps: 0,
  rateLimitStartsFull: true,
  answerAsync: false,
  rateLimitRetryAfter: false,
  faults: Object.freeze({}),
  faultsPerInputMax: Number.POSITIVE_INFINITY,
  countBy: 'id',
  trackCallsPerInput: true,
  seed: 1,
  faultRetryAfterSeconds: 1,
  maxStoredRuns: 100,
  uploadFaults: Object.freeze({}),
  uploadLatencyMs: 0,
});

/** The app's input form: `inputForm`, else `requiredInputs` as required text inputs. */
export function inputFormOf(app: EmulatedApp): readonly InputFormField[] {
  return (
    app.inputForm ??
    (app.requiredInputs ?? []).map((variable) => ({ type: 'text-input', variable, required: true }))
  );
}
