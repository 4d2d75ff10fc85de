import { concatMap, defer, filter, identity, type Observable, type OperatorFunction, pipe, tap } from 'rxjs';
import type { Item } from '../core/Item.js';
import type { ItemResult } from '../core/ItemResult.js';
import {
  checkBoolean,
  checkFunction,
  checkInteger,
  checkNumber,
  checkOption,
  checkSignal,
} from '../internal/checkOption.js';
import { creditGate } from '../pipeline/creditGate.js';
import { batch } from './batch.js';
import { type CallDifyOptions, type CallDifyTransport, callDify } from './callDify.js';
import { reorder } from './reorder.js';

/** Options of {@link processRecords}: callDify's, plus the credit window, ordering, batching and the writer. */
export interface ProcessRecordsOptions<I> extends Omit<CallDifyOptions<I>, 'concurrency'> {
  /**
   * Acknowledges a batch of results (writes it to a sink). Its Promise is the backpressure signal: the
   * batch's credits come back, and one more record is read per result, only once it resolves. A
   * rejection errors the output with that error.
   */
  readonly write: (results: readonly ItemResult[]) => PromiseLike<void> | void;
  /**
   * Most calls in flight at once (see callDify).
   * @defaultValue 16
   */
  readonly concurrency?: number;
  /**
   * Most records between "read from the source" and "acknowledged by `write`": the memory bound and the
   * reorder horizon. An integer ≥ concurrency.
   * @defaultValue 16 × concurrency (derived: {@link PROCESS_RECORDS_DEFAULTS}.window)
   */
  readonly window?: number;
  /**
   * Results in `seq` order; `false` writes them as they complete.
   * @defaultValue true
   */
  readonly ordered?: boolean;
  /**
   * The `seq` the ordered output starts at (a resumed source starts past 0).
   * @defaultValue the `seq` of the first record read
   */
  readonly firstSeq?: number | undefined;
  /**
   * Results are written in batches of up to `size`, or whatever has gathered `maxWaitMs` after a
   * batch's first result. `size` must be ≤ window (a batch waiting for more would starve the credits).
   * @defaultValue `{ size: min(100, window), maxWaitMs: 50 }` (derived: {@link PROCESS_RECORDS_DEFAULTS}.batch)
   */
  readonly batch?: { readonly size?: number; readonly maxWaitMs?: number } | undefined;
  /**
   * Stops reading: the source is closed, records already read finish and are written, then the output
   * completes.
   * @defaultValue undefined
   */
  readonly drainSignal?: AbortSignal | undefined;
  /**
   * A record was read (before its call), with the records now outstanding (≤ window).
   * @defaultValue undefined
   */
  readonly onRead?: ((item: Item<I>, outstanding: number) => void) | undefined;
  /**
   * Records already done elsewhere (a resumed run's output has them): no call, no result; their
   * credit comes back at once.
   * @defaultValue undefined
   */
  readonly skip?: ((item: Item<I>) => boolean) | undefined;
  /**
   * Each result as its call completes, before reordering (a journal: a result held for its turn
   * survives a crash).
   * @defaultValue undefined
   */
  readonly onResult?: ((result: ItemResult) => void) | undefined;
  /**
   * A failing source stops reading instead of erroring the output: the records already read (calls
   * already paid for) finish and are written, the output completes, and this receives the
   * `ERR_SOURCE_READ` error. Unset, the output errors with it.
   * @defaultValue undefined
   */
  readonly onSourceError?: ((error: Error) => void) | undefined;
}

/**
 * Defaults of {@link ProcessRecordsOptions}, keyed by option name; the derived ones are functions of
 * the option they derive from.
 */
export const PROCESS_RECORDS_DEFAULTS = Object.freeze({
  concurrency: 16,
  /** Derived from `concurrency`: several slots per call, so one slow record does not stall the rest. */
  window: (concurrency: number): number => 16 * concurrency,
  ordered: true,
  batch: Object.freeze({
    /** Derived from `window`: a batch never holds more than the window lets in. */
    size: (window: number): number => Math.min(100, window),
    maxWaitMs: 50,
  }),
});

