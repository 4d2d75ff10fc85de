/**
 * Canonical JSON (sorted keys, compact) and a cheap checksum: the basis of the emulator's
 * deterministic outputs and of its per-input call counters. Used by `emulatedOutputs` and `EmulatorServer`.
 */

/** The input key that carries the emulator's deterministic fault hook; never part of an input's identity. */
export const FAULT_HOOK_KEY = '__fault';

/** Compact JSON with object keys sorted at every level, so key order never changes an input's identity. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      out +=
        (i === 0 ? '' : ',') +
        (item === undefined || typeof item === 'function' ? 'null' : canonicalJson(item));
    }
    return `${out}]`;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return canonicalJson(toJSON.call(value));
  return canonicalObject(value as Record<string, unknown>, undefined);
}

/** Canonical JSON of an `inputs` object, leaving out the fault hook key. */
export function canonicalInputs(inputs: Record<string, unknown>): string {
  return canonicalObject(inputs, FAULT_HOOK_KEY);
}

function canonicalObject(value: Record<string, unknown>, skipKey: string | undefined): string {
  const keys = Object.keys(value).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = value[key];
    if (key === skipKey || item === undefined || typeof item === 'function') continue;
    out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(item)}`;
    first = false;
  }
  return `${out}}`;
}

/** 32-bit FNV-1a of the UTF-16 code units, as 8 hex digits. */
export function fnv1a32(text: string, seed = 0x811c9dc5): string {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(16).padStart(8, '0');
}

/** A stable UUID-shaped id derived from `text` (app ids, workflow ids, end-user ids): same text, same id. */
export function hashUuid(text: string): string {
  const hex =
    fnv1a32(text, 0x811c9dc5) +
    fnv1a32(text, 0x01000193) +
    fnv1a32(text, 0x2f1b3c4d) +
    fnv1a32(text, 0x5bd1e995);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
