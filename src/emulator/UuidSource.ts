import { randomBytes } from 'node:crypto';

/**
 * UUID-v4-shaped ids that are unique per source: a random prefix drawn once, then a 48-bit counter.
 * Several times cheaper than `crypto.randomUUID()`, and ids only need to be unique and well-formed.
 * Used by `EmulatorServer` (one source per server) for task, run, message and conversation ids.
 */
export class UuidSource {
  readonly #prefix: string;
  #count = 0;

  constructor() {
    const h = randomBytes(10).toString('hex');
    const variant = '89ab'[Number.parseInt(h[15]!, 16) & 3];
    this.#prefix = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(12, 15)}-${variant}${h.slice(16, 19)}-`;
  }

  next(): string {
    const n = (this.#count++).toString(16);
    return this.#prefix + '000000000000'.slice(n.length) + n;
  }
}
