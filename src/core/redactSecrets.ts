/** Dify app keys (`app-` + 24 chars), dataset keys and any `Bearer <token>`. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bBearer\s+[^\s"',;]+/gi,
  /\b(?:app|dataset|ds)-[A-Za-z0-9_-]{8,}/g,
];

/**
 * Replaces anything that looks like an API key or a bearer token with `[REDACTED]`.
 * Applied to every error message we create, so a key echoed by a server or a proxy never leaks.
 * @category errors
 */
export function redactSecrets(text: string): string {
  let out = text;
  for (const pattern of SECRET_PATTERNS)
    out = out.replace(pattern, (m) =>
      m.toLowerCase().startsWith('bearer') ? 'Bearer [REDACTED]' : '[REDACTED]',
    );
  return out;
}
