import type { OutgoingHttpHeaders } from 'node:http';
import type { EmulatedDifyVersion } from './EmulatorOptions.js';
import type { Exchange } from './Exchange.js';
import { restxJson } from './pyJson.js';

/**
 * Fixed texts of the Dify Service API as `docs/dify-api.md` records them, and the error-body renderer.
 * Used by `EmulatorServer` and the response builders.
 */

/** The Dify version the emulator's welcome route claims (`GET /v1/`, a 1.15 route). */
export const DIFY_VERSION = '1.15.0';

/**
 * The `X-Version` header real Dify adds to every answer (`ext_app_metrics.py`: `dify_config.project.version`,
 * on errors, HTML 404s and streams alike), per emulated version.
 */
export const X_VERSION: Readonly<Record<EmulatedDifyVersion, string>> = {
  '1.13': '1.13.2',
  '1.15': '1.15.0',
};

/**
 * An error body as flask-restx renders it on the real 1.13.2 server: `{"code","message","status"}`,
 * compact, `\uXXXX` and `\/` escapes, with a trailing newline (README of ../shared/dify).
 */
export function errorBody(code: string, message: string, status: number): string {
  return `${restxJson({ code, message, status })}\n`;
}

export const MSG = Object.freeze({
  authMissing: "Authorization header must be provided and start with 'Bearer'",
  authScheme: "Authorization scheme must be 'Bearer'",
  authInvalid: 'Access token is invalid',
  authUnpack: 'not enough values to unpack (expected 2, got 1)',
  appDeleted: 'The app no longer exists.',
  appAbnormal: "The app's status is abnormal.",
  apiDisabled: "The app's API service has been disabled.",
  workspaceArchived: "The workspace's status is archived.",
  userMissing: 'Arg user must be provided.',
  notJson: "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
  /** What Dify 1.15 answers for an empty or invalid JSON body (`external_api.py` rewrites werkzeug's text). */
  badJson: 'Invalid JSON payload received or JSON payload is empty.',
  /** What Dify 1.13.2 answers for an empty or invalid JSON body, or a lone surrogate (werkzeug's BadRequest). */
  badRequest: 'The browser (or proxy) sent a request that this server could not understand.',
  modeMismatch: 'Please check if your app mode matches the right API route.',
  appUnavailable: 'App unavailable, please check your app configurations.',
  methodNotAllowed: 'The method is not allowed for the requested URL.',
  internalError:
    'The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.',
  tooManyRequests: 'Too many requests. Please try again later.',
  runNotFound: 'Workflow run not found.',
  conversationNotFound: 'Conversation Not Exists.',
  stoppedByUser: 'Stopped by user.',
  injectedModelError: '[emulator] Injected fault: the model provider returned an error.',
  injectedRunFailure: 'Node LLM run failed: [emulator] Injected fault: the model provider returned an error.',
});

/** Dify's app concurrency-limit message (`AppInvokeQuotaExceededError`). */
export function concurrencyLimitMessage(appId: string, limit: number): string {
  return `Too many requests. Please try again later. The current maximum concurrent requests allowed for ${appId} is ${limit}.`;
}

/** A bare exception outside the handled ones: flask-restx's catch-all, with its own key order. */
export const UNKNOWN_ERROR_BODY = '{"message":"Internal Server Error","code":"unknown","status":500}\n';

/** Flask's default 404 page (the Service API does not set `catch_all_404s`). */
export const NOT_FOUND_HTML =
  '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n' +
  '<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';

/** nginx's own 502 page, as a reverse proxy sends it when the API process is gone. */
export const NGINX_502_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n' +
  '<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export const WELCOME_BODY = `{"welcome":"Dify OpenAPI","api_version":"v1","server_version":"${DIFY_VERSION}"}\n`;
export const STOP_BODY = '{"result":"success"}\n';
export const META_BODY = '{"tool_icons":{}}\n';

/** Headers of a Flask answer (restx JSON unless told otherwise); `Exchange` adds `X-Version`. */
export function difyHeaders(contentType = 'application/json'): OutgoingHttpHeaders {
  return { 'Content-Type': contentType, 'X-Env': 'PRODUCTION' };
}

/** Answers a Dify error body now. */
export function sendError(
  ex: Exchange,
  status: number,
  code: string,
  message: string,
  extra?: OutgoingHttpHeaders,
): void {
  const headers = difyHeaders();
  if (extra !== undefined) Object.assign(headers, extra);
  ex.send(status, headers, errorBody(code, message, status));
}
