import { errors } from 'undici';

type AbortListener = () => void;

/** What aborts a request in progress through undici's dispatch API (collectResponse's handler). */
export interface RequestAborter {
  abort(error: Error): void;
}

/**
 * The abort handle of one call, passed to undici as its `signal`. undici documents
 * `signal: AbortSignal | EventEmitter` and only ever calls `once`/`on` and `removeListener` for
 * `'abort'`, then reads `aborted` and `reason`: this class is that much of an EventEmitter and no
 * more. An AbortController with its EventTarget listeners, and then a full EventEmitter, were each
 * the largest per-call allocation over a bare undici request; a blocking call (collectResponse, the
 * dispatch API) sets `controller` instead of listening, so it allocates no listener list at all.
 */
export class CallAbort {
  aborted = false;
  reason: unknown = undefined;
  /** Aborts the request in progress, if it goes through the dispatch API. */
  controller: RequestAborter | undefined = undefined;
  #listeners: AbortListener[] | undefined = undefined;

  /** Adds an `'abort'` listener (other events never fire). Abort fires once, so `on` = `once`. */
  on(event: string, listener: AbortListener): this {
    if (event !== 'abort') return this;
    if (this.#listeners === undefined) this.#listeners = [listener];
    else this.#listeners.push(listener);
    return this;
  }

  once(event: string, listener: AbortListener): this {
    return this.on(event, listener);
  }

  removeListener(event: string, listener: AbortListener): this {
    const listeners = this.#listeners;
    if (event !== 'abort' || listeners === undefined) return this;
    const index = listeners.lastIndexOf(listener);
    if (index !== -1) listeners.splice(index, 1);
    return this;
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
    const controller = this.controller;
    this.controller = undefined;
    // undici wants an Error; the caller's own reason is what the client reports anyway.
    controller?.abort(reason instanceof Error ? reason : new errors.RequestAbortedError());
  }
}
