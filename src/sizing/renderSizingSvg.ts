import type { SizingRecommendation } from './recommendSettings.js';
import { rejectionShare, type SizingStep } from './SizingStep.js';

const WIDTH = 720;
const HEIGHT = 400;
const MARGIN = { left: 70, right: 80, top: 44, bottom: 50 };

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * The `dify-batch bench` curve: throughput (left axis, blue) and p99 latency (right axis, orange) against
 * concurrency on a log2 axis; steps where more than 1 % of calls hit a limit are drawn red, and the
 * recommended concurrency is a dashed line. Hand-written SVG, no plotting dependency.
 */
export function renderSizingSvg(steps: readonly SizingStep[], recommendation: SizingRecommendation): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const levels = steps.map((step) => step.concurrency);
  const lo = Math.log2(Math.max(1, levels[0] ?? 1));
  const hi = Math.log2(Math.max(1, levels.at(-1) ?? 1));
  const x = (c: number): number =>
    MARGIN.left + (hi === lo ? plotW / 2 : ((Math.log2(c) - lo) / (hi - lo)) * plotW);
  const yMax = niceMax(Math.max(0, ...steps.map((step) => step.throughput)));
  const latencies = steps.map((step) => step.p99Ms).filter(Number.isFinite);
  const lMax = niceMax(Math.max(0, ...latencies));
  const y = (v: number): number => MARGIN.top + plotH - (v / yMax) * plotH;
  const yl = (v: number): number => MARGIN.top + plotH - (v / lMax) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="bold">dify-batch bench: throughput and p99 latency vs concurrency</text>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top + plotH}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
    `<line x1="${MARGIN.left + plotW}" y1="${MARGIN.top}" x2="${MARGIN.left + plotW}" y2="${MARGIN.top + plotH}" stroke="black"/>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const lv = (lMax * i) / 4;
    out.push(
      `<line x1="${MARGIN.left}" y1="${y(v).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#1f77b4">${+v.toPrecision(3)}</text>`,
      `<text x="${MARGIN.left + plotW + 6}" y="${(yl(lv) + 4).toFixed(1)}" fill="#ff7f0e">${+lv.toPrecision(3)}</text>`,
    );
  }
  for (const c of levels) {
    out.push(`<text x="${x(c).toFixed(1)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${c}</text>`);
  }
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">concurrency (calls in flight)</text>`,
    `<text x="16" y="${MARGIN.top + plotH / 2}" transform="rotate(-90 16 ${MARGIN.top + plotH / 2})" text-anchor="middle" fill="#1f77b4">succeeded calls/s</text>`,
    `<text x="${WIDTH - 14}" y="${MARGIN.top + plotH / 2}" transform="rotate(90 ${WIDTH - 14} ${MARGIN.top + plotH / 2})" text-anchor="middle" fill="#ff7f0e">p99 latency ms</text>`,
  );
  if (recommendation.concurrency !== undefined) {
    const rx = x(recommendation.concurrency).toFixed(1);
    out.push(
      `<line x1="${rx}" y1="${MARGIN.top}" x2="${rx}" y2="${MARGIN.top + plotH}" stroke="#2ca02c" stroke-dasharray="5,4"/>`,
      `<text x="${rx}" y="${MARGIN.top - 4}" text-anchor="middle" fill="#2ca02c">--concurrency ${recommendation.concurrency}</text>`,
    );
  }
  const throughputPoints = steps.map((s) => `${x(s.concurrency).toFixed(1)},${y(s.throughput).toFixed(1)}`);
  out.push(
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${throughputPoints.join(' ')}"/>`,
  );
  const latencyPoints = steps
    .filter((s) => Number.isFinite(s.p99Ms))
    .map((s) => `${x(s.concurrency).toFixed(1)},${yl(s.p99Ms).toFixed(1)}`);
  out.push(`<polyline fill="none" stroke="#ff7f0e" stroke-width="2" points="${latencyPoints.join(' ')}"/>`);
  for (const step of steps) {
    const limited = rejectionShare(step) > 0.01;
    out.push(
      `<circle cx="${x(step.concurrency).toFixed(1)}" cy="${y(step.throughput).toFixed(1)}" r="4" fill="${limited ? '#d62728' : '#1f77b4'}"><title>c=${step.concurrency}: ${step.throughput.toFixed(1)}/s, ${(100 * rejectionShare(step)).toFixed(1)} % refused by a limit</title></circle>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
