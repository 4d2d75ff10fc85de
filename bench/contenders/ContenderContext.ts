import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { OutputChecker } from '../OutputChecker.js';
import type { ContenderSpec, WorkloadSource } from '../protocol.js';
import { type BenchRecord, generateRecords, seqOfId } from '../workload.js';

/** Calls "Dify" for one record and resolves with its outputs; rejects on any failure. */
export type CallFn = (record: BenchRecord) => Promise<unknown>;

/** Everything a contender needs; built by the worker before the clock starts. */
export interface ContenderContext {
  readonly spec: ContenderSpec;
  readonly checker: OutputChecker;
  readonly sink: PacedSink;
  /** A fresh iterable of the workload's records (generated, or parsed from the NDJSON file). */
  readonly records: () => Iterable<BenchRecord> | AsyncIterable<BenchRecord>;
  /** The plain call the hand-written baselines use (undici over HTTP, or the in-process echo). */
  readonly call: CallFn;
  /** The in-process transport's outputs for a record (its "Dify" is an echo of the id). */
  readonly echo: (inputs: { readonly id: string }) => Record<string, unknown>;
}

/** Outcome of one call, as baselines collect it before handing it to the checker. */
export type Settled =
  | { readonly ok: true; readonly outputs: unknown }
  | { readonly ok: false; readonly message: string };

export async function settle(call: CallFn, record: BenchRecord): Promise<Settled> {
  try {
    return { ok: true, outputs: await call(record) };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** Hands one outcome to the checker. */
export function check(checker: OutputChecker, seq: number, outcome: Settled): void {
  if (outcome.ok) checker.ok(seq, outcome.outputs);
  else checker.fail(seq, outcome.message);
}

/** Hands the outcomes of a chunk of records (same order) to the checker. */
export function checkAll(
  checker: OutputChecker,
  records: readonly BenchRecord[],
  outcomes: readonly Settled[],
): void {
  for (let i = 0; i < records.length; i++) check(checker, seqOfId(records[i]!.id), outcomes[i]!);
}

/**
 * Where every contender delivers its results. It counts them, notes the RSS once `count / 10` results are
 * in (the heap has warmed up by then), with `--expose-gc` also the heap after a forced GC at 10 %, 50 % and
 * 100 % of the results, and, as the "slow sink" of the memory scenario, caps results at `itemsPerSecond`
 * by making writers wait. With no cap it never waits and returns no promise, so the fast path costs nothing.
 */
export class PacedSink {
  readonly #itemsPerSecond: number | undefined;
  readonly #marks: readonly [number, number, number];
  readonly #gc: (() => void) | undefined;
  readonly #heapAfterGc: number[] = [];
  #startMs = 0;
  #written = 0;
  #rssWarm = 0;

  constructor(itemsPerSecond: number | undefined, count: number) {
    this.#itemsPerSecond = itemsPerSecond;
    this.#marks = [
      Math.max(1, Math.floor(count / 10)),
      Math.max(1, Math.floor(count / 2)),
      Math.max(1, count),
    ];
    // Present only under --expose-gc: the memory scenario's workers.
    this.#gc = (globalThis as { gc?: () => void }).gc;
  }

  /** RSS in bytes when 10 % of the results were in (0 if never). */
  get rssWarm(): number {
    return this.#rssWarm;
  }

  /** Heap used (bytes) after a forced GC at 10 %, 50 %, 100 % of the results; undefined without --expose-gc. */
  get heapAfterGc(): readonly [number, number, number] | undefined {
    const [a, b, c] = this.#heapAfterGc;
    return a === undefined || b === undefined || c === undefined ? undefined : [a, b, c];
  }

  pace(items: number): Promise<void> | undefined {
    // Sampled here, not by a timer: a zero-latency pipeline may not yield to the timers phase for seconds.
    const reached = this.#written + items;
    if (this.#rssWarm === 0 && reached >= this.#marks[0]) this.#rssWarm = process.memoryUsage.rss();
    if (this.#gc !== undefined) {
      while (this.#heapAfterGc.length < 3 && reached >= this.#marks[this.#heapAfterGc.length]!) {
        this.#gc();
        this.#heapAfterGc.push(process.memoryUsage().heapUsed);
      }
    }
    if (this.#itemsPerSecond === undefined) {
      this.#written = reached;
      return undefined;
    }
    const now = performance.now();
    if (this.#written === 0) this.#startMs = now;
    this.#written = reached;
    const dueMs = this.#startMs + (this.#written / this.#itemsPerSecond) * 1000;
    // Timers have ~1 ms resolution: only wait once we are a full tick ahead.
    return dueMs - now >= 1 ? sleep(dueMs - now) : undefined;
  }
}

export function openRecords(
  source: WorkloadSource,
): () => Iterable<BenchRecord> | AsyncIterable<BenchRecord> {
  if (source.kind === 'generated') return () => generateRecords(source.count, source.payloadBytes);
  return () => readNdjson(source.path);
}

async function* readNdjson(path: string): AsyncGenerator<BenchRecord> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) if (line !== '') yield JSON.parse(line) as BenchRecord;
}

export function echoOutputs(inputs: { readonly id: string }): Record<string, unknown> {
  return { echo: inputs.id };
}

/** undici Pool to the emulator: one connection per in-flight call, keep-alive, no pipelining. */
export function createUndiciCall(
  url: string,
  apiKey: string,
  connections: number,
): { call: CallFn; close(): Promise<void> } {
  const base = new URL(url);
  const path = `${base.pathname.replace(/\/$/, '')}/workflows/run`;
  const pool = new Pool(base.origin, { connections, pipelining: 1 });
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const call: CallFn = async (record) => {
    const body = JSON.stringify({ inputs: record.inputs, response_mode: 'blocking', user: 'bench' });
    const response = await pool.request({ method: 'POST', path, headers, body });
    if (response.statusCode !== 200) {
      const text = await response.body.text();
      throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 120)}`);
    }
    const json = (await response.body.json()) as { data?: { outputs?: unknown } };
    return json.data?.outputs;
  };
  return { call, close: () => pool.close() };
}
