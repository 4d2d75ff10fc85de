import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PacedSink } from '../../bench/contenders/ContenderContext.js';
import { ensureNdjson, makeRecord, recordId, seqOfId } from '../../bench/workload.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('workload', () => {
  it('maps ids back to seq and rejects anything else', () => {
    expect(seqOfId(recordId(42))).toBe(42);
    expect(seqOfId('x42')).toBe(-1);
    expect(seqOfId(42)).toBe(-1);
    expect(makeRecord(3, 10)).toEqual({ id: 'i3', inputs: { id: 'i3', text: 'Lorem ipsu' } });
  });

  it('writes the NDJSON file once and reuses it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-'));
    dirs.push(dir);
    const path = await ensureNdjson(join(dir, 'in.ndjson'), 2500, 20);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2500);
    expect(JSON.parse(lines[2499]!)).toEqual(makeRecord(2499, 20));
    const before = statSync(path).mtimeMs;
    await ensureNdjson(path, 2500, 20);
    expect(statSync(path).mtimeMs).toBe(before);
  });
});

describe('PacedSink', () => {
  it('never waits without a cap', () => {
    const sink = new PacedSink(undefined, 10);
    for (let i = 0; i < 100; i++) expect(sink.pace(1000)).toBeUndefined();
    expect(sink.rssWarm).toBeGreaterThan(0);
  });

  it('makes writers wait once they are ahead of the cap', async () => {
    const sink = new PacedSink(1000, 1_000_000);
    expect(sink.pace(1)).toBeInstanceOf(Promise);
    await sink.pace(1);
    expect(sink.rssWarm).toBe(0);
  });
});
