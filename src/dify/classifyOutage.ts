import { DifyApiError } from '../core/DifyApiError.js';

/**
 * How a failed call bears on "is Dify down?" (used by callDify's circuit breaker):
 * - `unreachable`: the request never reached Dify (refused, unresolvable, connect timeout). It says
 *   nothing about the record, only about the server.
 * - `outage`: a network error or timeout after sending, a broken stream, or a 5xx. Across the board
 *   it means the server is down; alone it may be the record's own trouble.
 * - `undefined`: Dify answered (a 4xx, a rate limit, a failed run): the server is up.
 * @category client
 */
export type OutageKind = 'unreachable' | 'outage' | undefined;

const SERVER_ERRORS = new Set([500, 502, 503, 504]);

/** Classifies a call's error for the circuit breaker; see {@link OutageKind}. */
export function classifyOutage(error: unknown): OutageKind {
  if (!(error instanceof DifyApiError)) return undefined;
  switch (error.code) {
    case 'ERR_DIFY_NETWORK':
    case 'ERR_DIFY_TIMEOUT':
      return error.ambiguous ? 'outage' : 'unreachable';
    case 'ERR_DIFY_STREAM':
      return 'outage';
    case 'ERR_DIFY_HTTP':
      return error.status !== undefined && SERVER_ERRORS.has(error.status) ? 'outage' : undefined;
    default:
      return undefined;
  }
}
