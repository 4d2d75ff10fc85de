/**
 * Turns a `Retry-After` header into a delay in milliseconds, or `undefined` when there is none or it
 * cannot be read.
 *
 * @remarks
 * Both RFC 9110 forms are accepted: delay-seconds (`"3"`, and leniently `"1.5"`) and an HTTP date
 * (`"Wed, 21 Oct 2026 07:28:00 GMT"`, measured from `nowMs`). A date in the past gives `0`, never a
 * negative delay. Dify's own `/v1` routes never send the header (dify-api.md §5); proxies and gateways do.
 * @param value - The header value; for a repeated header the first one counts.
 * @param nowMs - The current time, for the date form.
 * @returns The delay in ms (≥ 0), or `undefined`.
 * @since 0.1.0
 * @category client
 */
export function parseRetryAfter(
  value: string | readonly string[] | undefined,
  nowMs: number = Date.now(),
): number | undefined {
  const raw = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (!raw) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  // HTTP dates always spell the month; this keeps Date.parse's leniency ("-3" is year -3) out.
  if (!/\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/.test(raw)) return undefined;
  const at = Date.parse(raw);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
