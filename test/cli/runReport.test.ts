import { describe, expect, it } from 'vitest';
import { formatRunReport, type RunReport } from '../../src/cli/RunReport.js';

const base: RunReport = {
  exitCode: 0,
  reason: 'succeeded',
  input: 'kafka://127.0.0.1:9092/in?group=g',
  output: 'kafka://127.0.0.1:9092/out',
  counts: { read: 1040, written: 1040, succeeded: 1040, failed: 0, retries: 0, ambiguousRetries: 0 },
  elapsedMs: 2000,
  throughputPerSec: 520,
};

describe('formatRunReport: a kafka:// input', () => {
  it('says how many input offsets this instance committed, and what a rebalance handed over', () => {
    const text = formatRunReport({ ...base, kafka: { committed: 1000, handedOver: 40 } });
    expect(text.split('\n')).toEqual([
      'done: 1040 records in 2.0 s (520.0/s): 1040 succeeded, 0 failed, 0 retries',
      'kafka: committed the offsets of 1000 records; 40 written here were handed to another group member by a rebalance before their commit (it writes them again)',
      '',
    ]);
  });

  it('names no hand-over when there was none, and prints no kafka line for other inputs', () => {
    expect(formatRunReport({ ...base, kafka: { committed: 1040, handedOver: 0 } })).toContain(
      'kafka: committed the offsets of 1040 records\n',
    );
    expect(formatRunReport(base)).not.toContain('kafka:');
  });
});
