import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../../bench/protocol.js';
import { renderThroughputSvg } from '../../bench/renderThroughputSvg.js';

const point = (
  contender: ResultRow['contender'],
  concurrency: number,
  value: number,
  valid = true,
): ResultRow => ({
  name: 'littles-law',
  contender,
  metric: 'req/s',
  value,
  concurrency,
  valid,
});

describe('renderThroughputSvg', () => {
  it('draws one line per contender plus the ideal, leaving out failed points', () => {
    const svg = renderThroughputSvg(
      [
        point('dify-batch-ordered', 8, 150),
        point('dify-batch-ordered', 64, 1200),
        point('bare-undici', 8, 155),
        point('naive-chunks', 8, 1, false),
      ],
      50,
    );
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(3);
    expect(svg).toContain('dify-batch-ordered');
    expect(svg).not.toContain('naive-chunks');
    expect(svg).toContain('ideal c ÷ 50 ms');
  });

  it('says so when there is no data', () => {
    expect(renderThroughputSvg([], 50)).toContain('no littles-law data');
  });
});
