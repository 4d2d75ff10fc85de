/**
 * The benchmark workload: record `seq` is `{ id: "i<seq>", inputs: { id, text } }`, a pure function of
 * `seq`, so every process (workers, Benthos output check) can rebuild any input without keeping it.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export interface BenchRecord {
  readonly id: string;
  readonly inputs: { readonly id: string; readonly text: string };
}

export const FILLER_TEXT =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor. '.repeat(64);

export function recordId(seq: number): string {
  return `i${seq}`;
}

/** Inverse of {@link recordId}; -1 for anything else. */
export function seqOfId(id: unknown): number {
  if (typeof id !== 'string' || id[0] !== 'i') return -1;
  const seq = Number(id.slice(1));
  return Number.isInteger(seq) && seq >= 0 ? seq : -1;
}

export function makeRecord(seq: number, payloadBytes: number): BenchRecord {
  const id = recordId(seq);
  return { id, inputs: { id, text: FILLER_TEXT.slice(0, payloadBytes) } };
}

export function* generateRecords(count: number, payloadBytes: number): Generator<BenchRecord> {
  for (let seq = 0; seq < count; seq++) yield makeRecord(seq, payloadBytes);
}

/**
 * Writes (once) the NDJSON file of `count` records and returns its path; an existing complete file is
 * reused, so the 5M-line memory input is generated only on the first run.
 */
export async function ensureNdjson(path: string, count: number, payloadBytes: number): Promise<string> {
  if (existsSync(path) && statSync(path).size > 0) return path;
  mkdirSync(dirname(path), { recursive: true });
  const partial = `${path}.partial`;
  const out = createWriteStream(partial);
  const chunk: string[] = [];
  for (let seq = 0; seq < count; seq++) {
    chunk.push(JSON.stringify(makeRecord(seq, payloadBytes)));
    if (chunk.length === 1000 || seq === count - 1) {
      if (!out.write(`${chunk.join('\n')}\n`)) await once(out, 'drain');
      chunk.length = 0;
    }
  }
  out.end();
  await once(out, 'finish');
  renameSync(partial, path);
  return path;
}
