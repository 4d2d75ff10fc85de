import { EventEmitter } from 'node:events';

/**
 * The abort handle of one call, passed to undici as its `signal` (undici documents
 * `signal: AbortSignal | EventEmitter`). An EventEmitter costs about an eighth of an AbortController
 * plus its EventTarget listeners, which was the largest per-call overhead over a bare undici request.
 */
export class CallAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}
