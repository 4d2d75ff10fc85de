import { difyHeaders, MSG, sendError, UNKNOWN_ERROR_BODY } from './difyResponses.js';
import type { EmulatedDifyVersion } from './EmulatorOptions.js';
import type { AppRuntime } from './EmulatorServer.js';
import type { Exchange } from './Exchange.js';
import { pyRepr } from './pyJson.js';

/**
 * The checks Dify's `validate_app_token` / `fetch_user_arg` decorators make before any route runs:
 * the key, the app state, the JSON body and its `user`. Each answers the error itself and returns
 * `undefined`. Used by `EmulatorServer`.
 */

const FORBIDDEN: Record<string, string> = {
  deleted: MSG.appDeleted,
  abnormal: MSG.appAbnormal,
  'api-disabled': MSG.apiDisabled,
  'workspace-archived': MSG.workspaceArchived,
};

const LONE_SURROGATE =
  /\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F])|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}/;

const UNAUTHORIZED = { 'WWW-Authenticate': 'Bearer realm="api"' };

function isPyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return typeof value !== 'object' || Object.keys(value).length > 0;
}

/** `validate_and_get_api_token` and the app checks, in Dify's order: the app, or `undefined` once answered. */
export function authenticate(ex: Exchange, apps: ReadonlyMap<string, AppRuntime>): AppRuntime | undefined {
  const header = ex.header('authorization');
  // The usual well-formed header, without the general parsing below.
  if (header?.startsWith('Bearer ') && header.indexOf(' ', 7) === -1) {
    return appFor(ex, apps, header.slice(7));
  }
  if (header === undefined || !header.includes(' ')) {
    sendError(ex, 401, 'unauthorized', MSG.authMissing, UNAUTHORIZED);
    return undefined;
  }
  // Python's `header.split(None, 1)`.
  const text = header.trimStart();
  const space = text.search(/\s/);
  const scheme = space === -1 ? text : text.slice(0, space);
  const token = space === -1 ? '' : text.slice(space).trimStart();
  if (token === '') {
    sendError(ex, 400, 'invalid_param', MSG.authUnpack);
    return undefined;
  }
  if (scheme.toLowerCase() !== 'bearer') {
    sendError(ex, 401, 'unauthorized', MSG.authScheme, UNAUTHORIZED);
    return undefined;
  }
  return appFor(ex, apps, token);
}

function appFor(ex: Exchange, apps: ReadonlyMap<string, AppRuntime>, token: string): AppRuntime | undefined {
  const app = apps.get(token);
  if (app === undefined) {
    sendError(ex, 401, 'unauthorized', MSG.authInvalid, UNAUTHORIZED);
    return undefined;
  }
  const forbidden = FORBIDDEN[app.app.status ?? 'normal'];
  if (forbidden !== undefined) {
    sendError(ex, 403, 'forbidden', forbidden);
    return undefined;
  }
  return app;
}

/** Flask's `request.get_json()` and `fetch_user_arg`: 415, 400, then the `user` field. */
export function jsonBodyWithUser(
  ex: Exchange,
  version: EmulatedDifyVersion,
): { body: Record<string, unknown>; user: string } | undefined {
  const type = ex.header('content-type');
  const mime = type === 'application/json' ? type : (type?.split(';', 1)[0] ?? '').trim().toLowerCase();
  if (mime !== 'application/json' && !(mime.startsWith('application/') && mime.endsWith('+json'))) {
    sendError(ex, 415, 'unsupported_media_type', MSG.notJson);
    return undefined;
  }
  let body: unknown;
  try {
    const text = ex.bodyText();
    // Real 1.13.2 refuses a lone surrogate, which JSON.parse accepts (dify-batch's README of ../shared/dify).
    if (text.includes('\\u') && LONE_SURROGATE.test(text)) throw new SyntaxError('lone surrogate');
    body = JSON.parse(text);
  } catch {
    sendError(ex, 400, 'bad_request', version === '1.13' ? MSG.badRequest : MSG.badJson);
    return undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    // `request.get_json().get("user")` on a list, string or number: an unhandled AttributeError.
    ex.send(500, difyHeaders(), UNKNOWN_ERROR_BODY);
    return undefined;
  }
  const user = (body as Record<string, unknown>).user;
  if (!isPyTruthy(user)) {
    sendError(ex, 400, 'invalid_param', MSG.userMissing);
    return undefined;
  }
  // Dify coerces the user with Python's str().
  return { body: body as Record<string, unknown>, user: typeof user === 'string' ? user : pyRepr(user) };
}
