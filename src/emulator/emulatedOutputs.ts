import type { DifyAppKind } from '../dify/DifyRequest.js';
import { canonicalInputs, fnv1a32 } from './canonicalJson.js';

/**
 * The answer the emulator gives for one call: a deterministic, cheap function of the inputs (and,
 * for completion and chat, of the query), so a test or benchmark can check that item `i` got the
 * answer for input `i` and not its neighbour's.
 *
 * @remarks
 * Object key order does not matter (keys are sorted first) and the `__fault` hook key is ignored, so
 * a retried call that was faulted once gets the same answer as a clean one.
 * - workflow → `{ result, checksum }`
 * - completion and chat → `{ answer }`, which depends on both the query and the inputs
 *
 * @param mode - the app kind that answers
 * @param inputs - the `inputs` object sent to Dify
 * @param query - completion and chat only; a missing query counts as `""`
 * @returns the workflow `outputs`, or `{ answer }` for completion and chat
 * @example
 * ```ts
 * import { emulatedOutputs } from 'dify-batch/emulator';
 * console.log(emulatedOutputs('workflow', { id: 1, text: 'hi' }));
 * // Output: { result: 'Processed {"id":1,"text":"hi"}', checksum: '…' }
 * ```
 * @since 0.1.0
 * @category testing
 */
export function emulatedOutputs(
  mode: DifyAppKind,
  inputs: Record<string, unknown>,
  query?: string,
): Record<string, unknown> {
  return outputsFromCanonical(mode, canonicalInputs(inputs), query ?? '');
}

/** A workflow's outputs for inputs in canonical form. */
export function workflowOutputs(canonical: string): { result: string; checksum: string } {
  return { result: `Processed ${canonical}`, checksum: fnv1a32(canonical) };
}

/** {@link emulatedOutputs} for inputs already in canonical form (the server computes that once per call). */
export function outputsFromCanonical(
  mode: DifyAppKind,
  canonical: string,
  query: string,
): { result: string; checksum: string } | { answer: string } {
  if (mode === 'workflow') return workflowOutputs(canonical);
  const checksum = fnv1a32(`${query}\n${canonical}`);
  return { answer: `You asked ${JSON.stringify(query)} with inputs ${canonical}. Checksum ${checksum}.` };
}
