import type { ResultRow } from './protocol.js';

const WIDTH = 760;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** 1, 2, 5 × 10^k ticks covering [lo, hi]. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let power = 10 ** Math.floor(Math.log10(lo)); power <= hi * 10; power *= 10) {
    for (const step of [1, 2, 5]) if (step * power >= lo && step * power <= hi) ticks.push(step * power);
  }
  return ticks;
}

/**
 * Throughput vs concurrency (the littles-law rows): one line per contender on log-log axes (the ideal
 * c ÷ L is then a straight line, and every concurrency stays readable). Hand-written SVG, no plotting dependency. Points whose output check failed are left out.
 */
export function renderThroughputSvg(rows: readonly ResultRow[], latencyMs: number): string {
  const points = rows.filter((row) => row.name === 'littles-law' && row.metric === 'req/s' && row.valid);
  const concurrencies = [...new Set(points.map((row) => row.concurrency!))].sort((a, b) => a - b);
  const contenders = [...new Set(points.map((row) => row.contender))];
  if (concurrencies.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="80"><text x="10" y="40" font-family="sans-serif">no littles-law data</text></svg>\n`;
  }
  const ideal = (c: number): number => c / (latencyMs / 1000);
  const values = [...points.map((row) => row.value), ...concurrencies.map(ideal)];
  const yLo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values))));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const lo = Math.log2(concurrencies[0]!);
  const hi = Math.log2(concurrencies.at(-1)!);
  const x = (c: number): number =>
    MARGIN.left + (hi === lo ? plotW / 2 : ((Math.log2(c) - lo) / (hi - lo)) * plotW);
  const y = (v: number): number =>
    MARGIN.top + plotH - ((Math.log10(Math.max(v, yLo)) - Math.log10(yLo)) / Math.log10(yHi / yLo)) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">Throughput vs concurrency (fixed ${latencyMs} ms latency)</text>`,
  ];
  for (const v of logTicks(yLo, yHi)) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 8}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`,
    );
  }
  for (const c of concurrencies) {
    out.push(
      `<line x1="${x(c)}" x2="${x(c)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#f0f0f0"/>`,
      `<text x="${x(c)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${c}</text>`,
    );
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">concurrency (requests in flight, log scale)</text>`,
    `<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">requests / s (log scale)</text>`,
  );
  const series = [
    {
      name: `ideal c ÷ ${latencyMs} ms`,
      color: '#999',
      dash: '6 4',
      pts: concurrencies.map((c) => [c, ideal(c)] as const),
    },
    ...contenders.map((contender, i) => ({
      name: contender,
      color: COLORS[i % COLORS.length]!,
      dash: '',
      pts: points
        .filter((row) => row.contender === contender)
        .sort((a, b) => a.concurrency! - b.concurrency!)
        .map((row) => [row.concurrency!, row.value] as const),
    })),
  ];
  series.forEach((s, i) => {
    const coords = s.pts.map(([c, v]) => `${x(c).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const dash = s.dash === '' ? '' : ` stroke-dasharray="${s.dash}"`;
    out.push(`<polyline points="${coords}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const [c, v] of s.pts)
      out.push(`<circle cx="${x(c).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"/>`);
    const ly = MARGIN.top + 10 + i * 20;
    const lx = MARGIN.left + plotW + 14;
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`,
      `<text x="${lx + 28}" y="${ly + 4}">${escapeXml(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