/**
 * The whole credit loop as one operator: each source (an AsyncIterable of records) is read through a
 * credit gate, called with {@link callDify}, put back in `seq` order ({@link reorder}), grouped
 * ({@link batch}) and handed to `write`; each acknowledged batch returns its credits and is emitted.
 *
 * @remarks
 * - **Backpressure:** at most `window` records between reading and `write`'s acknowledgement, whatever
 *   the input size or sink speed; callers never release credits by hand.
 * - **Exactly one result per record**, in `seq` order unless `ordered: false`; per-record failures are
 *   `ok: false` results. Sources emitted by the input are processed one after another.
 * - **Errors:** callDify's fatal errors, a rejected `write`, and (without `onSourceError`) a failing
 *   source error the output. **Cancellation:** unsubscribing stops reading and aborts calls in flight.
 *
 * @example
 * ```ts
 * import { of } from 'rxjs';
 * import type { DifyTransport, Item } from 'dify-batch';
 * import { processRecords } from 'dify-batch/operators';
 *
 * const transport: DifyTransport = async (request) => ({ outputs: { twice: Number(request.inputs.n) * 2 } });
 * async function* records(): AsyncGenerator<Item> {
 *   for (let seq = 0; seq < 5; seq++) yield { seq, id: `r${seq}`, inputs: { n: seq } };
 * }
 * const written: number[] = [];
 * of(records())
 *   .pipe(
 *     processRecords(transport, {
 *       concurrency: 2,
 *       window: 4,
 *       batch: { size: 2 },
 *       toRequest: (item) => ({ app: 'workflow', inputs: item.inputs, user: 'me', responseMode: 'blocking' }),
 *       write: async (results) => {
 *         for (const r of results) written.push(r.ok ? Number(r.outputs.twice) : -1);
 *       },
 *     }),
 *   )
 *   .subscribe({ complete: () => console.log(written) });
 * // Output:
 * // [ 0, 2, 4, 6, 8 ]
 * ```
 *
 * @param transport - Makes one call; see callDify.
 * @param options - `write` and `toRequest` (required), window, ordering, batching, callDify's options;
 * see {@link PROCESS_RECORDS_DEFAULTS}.
 * @returns An operator from sources of records to the batches `write` acknowledged.
 * @throws `ERR_INVALID_OPTION` for a bad option.
 * @category operators
 */
export function processRecords<I = Record<string, unknown>>(
  transport: CallDifyTransport,
  options: Readonly<ProcessRecordsOptions<I>>,
): OperatorFunction<AsyncIterable<Item<I>>, readonly ItemResult[]> {
  const {
    write,
    window: windowOption,
    ordered = PROCESS_RECORDS_DEFAULTS.ordered,
    firstSeq,
    batch: batchOptions,
    drainSignal,
    onRead,
    skip,
    onResult,
    onSourceError,
    ...callOptions
  } = options;
  const concurrency = checkInteger(
    'concurrency',
    options.concurrency ?? PROCESS_RECORDS_DEFAULTS.concurrency,
    1,
  );
  const window = checkInteger('window', windowOption ?? PROCESS_RECORDS_DEFAULTS.window(concurrency), 1);
  checkOption(window >= concurrency, 'window', `at least \`concurrency\` (${concurrency})`, window);
  const size = Math.min(
    checkInteger('batch.size', batchOptions?.size ?? PROCESS_RECORDS_DEFAULTS.batch.size(window), 1),
    window,
  );
  const maxWaitMs = checkNumber(
    'batch.maxWaitMs',
    batchOptions?.maxWaitMs ?? PROCESS_RECORDS_DEFAULTS.batch.maxWaitMs,
    0,
    {
      allowInfinity: true,
    },
  );
  checkBoolean('ordered', ordered);
  if (firstSeq !== undefined) checkInteger('firstSeq', firstSeq, 0);
  checkFunction('write', write);
  checkSignal(drainSignal, 'drainSignal');
  checkFunction('onRead', onRead, true);
  checkFunction('skip', skip, true);
  checkFunction('onResult', onResult, true);
  checkFunction('onSourceError', onSourceError, true);
  // Built (and its options checked) once, here: a bad option fails now, not on the first record.
  const call = callDify<I>(transport, { ...callOptions, concurrency });

  const processOne = (source: AsyncIterable<Item<I>>): Observable<readonly ItemResult[]> =>
    defer(() => {
      const gate = creditGate(source, {
        window,
        completeOnError: onSourceError !== undefined,
        ...(drainSignal === undefined ? {} : { signal: drainSignal }),
      });
      let firstRead: number | undefined;
      return gate.items.pipe(
        tap((item) => {
          firstRead ??= item.seq;
          onRead?.(item, gate.outstanding);
        }),
        skip === undefined
          ? identity
          : filter((item: Item<I>) => {
              if (!skip(item)) return true;
              gate.release(1);
              return false;
            }),
        call,
        onResult === undefined ? identity : tap(onResult),
        ordered
          ? reorder<ItemResult>({ maxBuffered: window, firstSeq: firstSeq ?? (() => firstRead ?? 0) })
          : identity,
        batch<ItemResult>({ size, maxWaitMs }),
        // One write at a time, in order; the credits come back only once it is acknowledged.
        concatMap(async (results) => {
          await write(results);
          gate.release(results.length);
          return results;
        }),
        tap({
          complete: () => {
            if (gate.error !== undefined) onSourceError?.(gate.error);
          },
        }),
      );
    });

  return pipe(concatMap(processOne));
}
