/**
 * The `Symbol.hasInstance` of DifyBatchError, DifyApiError and InvalidOptionError (undici's scheme):
 * when `instanceof` names `owner` itself, the answer is `owner`'s `Symbol.for` brand, so it holds across
 * duplicate installs; a class derived from `owner` elsewhere inherits the static method but not the
 * brand, so it gets the ordinary prototype-chain check.
 */
export function hasBrand(
  target: unknown,
  owner: abstract new (...args: never[]) => unknown,
  brand: symbol,
  instance: unknown,
): boolean {
  if (target !== owner) return Function.prototype[Symbol.hasInstance].call(target, instance);
  return (
    typeof instance === 'object' && instance !== null && (instance as Record<symbol, unknown>)[brand] === true
  );
}
