import { EventEmitter } from 'node:events';
import type { Dispatcher } from 'undici';
import { errors } from 'undici';

/**
 * The abort handle of one call, passed to undici as its `signal` (undici documents
 * `signal: AbortSignal | EventEmitter`). An EventEmitter costs about an eighth of an AbortController
 * plus its EventTarget listeners, which was the largest per-call overhead over a bare undici request.
 * A call made through the dispatch API (collectResponse) sets `controller` instead of listening.
 */
export class CallAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;
  /** The dispatch controller of the request in progress, if it goes through the dispatch API. */
  controller: Dispatcher.DispatchController | undefined = undefined;

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
    const controller = this.controller;
    this.controller = undefined;
    // undici wants an Error; the caller's own reason is what the client reports anyway.
    controller?.abort(reason instanceof Error ? reason : new errors.RequestAbortedError());
  }
}
