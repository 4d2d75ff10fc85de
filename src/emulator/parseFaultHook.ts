/** The faults an emulator can inject (`faultsInjected` keys and `__fault` hook values). */
export type FaultKind = '429' | '500' | '502' | 'reset' | 'stall' | 'drop' | 'error' | 'failed';

const HOOK = /^(429|500|502|reset|stall|drop|error|failed)(?::(\d+))?$/;

/**
 * Reads an input's `__fault` hook: `"500"` faults every call of that input, `"500:2"` only its first
 * two. Anything else (wrong type, unknown kind) is no hook. Used by `EmulatorServer`.
 */
export function parseFaultHook(value: unknown): { kind: FaultKind; calls: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const match = HOOK.exec(value.trim());
  if (match === null) return undefined;
  return {
    kind: match[1] as FaultKind,
    calls: match[2] === undefined ? Number.POSITIVE_INFINITY : Number(match[2]),
  };
}
