/**
 * Parses a UUID the way Python's `uuid.UUID(str)` does (optional `urn:`/`uuid:` prefixes, braces and
 * hyphens anywhere) and returns its canonical lower-case form, or `undefined` when Python would raise.
 * Used for `conversation_id`, `/workflows/{workflow_id}/run` and run ids.
 */
export function pythonUuid(value: string): string | undefined {
  const hex = value
    .replaceAll('urn:', '')
    .replaceAll('uuid:', '')
    .replace(/^[{}]+|[{}]+$/g, '')
    .replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return undefined;
  const h = hex.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
